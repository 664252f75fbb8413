//! Pure parsers and message builders for the probes. No IO; every parser of bytes from
//! the network has a fuzz target.

/// Telnet option negotiation seen in a server's first bytes: (command, option) pairs and
/// the printable banner around them.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TelnetGreeting {
    pub options: Vec<(u8, u8)>,
    pub banner: String,
}

pub fn parse_telnet(bytes: &[u8]) -> TelnetGreeting {
    const IAC: u8 = 255;
    let mut g = TelnetGreeting::default();
    let mut text = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            IAC if i + 1 < bytes.len() => match bytes[i + 1] {
                // WILL, WONT, DO, DONT carry an option byte.
                cmd @ 251..=254 if i + 2 < bytes.len() => {
                    g.options.push((cmd, bytes[i + 2]));
                    i += 3;
                }
                // Subnegotiation: skip to IAC SE.
                250 => {
                    let end = bytes[i..]
                        .windows(2)
                        .position(|w| w == [IAC, 240])
                        .map_or(bytes.len(), |p| i + p + 2);
                    i = end;
                }
                IAC => {
                    text.push(IAC);
                    i += 2;
                }
                _ => i += 2,
            },
            IAC => i += 1,
            b => {
                text.push(b);
                i += 1;
            }
        }
    }
    g.banner = printable(&text, 200);
    g
}

/// Refuse every option the server asks for (DO → WONT, WILL → DONT), so it sends its banner.
pub fn telnet_refusals(options: &[(u8, u8)]) -> Vec<u8> {
    let mut out = Vec::new();
    for &(cmd, opt) in options {
        match cmd {
            253 => out.extend_from_slice(&[255, 252, opt]),
            251 => out.extend_from_slice(&[255, 254, opt]),
            _ => {}
        }
    }
    out
}

/// Printable ASCII, whitespace folded, at most `max` characters.
pub fn printable(bytes: &[u8], max: usize) -> String {
    let s: String = bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                ' '
            }
        })
        .collect();
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(max)
        .collect()
}

/// An SSH identification line (`SSH-2.0-OpenSSH_9.2p1 …`).
#[derive(Debug, PartialEq, Eq)]
pub struct SshIdent {
    pub proto: String,
    pub software: String,
}

impl SshIdent {
    /// SSH-1 only (1.99 means "2 and 1": still offers protocol 1).
    pub fn offers_ssh1(&self) -> bool {
        self.proto.starts_with("1.")
    }
}

pub fn parse_ssh_ident(bytes: &[u8]) -> Option<SshIdent> {
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().find(|l| l.starts_with("SSH-"))?;
    let rest = line.trim_end_matches('\r').strip_prefix("SSH-")?;
    let (proto, software) = rest.split_once('-')?;
    Some(SshIdent {
        proto: proto.to_string(),
        software: printable(software.as_bytes(), 120),
    })
}

/// The algorithm name-lists of an SSH KEXINIT (binary packet after the identification).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct KexInit {
    pub kex: Vec<String>,
    pub host_key: Vec<String>,
    pub ciphers: Vec<String>,
}

pub fn parse_kexinit(packet: &[u8]) -> Option<KexInit> {
    // uint32 packet_length, byte padding_length, payload (byte 20 = KEXINIT, 16-byte cookie, name-lists…)
    let len = u32::from_be_bytes(packet.get(0..4)?.try_into().ok()?) as usize;
    let pad = *packet.get(4)? as usize;
    let payload = packet.get(5..(4 + len).checked_sub(pad)?)?;
    if payload.first() != Some(&20) {
        return None;
    }
    let mut at = 17;
    let mut lists = Vec::new();
    for _ in 0..3 {
        let n = u32::from_be_bytes(payload.get(at..at + 4)?.try_into().ok()?) as usize;
        let s = payload.get(at + 4..at.checked_add(4 + n)?)?;
        lists.push(
            String::from_utf8_lossy(s)
                .split(',')
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect(),
        );
        at += 4 + n;
    }
    let mut it = lists.into_iter();
    Some(KexInit {
        kex: it.next()?,
        host_key: it.next()?,
        ciphers: it.next()?,
    })
}

