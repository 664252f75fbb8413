//! Where downloaded targets go, and downloading one so that it replaces the old copy only
//! once it verifies.

use crate::store::refuse_symlink;
use crate::{join_url, Error, Transport};
use hookswitch_trust::client::quote;
use hookswitch_trust::Client;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Where target `name` is stored: its own path under `dir` when every part of it is a
/// plain name (no empty part, `.`, `..` or NUL), and no part already on disk is anything
/// but a real directory; otherwise its percent-encoded name directly in `dir`. Either way
/// it stays inside `dir`.
pub fn local_path(dir: &Path, name: &str) -> Result<PathBuf, Error> {
    let parts: Vec<&str> = name.split('/').collect();
    let plain = parts.len() <= 16
        && parts.iter().all(|p| {
            !p.is_empty() && *p != "." && *p != ".." && !p.contains('\0') && p.len() <= 255
        });
    if !plain {
        // `quote` leaves dots alone: ".", ".." and "" would name a directory.
        let encoded = match quote(name) {
            q if q.is_empty() => return Err(Error::file(dir, "an empty target name")),
            q if q.bytes().all(|b| b == b'.') => q.replace('.', "%2E"),
            q => q,
        };
        let path = dir.join(encoded);
        refuse_symlink(&path)?;
        return Ok(path);
    }
    let mut path = dir.to_path_buf();
    for part in &parts[..parts.len() - 1] {
        path.push(part);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(Error::file(
                    &path,
                    format!("in the way of target {name} (not a directory)"),
                ))
            }
            Err(_) => std::fs::create_dir(&path).map_err(|e| Error::file(&path, e))?,
        }
    }
    path.push(parts[parts.len() - 1]);
    refuse_symlink(&path)?;
    Ok(path)
}

/// Where targets come from and go.
pub(crate) struct Targets<'a, T: Transport> {
    pub transport: &'a T,
    pub base: &'a str,
    pub dir: &'a Path,
}

impl<T: Transport> Targets<'_, T> {
    /// Download `name` into the target directory unless the local copy already verifies;
    /// returns where it is and whether it was downloaded now. The new file takes the old
    /// one's place only once length and every hash match.
    pub fn download(
        &self,
        client: &Client,
        name: &str,
        info: &hookswitch_trust::metadata::TargetFile,
    ) -> Result<(PathBuf, bool), Error> {
        let local = local_path(self.dir, name)?;
        if self.local_copy_verifies(client, name, info, &local) {
            return Ok((local, false));
        }
        // Leftovers of a download that was killed: nothing else writes here.
        if let Some(parent) = local.parent() {
            let _ = hookswitch_atomicfile::remove_stale_temps(parent);
        }
        let req = client.target_request(name, info);
        let url = join_url(self.base, &req.name);
        let mut verifier = Some(client.target_verifier(name, info)?);
        hookswitch_atomicfile::write_with(&local, |w| {
            let found = self
                .transport
                .get_stream(&url, req.max_len, &mut |chunk| {
                    if let Some(v) = verifier.as_mut() {
                        v.update(chunk).map_err(|e| e.to_string())?;
                    }
                    w.write_all(chunk).map_err(|e| e.to_string())
                })
                .map_err(std::io::Error::other)?;
            if !found {
                return Err(std::io::Error::other(format!(
                    "target {name}: not found at {}",
                    self.base
                )));
            }
            verifier
                .take()
                .map_or(Ok(()), |v| v.finish())
                .map_err(|e| std::io::Error::other(e.to_string()))
        })
        .map_err(|e| Error::file(&local, e))?;
        Ok((local, true))
    }

    /// Streams the local copy (regular files only) through the verifier.
    fn local_copy_verifies(
        &self,
        client: &Client,
        name: &str,
        info: &hookswitch_trust::metadata::TargetFile,
        local: &Path,
    ) -> bool {
        if !std::fs::symlink_metadata(local).is_ok_and(|m| m.is_file()) {
            return false;
        }
        let (Ok(file), Ok(mut v)) = (
            std::fs::File::open(local),
            client.target_verifier(name, info),
        ) else {
            return false;
        };
        let mut reader = file.take(info.length.saturating_add(1));
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => return v.finish().is_ok(),
                Ok(n) => {
                    if v.update(&buf[..n]).is_err() {
                        return false;
                    }
                }
                Err(_) => return false,
            }
        }
    }
}
