//! TFTP packets as the server meets them (RFC 1350, options RFC 2347): parse what a client
//! sends, build what the server sends. Pure: no IO.

/// RFC 1350 error codes the server sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    NotDefined = 0,
    FileNotFound = 1,
    AccessViolation = 2,
    IllegalOperation = 4,
}

/// Transfer mode of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Octet,
    Netascii,
    Mail,
}

/// Options a client asked for (RFC 2347); values out of their RFC's range are dropped, as if
/// not asked for, unknown options likewise.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// RFC 2348: 8..=65464.
    pub blksize: Option<u16>,
    /// RFC 2349: a read request sends 0 and gets the length back.
    pub tsize: Option<u64>,
    /// RFC 7440: 1..=65535.
    pub windowsize: Option<u16>,
}

/// A read or write request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// The file name as sent; not UTF-8 is a parse error (no name we serve is).
    pub name: &'a str,
    pub mode: Mode,
    pub options: Options,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Packet<'a> {
    Read(Request<'a>),
    Write(Request<'a>),
    Data { block: u16, data: &'a [u8] },
    Ack(u16),
    Error { code: u16, message: &'a str },
    OptionAck,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    TooShort,
    UnknownOpcode(u16),
    /// A field without its terminating NUL.
    Unterminated,
    NotUtf8,
    UnknownMode,
    TrailingBytes,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParseError::TooShort => f.write_str("packet too short"),
            ParseError::UnknownOpcode(op) => write!(f, "unknown opcode {op}"),
            ParseError::Unterminated => f.write_str("field not NUL-terminated"),
            ParseError::NotUtf8 => f.write_str("field not UTF-8"),
            ParseError::UnknownMode => f.write_str("unknown transfer mode"),
            ParseError::TrailingBytes => f.write_str("bytes after the packet"),
        }
    }
}

const RRQ: u16 = 1;
const WRQ: u16 = 2;
const DATA: u16 = 3;
const ACK: u16 = 4;
const ERROR: u16 = 5;
const OACK: u16 = 6;

/// Largest blksize RFC 2348 allows (an IP datagram of 65535 minus headers).
pub const MAX_BLKSIZE: u16 = 65464;
pub const DEFAULT_BLKSIZE: u16 = 512;

pub fn parse(bytes: &[u8]) -> Result<Packet<'_>, ParseError> {
    let (opcode, rest) = split_u16(bytes)?;
    match opcode {
        RRQ => parse_request(rest).map(Packet::Read),
        WRQ => parse_request(rest).map(Packet::Write),
        DATA => {
            let (block, data) = split_u16(rest)?;
            Ok(Packet::Data { block, data })
        }
        ACK => match split_u16(rest)? {
            (block, []) => Ok(Packet::Ack(block)),
            _ => Err(ParseError::TrailingBytes),
        },
        ERROR => {
            let (code, rest) = split_u16(rest)?;
            let (message, rest) = split_str(rest)?;
            // Some clients pad error packets; what follows the message is not ours to judge.
            let _ = rest;
            Ok(Packet::Error { code, message })
        }
        OACK => Ok(Packet::OptionAck),
        other => Err(ParseError::UnknownOpcode(other)),
    }
}

fn split_u16(bytes: &[u8]) -> Result<(u16, &[u8]), ParseError> {
    match bytes {
        [hi, lo, rest @ ..] => Ok((u16::from_be_bytes([*hi, *lo]), rest)),
        _ => Err(ParseError::TooShort),
    }
}

fn split_str(bytes: &[u8]) -> Result<(&str, &[u8]), ParseError> {
    let end = bytes
        .iter()
        .position(|&b| b == 0)
        .ok_or(ParseError::Unterminated)?;
    let field = std::str::from_utf8(&bytes[..end]).map_err(|_| ParseError::NotUtf8)?;
    Ok((field, &bytes[end + 1..]))
}

fn parse_request(bytes: &[u8]) -> Result<Request<'_>, ParseError> {
    let (name, rest) = split_str(bytes)?;
    let (mode, mut rest) = split_str(rest)?;
    let mode = if mode.eq_ignore_ascii_case("octet") {
        Mode::Octet
    } else if mode.eq_ignore_ascii_case("netascii") {
        Mode::Netascii
    } else if mode.eq_ignore_ascii_case("mail") {
        Mode::Mail
    } else {
        return Err(ParseError::UnknownMode);
    };
    let mut options = Options::default();
    while !rest.is_empty() {
        let (option, after) = split_str(rest)?;
        let (value, after) = split_str(after)?;
        rest = after;
        if option.eq_ignore_ascii_case("blksize") {
            options.blksize = value
                .parse::<u16>()
                .ok()
                .filter(|v| (8..=MAX_BLKSIZE).contains(v));
        } else if option.eq_ignore_ascii_case("tsize") {
            options.tsize = value.parse::<u64>().ok();
        } else if option.eq_ignore_ascii_case("windowsize") {
            options.windowsize = value.parse::<u16>().ok().filter(|&v| v >= 1);
        }
    }
    Ok(Request {
        name,
        mode,
        options,
    })
}