/// Status, `Server` header and `<title>` of an HTTP response.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct HttpReply {
    pub status: u16,
    pub server: Option<String>,
    pub title: Option<String>,
}

pub fn parse_http(bytes: &[u8]) -> Option<HttpReply> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.split("\r\n");
    let status_line = lines.next()?;
    let mut parts = status_line.splitn(3, ' ');
    if !parts.next()?.starts_with("HTTP/") {
        return None;
    }
    let status = parts.next()?.parse().ok()?;
    let mut server = None;
    for l in lines.by_ref() {
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.eq_ignore_ascii_case("server") {
                server = Some(printable(v.as_bytes(), 120));
            }
        }
    }
    let lower = text.to_ascii_lowercase();
    let title = lower.find("<title").and_then(|s| {
        let open = lower[s..].find('>')? + s + 1;
        let close = lower[open..].find("</title")? + open;
        Some(printable(text[open..close].as_bytes(), 120))
    });
    Some(HttpReply {
        status,
        server,
        title,
    })
}

/// A SIP response: status and the headers that fingerprint the device.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SipReply {
    pub status: u16,
    pub user_agent: Option<String>,
    pub server: Option<String>,
}

pub fn parse_sip(bytes: &[u8]) -> Option<SipReply> {
    let text = String::from_utf8_lossy(bytes);
    let mut lines = text.split("\r\n");
    let first = lines.next()?;
    let rest = first.strip_prefix("SIP/2.0 ")?;
    let status = rest.get(0..3)?.parse().ok()?;
    let mut r = SipReply {
        status,
        ..SipReply::default()
    };
    for l in lines {
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            let v = Some(printable(v.as_bytes(), 160));
            match k.trim().to_ascii_lowercase().as_str() {
                "user-agent" => r.user_agent = v,
                "server" => r.server = v,
                _ => {}
            }
        }
    }
    Some(r)
}

/// Vendor, model and firmware read from a SIP User-Agent or Server header, e.g.
/// `Yealink SIP-T54W 96.86.0.70`, `PolycomVVX-VVX_450-UA/6.3.0.14929`, `Cisco-CP8865/14.1.1`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Fingerprint {
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub firmware: Option<String>,
}

pub fn fingerprint(header: &str) -> Fingerprint {
    const VENDORS: [(&str, &str); 6] = [
        ("yealink", "Yealink"),
        ("polycom", "Poly"),
        ("poly", "Poly"),
        ("cisco", "Cisco"),
        ("grandstream", "Grandstream"),
        ("snom", "Snom"),
    ];
    let lower = header.to_ascii_lowercase();
    let vendor = VENDORS
        .iter()
        .find(|(k, _)| lower.contains(k))
        .map(|(_, v)| v.to_string());
    let tokens: Vec<&str> = header
        .split(|c: char| c.is_whitespace() || c == '/')
        .filter(|t| !t.is_empty())
        .collect();
    let is_version = |t: &str| {
        t.contains('.')
            && t.chars().next().is_some_and(|c| c.is_ascii_digit())
            && t.chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == '-' || c == '_')
    };
    let firmware = tokens
        .iter()
        .rev()
        .find(|t| is_version(t))
        .map(|t| t.to_string());
    let model = tokens
        .iter()
        .filter(|t| !is_version(t) && t.chars().any(|c| c.is_ascii_digit()))
        .map(|t| {
            t.trim_start_matches("SIP-")
                .trim_start_matches("Cisco-")
                .rsplit(['-', '_'])
                .find(|p| p.chars().any(|c| c.is_ascii_digit()))
                .unwrap_or(t)
                .to_string()
        })
        .next();
    Fingerprint {
        vendor,
        model,
        firmware,
    }
}

