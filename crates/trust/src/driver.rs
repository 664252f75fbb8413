//! Thin drivers over the sans-IO client: they loop "what to fetch? here are the bytes"
//! with a caller-supplied fetcher, and hand each file that verifies to a caller-supplied
//! store at once, so transports (HTTP, TFTP, a serial line, a test map) and storage stay
//! outside. The blocking and async forms share the state machines.

use crate::client::{Error, LookupStep, Persist, Request};
use crate::metadata::TargetFile;
use crate::Client;
use std::future::Future;

/// Fetch a file of at most `max_len` bytes (more may be returned and will be refused).
/// `Ok(None)`: the server has no such file.
pub trait Fetch {
    fn fetch(&mut self, req: &Request) -> Result<Option<Vec<u8>>, String>;
}

impl<F: FnMut(&Request) -> Result<Option<Vec<u8>>, String>> Fetch for F {
    fn fetch(&mut self, req: &Request) -> Result<Option<Vec<u8>>, String> {
        self(req)
    }
}

/// The async counterpart of [`Fetch`].
pub trait AsyncFetch {
    fn fetch(&mut self, req: &Request) -> impl Future<Output = Result<Option<Vec<u8>>, String>>;
}

/// Where verified files go the moment they verify (the agent writes them atomically).
pub type Store<'a> = dyn FnMut(&Persist) -> Result<(), String> + 'a;

/// Store nothing (tests, or a client that keeps its state in memory only).
pub fn discard(_: &Persist) -> Result<(), String> {
    Ok(())
}

fn store(persist: Option<Persist>, save: &mut Store) -> Result<(), Error> {
    match persist {
        Some(p) => save(&p).map_err(|e| Error::Protocol(format!("storing {}: {e}", p.role))),
        None => Ok(()),
    }
}

/// Run the refresh workflow, keeping the result in memory only.
pub fn refresh(client: &mut Client, fetch: &mut dyn Fetch) -> Result<(), Error> {
    refresh_storing(client, fetch, &mut discard)
}

/// Run the refresh workflow. Each file is stored as soon as it verifies, so a failure
/// later keeps every verified file (a root rotation, say) and no unverified one.
pub fn refresh_storing(
    client: &mut Client,
    fetch: &mut dyn Fetch,
    save: &mut Store,
) -> Result<(), Error> {
    let mut r = client.refresh();
    while let Some(req) = r.next(client)? {
        let got = fetch.fetch(&req).map_err(Error::Missing)?;
        store(r.deliver(client, got.as_deref())?, save)?;
    }
    Ok(())
}

/// Find a target through the delegations, fetching (and storing) delegated metadata as
/// needed.
pub fn find_target(
    client: &mut Client,
    path: &str,
    fetch: &mut dyn Fetch,
    save: &mut Store,
) -> Result<Option<TargetFile>, Error> {
    let mut lookup = client.lookup(path);
    loop {
        match lookup.next(client)? {
            LookupStep::Fetch { request, .. } => {
                let got = fetch.fetch(&request).map_err(Error::Missing)?;
                store(Some(lookup.deliver(client, got.as_deref())?), save)?;
            }
            LookupStep::Found(t) => return Ok(Some(t)),
            LookupStep::NotFound => return Ok(None),
        }
    }
}

/// [`refresh`] with an async fetcher.
pub async fn refresh_async(
    client: &mut Client,
    fetch: &mut impl AsyncFetch,
    save: &mut Store<'_>,
) -> Result<(), Error> {
    let mut r = client.refresh();
    while let Some(req) = r.next(client)? {
        let got = fetch.fetch(&req).await.map_err(Error::Missing)?;
        store(r.deliver(client, got.as_deref())?, save)?;
    }
    Ok(())
}

/// [`find_target`] with an async fetcher.
pub async fn find_target_async(
    client: &mut Client,
    path: &str,
    fetch: &mut impl AsyncFetch,
    save: &mut Store<'_>,
) -> Result<Option<TargetFile>, Error> {
    let mut lookup = client.lookup(path);
    loop {
        match lookup.next(client)? {
            LookupStep::Fetch { request, .. } => {
                let got = fetch.fetch(&request).await.map_err(Error::Missing)?;
                store(Some(lookup.deliver(client, got.as_deref())?), save)?;
            }
            LookupStep::Found(t) => return Ok(Some(t)),
            LookupStep::NotFound => return Ok(None),
        }
    }
}
