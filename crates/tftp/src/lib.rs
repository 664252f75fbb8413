//! Read-only TFTP for the first boot of legacy phones.
//!
//! RFC 1350 with option negotiation (RFC 2347), blksize (2348), tsize (2349) and windowsize
//! (7440); block numbers roll over to 0 past 65535. The protocol is sans-IO ([`packet`],
//! [`transfer`]); [`serve`] is the tokio driver: one task and one ephemeral socket per
//! transfer (RFC 1350's TID), at most [`Limits::max_transfers`] at once, a bounded number of
//! retransmissions. Only names a [`PublicFiles`] set answers for are served; never a write,
//! never a path that climbs out (`..`, absolute, NUL). netascii is converted (LF to CR LF).

pub mod packet;
pub mod transfer;

use std::collections::HashSet;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::net::UdpSocket;

use packet::{ErrorCode, Mode, Packet, Request};
use transfer::{Acked, Transfer};

/// The set of files TFTP may hand out. Names are as the client sent them, already checked
/// by [`check_name`]; an implementation answers only for files it means to be public.
/// `get` runs on the async runtime, between receives: keep it quick (an in-memory set, or
/// [`DirFiles`]' read of a small bootstrap file).
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
    /// Largest windowsize granted: blocks sent before an ACK is awaited.
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

/// Serve `files` on `socket` until receiving on it fails. Each transfer answers from its own
/// ephemeral socket on the listening address (RFC 1350's TID), in its own task.
pub async fn serve(
    socket: UdpSocket,
    files: Arc<dyn PublicFiles>,
    limits: Limits,
) -> io::Result<()> {
    let local = socket.local_addr()?;
    tracing::info!(listen = %local, "tftp: serving public files read-only");
    let server = Arc::new(Server {
        files,
        limits,
        active: Arc::new(AtomicUsize::new(0)),
        in_progress: Mutex::new(HashSet::new()),
    });
    // RFC 2347 lets a request exceed 512 bytes; nothing longer than a datagram can come.
    let mut buf = vec![0u8; 65536];
    loop {
        let (len, peer) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            // An ICMP error for an earlier datagram: that peer's problem, not the server's.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset
                ) =>
            {
                continue
            }
            Err(e) => return Err(e),
        };
        match packet::parse(&buf[..len]) {
            Ok(Packet::Read(request)) => server.start(local, peer, &request).await,
            Ok(Packet::Write(request)) => {
                tracing::warn!(%peer, name = ?request.name, "tftp: write request refused");
                reply_error(local, peer, ErrorCode::AccessViolation, "read-only server").await;
            }
            // ACK, DATA, ERROR on the listening port belong to no transfer: drop them.
            Ok(_) => {}
            // No answer: an error packet to a forged source would be longer than the garbage.
            Err(e) => tracing::debug!(%peer, error = %e, "tftp: malformed datagram dropped"),
        }
    }
}

struct Server {
    files: Arc<dyn PublicFiles>,
    limits: Limits,
    active: Arc<AtomicUsize>,
    /// Peers with a transfer under way: a retransmitted RRQ must not start a second one.
    in_progress: Mutex<HashSet<SocketAddr>>,
}

