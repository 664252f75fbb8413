//! Thin drivers over the sans-IO client: they loop "what to fetch? here are the bytes"
//! with a caller-supplied fetcher, so transports (HTTP, TFTP, a serial line, a test map)
//! stay outside. The blocking and async forms share the state machines.

use crate::client::{Error, LookupStep, Request};
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

/// Refresh transactionally: on any error the client is exactly as before.
pub fn refresh(client: &mut Client, fetch: &mut dyn Fetch) -> Result<(), Error> {
    let saved = client.clone();
    let result = (|| {
        let mut r = client.refresh();
        while let Some(req) = r.next(client)? {
            let got = fetch.fetch(&req).map_err(Error::Missing)?;
            r.deliver(client, got.as_deref())?;
        }
        Ok(())
    })();
    if result.is_err() {
        *client = saved;
    }
    result
}

/// Find a target through the delegations, fetching delegated metadata as needed.
/// `on_role` sees each delegated role as it becomes trusted (to persist it).
pub fn find_target(
    client: &mut Client,
    path: &str,
    fetch: &mut dyn Fetch,
    on_role: &mut dyn FnMut(&str, &Client),
) -> Result<Option<TargetFile>, Error> {
    let mut lookup = client.lookup(path);
    loop {
        match lookup.next(client)? {
            LookupStep::Fetch { role, request } => {
                let got = fetch.fetch(&request).map_err(Error::Missing)?;
                lookup.deliver(client, got.as_deref())?;
                on_role(&role, client);
            }
            LookupStep::Found(t) => return Ok(Some(t)),
            LookupStep::NotFound => return Ok(None),
        }
    }
}

/// [`refresh`] with an async fetcher.
pub async fn refresh_async(client: &mut Client, fetch: &mut impl AsyncFetch) -> Result<(), Error> {
    let saved = client.clone();
    let mut r = client.refresh();
    let result = async {
        while let Some(req) = r.next(client)? {
            let got = fetch.fetch(&req).await.map_err(Error::Missing)?;
            r.deliver(client, got.as_deref())?;
        }
        Ok(())
    }
    .await;
    if result.is_err() {
        *client = saved;
    }
    result
}

/// [`find_target`] with an async fetcher.
pub async fn find_target_async(
    client: &mut Client,
    path: &str,
    fetch: &mut impl AsyncFetch,
) -> Result<Option<TargetFile>, Error> {
    let mut lookup = client.lookup(path);
    loop {
        match lookup.next(client)? {
            LookupStep::Fetch { request, .. } => {
                let got = fetch.fetch(&request).await.map_err(Error::Missing)?;
                lookup.deliver(client, got.as_deref())?;
            }
            LookupStep::Found(t) => return Ok(Some(t)),
            LookupStep::NotFound => return Ok(None),
        }
    }
}
