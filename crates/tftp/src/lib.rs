//! Read-only TFTP for the first boot of legacy phones.
//!
//! The protocol (RFC 1350, option negotiation RFC 2347, blksize 2348, tsize 2349, windowsize
//! 7440, retransmission, one ephemeral socket per transfer, block-number rollover to 0) is
//! `async-tftp`'s; this crate decides what may be served: only names a [`PublicFiles`] set
//! answers for, never a write, never a path that climbs out (`..`, absolute, NUL), and no more
//! than [`Limits::max_transfers`] transfers at once. netascii requests are served byte for byte
//! as octet (async-tftp does not convert, and does not tell the handler the mode).

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_tftp::packet::Error as TftpError;
use async_tftp::server::{Handler, TftpServerBuilder};
use bytes::Bytes;

/// The set of files TFTP may hand out. Names are as the client sent them, already checked
/// by [`check_name`]; an implementation answers only for files it means to be public.
pub trait PublicFiles: Send + Sync {
    fn get(&self, name: &str) -> Option<Bytes>;
}

/// Bounds on what one server will do at once.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Transfers in progress at once; a request past it gets an error packet.
    pub max_transfers: usize,
    /// Largest blksize granted (RFC 2348 allows up to 65464).
    pub max_block_size: u16,
    /// Largest windowsize granted; a transfer buffers up to block × window bytes.
    pub max_window_size: u16,
    /// Wait for an ACK before resending the window. The client's `timeout` option is not
    /// granted, so a vanished client holds its slot at most `timeout × (max_retries + 1)`.
    pub timeout: Duration,
    /// Resends of one window before the transfer is given up.
    pub max_retries: u32,
    /// Largest file served (also what `serve_dir` reads into memory per transfer).
    pub max_file_len: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_transfers: 128,
            max_block_size: 8192,
            max_window_size: 16,
            timeout: Duration::from_secs(2),
            max_retries: 5,
            max_file_len: 64 * 1024 * 1024,
        }
    }
}

/// Why a requested name is never looked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadName {
    Empty,
    Absolute,
    Nul,
    ParentDir,
}

impl std::fmt::Display for BadName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BadName::Empty => "empty file name",
            BadName::Absolute => "absolute path",
            BadName::Nul => "NUL byte in file name",
            BadName::ParentDir => "`..` in file name",
        })
    }
}

/// A name a client may ask for: relative, no `..` component (either slash), no NUL.
pub fn check_name(name: &str) -> Result<&str, BadName> {
    if name.is_empty() {
        return Err(BadName::Empty);
    }
    if name.contains('\0') {
        return Err(BadName::Nul);
    }
    if name.starts_with('/') || name.starts_with('\\') {
        return Err(BadName::Absolute);
    }
    if name.split(['/', '\\']).any(|part| part == "..") {
        return Err(BadName::ParentDir);
    }
    Ok(name)
}

/// Serve `files` on `socket` until the socket fails. Each transfer answers from its own
/// ephemeral socket on the listening address (RFC 1350's TID).
pub async fn serve(
    socket: tokio::net::UdpSocket,
    files: Arc<dyn PublicFiles>,
    limits: Limits,
) -> io::Result<()> {
    // async-tftp runs on async-io's reactor, not tokio's: hand it the plain socket.
    let socket = socket.into_std()?;
    tracing::info!(listen = %socket.local_addr()?, "tftp: serving public files read-only");
    let handler = ReadOnly {
        files,
        active: Arc::new(AtomicUsize::new(0)),
        limits: limits.clone(),
    };
    let server = TftpServerBuilder::with_handler(handler)
        .std_socket(socket)
        .map_err(into_io)?
        .timeout(limits.timeout)
        .max_send_retries(limits.max_retries)
        .block_size_limit(limits.max_block_size)
        .window_size_limit(limits.max_window_size)
        .ignore_client_timeout()
        .build()
        .await
        .map_err(into_io)?;
    server.serve().await.map_err(into_io)
}

/// Serve the regular files under `root` (see [`DirFiles`]).
pub async fn serve_dir(
    socket: tokio::net::UdpSocket,
    root: &Path,
    limits: Limits,
) -> io::Result<()> {
    let files = DirFiles::new(root, limits.max_file_len)?;
    serve(socket, Arc::new(files), limits).await
}

/// A plain directory of public files. A name resolves (symlinks within the root followed) to a
/// regular file inside the root, or to nothing: a symlink leading out of the root, a
/// directory, a FIFO or a device is never read. Read afresh on each request, so a file
/// replaced atomically is served new from the next request on.
pub struct DirFiles {
    root: PathBuf,
    max_file_len: u64,
}