impl Server {
    async fn start(self: &Arc<Self>, local: SocketAddr, peer: SocketAddr, request: &Request<'_>) {
        let name = request.name;
        if let Err(bad) = check_name(name) {
            tracing::warn!(%peer, name = ?name, reason = %bad, "tftp: request refused");
            return reply_error(local, peer, ErrorCode::AccessViolation, &bad.to_string()).await;
        }
        if request.mode == Mode::Mail {
            return reply_error(
                local,
                peer,
                ErrorCode::IllegalOperation,
                "mail mode not supported",
            )
            .await;
        }
        if self.lock_in_progress().contains(&peer) {
            return; // a retransmitted request: its transfer is running
        }
        let Some(mut data) = self.files.get(name) else {
            tracing::warn!(%peer, name = ?name, "tftp: not a public file");
            return reply_error(local, peer, ErrorCode::FileNotFound, "file not found").await;
        };
        if data.len() as u64 > self.limits.max_file_len {
            tracing::warn!(%peer, name = ?name, len = data.len(), "tftp: file over the size limit");
            return reply_error(local, peer, ErrorCode::NotDefined, "file too large").await;
        }
        if request.mode == Mode::Netascii {
            data = Bytes::from(packet::to_netascii(&data));
        }
        self.lock_in_progress().insert(peer);
        let Some(slot) = Slot::take(&self.active, self.limits.max_transfers) else {
            self.lock_in_progress().remove(&peer);
            tracing::warn!(%peer, name = ?name, max = self.limits.max_transfers, "tftp: busy");
            return reply_error(
                local,
                peer,
                ErrorCode::NotDefined,
                "server busy, retry later",
            )
            .await;
        };
        let grant = transfer::negotiate(
            &request.options,
            data.len() as u64,
            self.limits.max_block_size,
            self.limits.max_window_size,
        );
        tracing::info!(%peer, name = ?name, len = data.len(), blksize = grant.block_size,
            windowsize = grant.window, "tftp: read request");
        let transfer = Transfer::new(data, &grant, self.limits.max_retries);
        let server = Arc::clone(self);
        let name = name.to_owned();
        tokio::spawn(async move {
            let result = run(local, peer, transfer, server.limits.timeout).await;
            match result {
                Ok(()) => tracing::debug!(%peer, name = ?name, "tftp: transfer complete"),
                Err(e) => tracing::warn!(%peer, name = ?name, error = %e, "tftp: transfer failed"),
            }
            server.lock_in_progress().remove(&peer);
            drop(slot);
        });
    }

    fn lock_in_progress(&self) -> std::sync::MutexGuard<'_, HashSet<SocketAddr>> {
        // The set holds plain addresses: a panic elsewhere cannot leave it inconsistent.
        self.in_progress.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One transfer on its own socket, connected to the client so the kernel drops other TIDs.
async fn run(
    local: SocketAddr,
    peer: SocketAddr,
    mut transfer: Transfer,
    timeout: Duration,
) -> io::Result<()> {
    let socket = UdpSocket::bind(SocketAddr::new(local.ip(), 0)).await?;
    socket.connect(peer).await?;
    let mut out = Vec::new();
    let mut ack = [0u8; 516];
    // One timer per transfer, moved only when it fires early: a timer armed and dropped for
    // every block costs more than the block.
    let timer = tokio::time::sleep(timeout);
    tokio::pin!(timer);
    loop {
        if let Some(oack) = transfer.option_ack() {
            socket.send(oack).await?;
        }
        for block in transfer.window() {
            transfer.write_block(block, &mut out);
            socket.send(&out).await?;
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let acked = loop {
            tokio::select! {
                biased;
                received = socket.recv(&mut ack) => match packet::parse(&ack[..received?]) {
                    Ok(Packet::Ack(block)) => match transfer.on_ack(block) {
                        Acked::Ignored => continue,
                        acked => break Some(acked),
                    },
                    Ok(Packet::Error { code, message }) => {
                        return Err(io::Error::other(format!(
                            "client aborted: error {code} {message:?}"
                        )));
                    }
                    _ => continue,
                },
                () = &mut timer => {
                    if tokio::time::Instant::now() < deadline {
                        timer.as_mut().reset(deadline);
                        continue;
                    }
                    break None;
                }
            }
        };
        match acked {
            Some(Acked::Done) => return Ok(()),
            Some(_) => {}
            None if transfer.on_timeout() => {}
            None => {
                let _ = socket
                    .send(&packet::error(ErrorCode::NotDefined, "timed out"))
                    .await;
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no ACK after the last retry",
                ));
            }
        }
    }
}

/// An error packet from a fresh ephemeral port (the would-be transfer's TID).
async fn reply_error(local: SocketAddr, peer: SocketAddr, code: ErrorCode, message: &str) {
    let sent = async {
        let socket = UdpSocket::bind(SocketAddr::new(local.ip(), 0)).await?;
        socket.send_to(&packet::error(code, message), peer).await
    };
    if let Err(e) = sent.await {
        tracing::debug!(%peer, error = %e, "tftp: error packet not sent");
    }
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