/// A SIP OPTIONS request.
pub fn sip_options(
    target: &str,
    port: u16,
    transport: &str,
    local: &str,
    user_agent: &str,
    tag: &str,
) -> Vec<u8> {
    format!(
        "OPTIONS sip:{target}:{port} SIP/2.0\r\nVia: SIP/2.0/{transport} {local};branch=z9hG4bK{tag};rport\r\nMax-Forwards: 70\r\nTo: <sip:{target}:{port}>\r\nFrom: <sip:probe@{local}>;tag={tag}\r\nCall-ID: {tag}@{local}\r\nCSeq: 1 OPTIONS\r\nContact: <sip:probe@{local}>\r\nAccept: application/sdp\r\nUser-Agent: {user_agent}\r\nContent-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

/// TFTP read request (octet mode).
pub fn tftp_rrq(file: &str) -> Vec<u8> {
    let mut v = vec![0, 1];
    v.extend_from_slice(file.as_bytes());
    v.push(0);
    v.extend_from_slice(b"octet\0");
    v
}

#[derive(Debug, PartialEq, Eq)]
pub enum TftpReply {
    /// DATA block `n` with its payload length.
    Data {
        block: u16,
        len: usize,
    },
    Error {
        code: u16,
        message: String,
    },
    Other,
}

pub fn parse_tftp(bytes: &[u8]) -> Option<TftpReply> {
    let op = u16::from_be_bytes(bytes.get(0..2)?.try_into().ok()?);
    Some(match op {
        3 => TftpReply::Data {
            block: u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?),
            len: bytes.len() - 4,
        },
        5 => TftpReply::Error {
            code: u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?),
            message: printable(bytes.get(4..).unwrap_or_default(), 80),
        },
        _ => TftpReply::Other,
    })
}

/// TFTP ERROR packet, to end a transfer politely after the first block.
pub fn tftp_abort() -> Vec<u8> {
    let mut v = vec![0, 5, 0, 0];
    v.extend_from_slice(b"probe done\0");
    v
}

// --- SNMPv3 engine discovery (RFC 3414 §4): a fixed, credential-free message. ---

fn ber_len(n: usize, out: &mut Vec<u8>) {
    if n < 128 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .iter()
            .copied()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
}

fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    ber_len(body.len(), &mut v);
    v.extend_from_slice(body);
    v
}

fn int(n: u32) -> Vec<u8> {
    let bytes = n.to_be_bytes();
    let mut b: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    if b.first().is_none_or(|x| x & 0x80 != 0) {
        b.insert(0, 0);
    }
    tlv(0x02, &b)
}

/// An unauthenticated GET with empty engine ID and user: an agent that speaks v3 answers
/// with a Report carrying its engine ID.
pub fn snmpv3_discovery(msg_id: u32) -> Vec<u8> {
    let header = [int(msg_id), int(65507), tlv(0x04, &[0x04]), int(3)].concat(); // flags: reportable
    let usm = tlv(
        0x30,
        &[
            tlv(0x04, &[]),
            int(0),
            int(0),
            tlv(0x04, &[]),
            tlv(0x04, &[]),
            tlv(0x04, &[]),
        ]
        .concat(),
    );
    let pdu = tlv(
        0xa0,
        &[int(msg_id), int(0), int(0), tlv(0x30, &[])].concat(),
    );
    let scoped = tlv(0x30, &[tlv(0x04, &[]), tlv(0x04, &[]), pdu].concat());
    tlv(
        0x30,
        &[int(3), tlv(0x30, &header), tlv(0x04, &usm), scoped].concat(),
    )
}

/// A BER TLV reader over untrusted bytes.
fn read_tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *b.first()?;
    let first = *b.get(1)? as usize;
    let (len, hdr) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *b.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let body = b.get(hdr..hdr.checked_add(len)?)?;
    Some((tag, body, &b[hdr + len..]))
}

/// The authoritative engine ID from an SNMPv3 reply, if it is one.
pub fn snmpv3_engine_id(reply: &[u8]) -> Option<Vec<u8>> {
    let (tag, msg, _) = read_tlv(reply)?;
    if tag != 0x30 {
        return None;
    }
    let (t, version, rest) = read_tlv(msg)?;
    if t != 0x02 || version != [3] {
        return None;
    }
    let (_, _header, rest) = read_tlv(rest)?;
    let (t, usm_octets, _) = read_tlv(rest)?;
    if t != 0x04 {
        return None;
    }
    let (t, usm, _) = read_tlv(usm_octets)?;
    if t != 0x30 {
        return None;
    }
    let (t, engine, _) = read_tlv(usm)?;
    (t == 0x04 && !engine.is_empty()).then(|| engine.to_vec())
}

// --- TLS: what versions a server accepts, without a TLS stack that refuses old ones. ---

