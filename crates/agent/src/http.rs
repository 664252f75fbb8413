//! The blocking HTTP driver: GET with a hard length limit.

use std::io::Read;

/// GET `url`, reading at most `max_len + 1` bytes (so an over-long body is seen and
/// refused by the verifier). Ok(None) for 403/404: "the repository has no such file".
pub fn get(url: &str, max_len: u64) -> Result<Option<Vec<u8>>, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into();
    let resp = agent.get(url).call().map_err(|e| format!("{url}: {e}"))?;
    let status = resp.status().as_u16();
    if status == 404 || status == 403 {
        return Ok(None);
    }
    if status != 200 {
        return Err(format!("{url}: HTTP {status}"));
    }
    let mut body = Vec::new();
    resp.into_body()
        .into_reader()
        .take(max_len.saturating_add(1))
        .read_to_end(&mut body)
        .map_err(|e| format!("{url}: {e}"))?;
    Ok(Some(body))
}

/// GET `url` and stream the body into `sink`, at most `max_len + 1` bytes. Ok(false) for 403/404.
pub fn stream(
    url: &str,
    max_len: u64,
    sink: &mut dyn FnMut(&[u8]) -> Result<(), String>,
) -> Result<bool, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(3600)))
        .build()
        .into();
    let resp = agent.get(url).call().map_err(|e| format!("{url}: {e}"))?;
    let status = resp.status().as_u16();
    if status == 404 || status == 403 {
        return Ok(false);
    }
    if status != 200 {
        return Err(format!("{url}: HTTP {status}"));
    }
    let mut reader = resp
        .into_body()
        .into_reader()
        .take(max_len.saturating_add(1));
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = reader.read(&mut buf).map_err(|e| format!("{url}: {e}"))?;
        if n == 0 {
            return Ok(true);
        }
        sink(&buf[..n])?;
    }
}