/// DATA: opcode, block number, then the payload, into `out` (cleared first).
pub fn write_data(out: &mut Vec<u8>, block: u16, payload: &[u8]) {
    out.clear();
    out.extend_from_slice(&DATA.to_be_bytes());
    out.extend_from_slice(&block.to_be_bytes());
    out.extend_from_slice(payload);
}

/// OACK listing the granted options (RFC 2347).
pub fn option_ack(granted: &Options) -> Vec<u8> {
    let mut out = OACK.to_be_bytes().to_vec();
    let mut option = |name: &str, value: String| {
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.extend_from_slice(value.as_bytes());
        out.push(0);
    };
    if let Some(v) = granted.blksize {
        option("blksize", v.to_string());
    }
    if let Some(v) = granted.tsize {
        option("tsize", v.to_string());
    }
    if let Some(v) = granted.windowsize {
        option("windowsize", v.to_string());
    }
    out
}

pub fn error(code: ErrorCode, message: &str) -> Vec<u8> {
    let mut out = ERROR.to_be_bytes().to_vec();
    out.extend_from_slice(&(code as u16).to_be_bytes());
    // A NUL inside would end the message early on the client: drop any.
    out.extend(message.bytes().filter(|&b| b != 0));
    out.push(0);
    out
}

/// netascii (RFC 764 as RFC 1350 uses it): LF becomes CR LF, a bare CR becomes CR NUL.
pub fn to_netascii(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + bytes.len() / 16);
    for &b in bytes {
        match b {
            b'\n' => out.extend_from_slice(b"\r\n"),
            b'\r' => out.extend_from_slice(b"\r\0"),
            _ => out.push(b),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_read_request_with_options_in_any_case() {
        let p =
            parse(b"\0\x01boot/a.cfg\0OCTET\0BLKSIZE\x001428\0tsize\x000\0windowsize\x008\0x\0y\0")
                .unwrap();
        assert_eq!(
            p,
            Packet::Read(Request {
                name: "boot/a.cfg",
                mode: Mode::Octet,
                options: Options {
                    blksize: Some(1428),
                    tsize: Some(0),
                    windowsize: Some(8)
                }
            })
        );
    }

    #[test]
    fn option_values_out_of_range_are_dropped() {
        for (raw, want) in [
            (&b"blksize\x007\0"[..], Options::default()),
            (b"blksize\x0065465\0", Options::default()),
            (b"blksize\0-1\0", Options::default()),
            (b"windowsize\x000\0", Options::default()),
            (b"tsize\0x\0", Options::default()),
        ] {
            let mut packet = b"\0\x01f\0octet\0".to_vec();
            packet.extend_from_slice(raw);
            let Ok(Packet::Read(r)) = parse(&packet) else {
                panic!("{raw:?}")
            };
            assert_eq!(r.options, want, "{raw:?}");
        }
    }

    #[test]
    fn malformed_packets_are_errors_not_panics() {
        assert_eq!(parse(b""), Err(ParseError::TooShort));
        assert_eq!(parse(b"\0"), Err(ParseError::TooShort));
        assert_eq!(parse(b"\0\x09"), Err(ParseError::UnknownOpcode(9)));
        assert_eq!(parse(b"\0\x01name"), Err(ParseError::Unterminated));
        assert_eq!(parse(b"\0\x01name\0octet"), Err(ParseError::Unterminated));
        assert_eq!(parse(b"\0\x01name\0binary\0"), Err(ParseError::UnknownMode));
        assert_eq!(parse(b"\0\x01\xff\0octet\0"), Err(ParseError::NotUtf8));
        assert_eq!(
            parse(b"\0\x01f\0octet\0blksize\0"),
            Err(ParseError::Unterminated)
        );
        assert_eq!(parse(b"\0\x04\0"), Err(ParseError::TooShort));
        assert_eq!(parse(b"\0\x04\0\x01\0"), Err(ParseError::TrailingBytes));
        assert_eq!(parse(b"\0\x04\xff\xff"), Ok(Packet::Ack(65535)));
    }

    #[test]
    fn builds_what_the_server_sends() {
        let mut out = Vec::new();
        write_data(&mut out, 258, b"xy");
        assert_eq!(out, b"\0\x03\x01\x02xy");
        let granted = Options {
            blksize: Some(1428),
            tsize: Some(1048576),
            windowsize: Some(4),
        };
        assert_eq!(
            option_ack(&granted),
            b"\0\x06blksize\x001428\0tsize\x001048576\0windowsize\x004\0"
        );
        assert_eq!(
            error(ErrorCode::AccessViolation, "no\0pe"),
            b"\0\x05\0\x02nope\0"
        );
    }

    #[test]
    fn netascii_turns_newlines_into_crlf() {
        assert_eq!(to_netascii(b"a\nb\rc\r\n"), b"a\r\nb\r\0c\r\0\r\n");
    }
}