/// A minimal TLS ClientHello offering exactly `version` (0x0301 TLS 1.0, 0x0302 TLS 1.1)
/// with widely supported RSA/ECDHE CBC suites.
pub fn legacy_client_hello(version: u16, host: Option<&str>) -> Vec<u8> {
    let [vh, vl] = version.to_be_bytes();
    let suites: [u16; 6] = [0xc013, 0xc014, 0x002f, 0x0035, 0xc009, 0xc00a];
    let mut body = vec![vh, vl];
    body.extend((0..32u8).map(|i| i.wrapping_mul(37)));
    body.push(0);
    body.extend(((suites.len() * 2) as u16).to_be_bytes());
    for s in suites {
        body.extend(s.to_be_bytes());
    }
    body.extend([1, 0]);
    let mut ext = Vec::new();
    if let Some(h) = host.filter(|h| h.parse::<std::net::IpAddr>().is_err()) {
        let name = h.as_bytes();
        let mut sni = Vec::new();
        sni.extend(((name.len() + 3) as u16).to_be_bytes());
        sni.push(0);
        sni.extend((name.len() as u16).to_be_bytes());
        sni.extend(name);
        ext.extend([0, 0]);
        ext.extend((sni.len() as u16).to_be_bytes());
        ext.extend(sni);
    }
    // supported_groups and ec_point_formats for the ECDHE suites.
    ext.extend([0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x17, 0x00, 0x18]);
    ext.extend([0x00, 0x0b, 0x00, 0x02, 0x01, 0x00]);
    body.extend((ext.len() as u16).to_be_bytes());
    body.extend(ext);
    let mut hs = vec![1];
    hs.extend(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend(body);
    let mut rec = vec![0x16, 0x03, 0x01];
    rec.extend((hs.len() as u16).to_be_bytes());
    rec.extend(hs);
    rec
}

/// The version a ServerHello agreed to, or None (alert, garbage, no hello).
pub fn server_hello_version(bytes: &[u8]) -> Option<u16> {
    if bytes.len() < 11 || bytes[0] != 0x16 || bytes[5] != 2 {
        return None;
    }
    Some(u16::from_be_bytes([bytes[9], bytes[10]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn telnet_options_and_banner() {
        let g = parse_telnet(b"\xff\xfd\x18\xff\xfd\x20\xff\xfb\x01Debian GNU/Linux 12\r\nlogin: ");
        assert_eq!(g.options, vec![(253, 24), (253, 32), (251, 1)]);
        assert_eq!(g.banner, "Debian GNU/Linux 12 login:");
        assert_eq!(
            telnet_refusals(&g.options),
            vec![255, 252, 24, 255, 252, 32, 255, 254, 1]
        );
        assert_eq!(parse_telnet(b"\xff"), TelnetGreeting::default());
    }

    #[test]
    fn ssh_ident_and_kexinit() {
        let id = parse_ssh_ident(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n").unwrap();
        assert_eq!(id.proto, "2.0");
        assert!(!id.offers_ssh1());
        assert!(parse_ssh_ident(b"SSH-1.5-old\r\n").unwrap().offers_ssh1());
        assert!(parse_ssh_ident(b"HTTP/1.1 200").is_none());
        let mut payload = vec![20u8];
        payload.extend([0u8; 16]);
        for l in [
            "curve25519-sha256,diffie-hellman-group14-sha256",
            "ssh-ed25519",
            "aes128-ctr",
        ] {
            payload.extend((l.len() as u32).to_be_bytes());
            payload.extend(l.as_bytes());
        }
        let pad = 4usize;
        let mut pkt = ((payload.len() + pad + 1) as u32).to_be_bytes().to_vec();
        pkt.push(pad as u8);
        pkt.extend(&payload);
        pkt.extend([0u8; 4]);
        let k = parse_kexinit(&pkt).unwrap();
        assert_eq!(
            k.kex,
            vec!["curve25519-sha256", "diffie-hellman-group14-sha256"]
        );
        assert_eq!(k.host_key, vec!["ssh-ed25519"]);
        assert!(parse_kexinit(&pkt[..10]).is_none());
    }

    #[test]
    fn http_and_sip_replies() {
        let r = parse_http(
            b"HTTP/1.1 200 OK\r\nServer: lighttpd/1.4.69\r\n\r\n<html><TITLE>Phone Web UI</TITLE>",
        )
        .unwrap();
        assert_eq!(
            (r.status, r.server.as_deref(), r.title.as_deref()),
            (200, Some("lighttpd/1.4.69"), Some("Phone Web UI"))
        );
        let s =
            parse_sip(b"SIP/2.0 404 Not Found\r\nUser-Agent: Yealink SIP-T54W 96.86.0.70\r\n\r\n")
                .unwrap();
        assert_eq!(
            (s.status, s.user_agent.as_deref()),
            (404, Some("Yealink SIP-T54W 96.86.0.70"))
        );
        assert!(parse_sip(b"HTTP/1.1 200 OK\r\n").is_none());
    }

    #[test]
    fn sip_fingerprints() {
        let f = fingerprint("Yealink SIP-T54W 96.86.0.70");
        assert_eq!(
            (
                f.vendor.as_deref(),
                f.model.as_deref(),
                f.firmware.as_deref()
            ),
            (Some("Yealink"), Some("T54W"), Some("96.86.0.70"))
        );
        let f = fingerprint("Cisco-CP8865/14.1.1");
        assert_eq!(
            (
                f.vendor.as_deref(),
                f.model.as_deref(),
                f.firmware.as_deref()
            ),
            (Some("Cisco"), Some("CP8865"), Some("14.1.1"))
        );
        let f = fingerprint("PolycomVVX-VVX_450-UA/6.3.0.14929");
        assert_eq!(
            (f.vendor.as_deref(), f.firmware.as_deref()),
            (Some("Poly"), Some("6.3.0.14929"))
        );
        assert_eq!(fingerprint("sipp"), Fingerprint::default());
    }

    #[test]
    fn tftp_packets() {
        assert_eq!(
            tftp_rrq("SEPDefault.cnf"),
            b"\x00\x01SEPDefault.cnf\x00octet\x00"
        );
        assert_eq!(
            parse_tftp(b"\x00\x03\x00\x01hello"),
            Some(TftpReply::Data { block: 1, len: 5 })
        );
        assert_eq!(
            parse_tftp(b"\x00\x05\x00\x01File not found\x00"),
            Some(TftpReply::Error {
                code: 1,
                message: "File not found".into()
            })
        );
        assert_eq!(parse_tftp(b"\x00"), None);
    }

    #[test]
    fn snmpv3_discovery_round_trip_through_the_tlv_reader() {
        let m = snmpv3_discovery(0x1234);
        assert_eq!(m[0], 0x30);
        // A v3 message carries no engine ID in the request.
        assert_eq!(snmpv3_engine_id(&m), None);
        // A Report with an engine ID.
        let usm = tlv(
            0x30,
            &[
                tlv(0x04, &[0x80, 0, 0x1f, 0x88, 4]),
                int(1),
                int(2),
                tlv(0x04, &[]),
                tlv(0x04, &[]),
                tlv(0x04, &[]),
            ]
            .concat(),
        );
        let reply = tlv(
            0x30,
            &[
                int(3),
                tlv(
                    0x30,
                    &[int(1), int(65507), tlv(0x04, &[0]), int(3)].concat(),
                ),
                tlv(0x04, &usm),
                tlv(0x30, &[]),
            ]
            .concat(),
        );
        assert_eq!(snmpv3_engine_id(&reply), Some(vec![0x80, 0, 0x1f, 0x88, 4]));
        assert_eq!(snmpv3_engine_id(b"\x30\x84\xff\xff\xff\xff"), None);
    }

    #[test]
    fn tls_hellos() {
        let h = legacy_client_hello(0x0301, Some("phone.example"));
        assert_eq!(&h[..3], &[0x16, 3, 1]);
        assert_eq!(u16::from_be_bytes([h[3], h[4]]) as usize, h.len() - 5);
        assert_eq!(
            server_hello_version(&[0x16, 3, 1, 0, 50, 2, 0, 0, 46, 3, 1]),
            Some(0x0301)
        );
        assert_eq!(server_hello_version(&[0x15, 3, 1, 0, 2, 2, 70]), None);
    }
}