impl DirFiles {
    pub fn new(root: &Path, max_file_len: u64) -> io::Result<DirFiles> {
        let root = root
            .canonicalize()
            .map_err(|e| io::Error::new(e.kind(), format!("tftp root {}: {e}", root.display())))?;
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("tftp root {} is not a directory", root.display()),
            ));
        }
        Ok(DirFiles { root, max_file_len })
    }

    fn resolve(&self, name: &str) -> Result<Bytes, String> {
        let name = check_name(name).map_err(|e| e.to_string())?;
        let path = self
            .root
            .join(name)
            .canonicalize()
            .map_err(|e| e.to_string())?;
        if !path.starts_with(&self.root) {
            return Err("resolves outside the tftp root".into());
        }
        hookswitch_atomicfile::read_regular(&path, self.max_file_len)
            .map(Bytes::from)
            .map_err(|e| e.to_string())
    }
}

impl PublicFiles for DirFiles {
    fn get(&self, name: &str) -> Option<Bytes> {
        match self.resolve(name) {
            Ok(bytes) => Some(bytes),
            Err(reason) => {
                tracing::warn!(name = ?name, %reason, "tftp: not served from the directory");
                None
            }
        }
    }
}

fn into_io(e: async_tftp::Error) -> io::Error {
    match e {
        async_tftp::Error::Io(e) | async_tftp::Error::Bind(e) => e,
        other => io::Error::other(other.to_string()),
    }
}

struct ReadOnly {
    files: Arc<dyn PublicFiles>,
    active: Arc<AtomicUsize>,
    limits: Limits,
}

impl ReadOnly {
    fn open(&self, peer: &SocketAddr, path: &Path) -> Result<(Transfer, Option<u64>), TftpError> {
        // async-tftp built the path from the request's UTF-8 string.
        let name = path.to_str().unwrap_or_default();
        if let Err(bad) = check_name(name) {
            tracing::warn!(%peer, name = ?name, reason = %bad, "tftp: request refused");
            return Err(TftpError::PermissionDenied);
        }
        let Some(data) = self.files.get(name) else {
            tracing::warn!(%peer, name = ?name, "tftp: not a public file");
            return Err(TftpError::FileNotFound);
        };
        if data.len() as u64 > self.limits.max_file_len {
            tracing::warn!(%peer, name = ?name, len = data.len(), "tftp: file over the size limit");
            return Err(TftpError::Msg("file too large".into()));
        }
        let Some(slot) = Slot::take(&self.active, self.limits.max_transfers) else {
            tracing::warn!(%peer, name = ?name, max = self.limits.max_transfers, "tftp: busy");
            return Err(TftpError::Msg("server busy, retry later".into()));
        };
        tracing::info!(%peer, name = ?name, len = data.len(), "tftp: read request");
        let len = data.len() as u64;
        Ok((
            Transfer {
                data,
                sent: 0,
                _slot: slot,
            },
            Some(len),
        ))
    }
}

impl Handler for ReadOnly {
    type Reader = Transfer;
    type Writer = futures_lite::io::Sink;

    async fn read_req_open(
        &mut self,
        client: &SocketAddr,
        path: &Path,
    ) -> Result<(Transfer, Option<u64>), TftpError> {
        self.open(client, path)
    }

    async fn write_req_open(
        &mut self,
        client: &SocketAddr,
        path: &Path,
        _size: Option<u64>,
    ) -> Result<Self::Writer, TftpError> {
        tracing::warn!(peer = %client, name = ?path, "tftp: write request refused");
        Err(TftpError::PermissionDenied)
    }
}

/// One of `max_transfers` places, given back when the transfer (its reader) is dropped.
struct Slot(Arc<AtomicUsize>);

impl Slot {
    fn take(active: &Arc<AtomicUsize>, max: usize) -> Option<Slot> {
        active
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot(Arc::clone(active)))
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The bytes of one transfer, read by async-tftp block by block.
struct Transfer {
    data: Bytes,
    sent: usize,
    _slot: Slot,
}

impl futures_lite::AsyncRead for Transfer {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let rest = &this.data[this.sent..];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        this.sent += n;
        Poll::Ready(Ok(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_climb_out_are_refused() {
        assert_eq!(
            check_name("boot/y000000000000.cfg"),
            Ok("boot/y000000000000.cfg")
        );
        assert_eq!(check_name("root.json"), Ok("root.json"));
        assert_eq!(check_name("..."), Ok("..."));
        assert_eq!(check_name(""), Err(BadName::Empty));
        assert_eq!(check_name("/etc/passwd"), Err(BadName::Absolute));
        assert_eq!(check_name("\\windows"), Err(BadName::Absolute));
        assert_eq!(check_name(".."), Err(BadName::ParentDir));
        assert_eq!(check_name("a/../../b"), Err(BadName::ParentDir));
        assert_eq!(check_name("a\\..\\b"), Err(BadName::ParentDir));
        assert_eq!(check_name("a\0b"), Err(BadName::Nul));
    }

    #[test]
    fn slots_are_bounded_and_given_back() {
        let active = Arc::new(AtomicUsize::new(0));
        let first = Slot::take(&active, 2).expect("first");
        let second = Slot::take(&active, 2).expect("second");
        assert!(Slot::take(&active, 2).is_none());
        drop(first);
        let third = Slot::take(&active, 2).expect("a freed slot is reused");
        drop((second, third));
        assert_eq!(active.load(Ordering::Acquire), 0);
    }
}
