//! TLS: rustls on aws-lc-rs, TLS 1.3 and 1.2 only (1.3 preferred), session tickets, ALPN h2
//! and http/1.1; client certificates optional, checked against each `--client-ca`, and the
//! device ID taken from a CA-issued certificate by that CA's rule.

use regex::Regex;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where a CA-issued certificate carries the device ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdField {
    /// The subject's common name (the default: our enrollment CA, Yealink, Poly).
    Cn,
    /// A DNS name in the subject alternative names.
    SanDns,
    /// A URI in the subject alternative names.
    SanUri,
}

/// One `--client-ca PEM[,id=cn|san-dns|san-uri][,pattern=REGEX]`.
#[derive(Debug, Clone)]
pub struct ClientCa {
    pub pem: PathBuf,
    pub id: IdField,
    /// Must match the whole field; its first capture group (or the whole match) is the ID.
    pub pattern: Option<Regex>,
}

impl std::str::FromStr for ClientCa {
    type Err = String;

    /// `pattern=` comes last and takes the rest of the argument, commas included.
    fn from_str(spec: &str) -> Result<Self, String> {
        let (head, pattern) = match spec.split_once(",pattern=") {
            Some((h, p)) => (h, Some(p)),
            None => (spec, None),
        };
        let mut parts = head.split(',');
        let pem = PathBuf::from(parts.next().unwrap_or_default());
        if pem.as_os_str().is_empty() {
            return Err(format!("--client-ca {spec:?}: no PEM file"));
        }
        let mut id = IdField::Cn;
        for part in parts {
            id = match part {
                "id=cn" => IdField::Cn,
                "id=san-dns" => IdField::SanDns,
                "id=san-uri" => IdField::SanUri,
                other => {
                    return Err(format!(
                    "--client-ca {spec:?}: {other:?} is not id=cn|san-dns|san-uri or pattern=REGEX"
                ))
                }
            };
        }
        let pattern = pattern
            .map(|p| {
                Regex::new(&format!("^(?:{p})$"))
                    .map_err(|e| format!("--client-ca {spec:?}: pattern: {e}"))
            })
            .transpose()?;
        Ok(ClientCa { pem, id, pattern })
    }
}

impl ClientCa {
    /// The device ID this CA's rule reads from a certificate it issued.
    pub fn device_id(&self, cert: &[u8]) -> Option<String> {
        use x509_parser::prelude::*;
        let (_, cert) = X509Certificate::from_der(cert).ok()?;
        let candidates: Vec<String> = match self.id {
            IdField::Cn => cert
                .subject()
                .iter_common_name()
                .filter_map(|cn| cn.as_str().ok().map(str::to_string))
                .collect(),
            IdField::SanDns | IdField::SanUri => cert
                .subject_alternative_name()
                .ok()
                .flatten()
                .map(|san| {
                    san.value
                        .general_names
                        .iter()
                        .filter_map(|n| match (n, self.id) {
                            (GeneralName::DNSName(d), IdField::SanDns) => Some(d.to_string()),
                            (GeneralName::URI(u), IdField::SanUri) => Some(u.to_string()),
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default(),
        };
        candidates
            .into_iter()
            .find_map(|value| match &self.pattern {
                None => (!value.is_empty()).then_some(value),
                Some(re) => {
                    let caps = re.captures(&value)?;
                    let id = caps.get(1).or_else(|| caps.get(0))?.as_str();
                    (!id.is_empty()).then(|| id.to_string())
                }
            })
    }
}

/// Accepts a client certificate that chains to one of the CAs (its expiry, usage and
/// signature checked by webpki), or any certificate from an issuer none of them knows, to be
/// looked up by fingerprint in the store before it names a device. Whatever it accepts, the
/// client proved it holds the key (the handshake signature is always checked).
#[derive(Debug)]
pub struct DeviceCertVerifier {
    cas: Vec<Arc<dyn ClientCertVerifier>>,
    provider: Arc<CryptoProvider>,
}

/// How a client certificate was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// Issued by the `--client-ca` with this index.
    Ca(usize),
    /// From an issuer no CA knows: only its enrolled fingerprint can name a device.
    Unanchored,
}

impl DeviceCertVerifier {
    pub fn new(cas: &[ClientCa], provider: Arc<CryptoProvider>) -> Result<Self, String> {
        let mut verifiers = Vec::new();
        for ca in cas {
            let mut roots = rustls::RootCertStore::empty();
            for cert in read_certs(&ca.pem)? {
                roots
                    .add(cert)
                    .map_err(|e| format!("{}: {e}", ca.pem.display()))?;
            }
            let v = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .allow_unauthenticated()
                .build()
                .map_err(|e| format!("{}: {e}", ca.pem.display()))?;
            verifiers.push(v);
        }
        Ok(DeviceCertVerifier {
            cas: verifiers,
            provider,
        })
    }

    /// Which CA issued `end_entity`, checked again after the handshake (the verifier cannot
    /// hand its verdict to the connection).
    pub fn anchor(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
    ) -> Result<Anchor, rustls::Error> {
        let now = UnixTime::now();
        let mut refusal = None;
        for (i, ca) in self.cas.iter().enumerate() {
            match ca.verify_client_cert(end_entity, intermediates, now) {
                Ok(_) => return Ok(Anchor::Ca(i)),
                Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)) => {}
                Err(e) => refusal = refusal.or(Some(e)),
            }
        }
        match refusal {
            // Expired, revoked, wrong usage, bad signature from a CA we know: refused.
            Some(e) => Err(e),
            None => within_dates(end_entity, now).map(|()| Anchor::Unanchored),
        }
    }
}

impl ClientCertVerifier for DeviceCertVerifier {
    fn client_auth_mandatory(&self) -> bool {
        // Public metadata and firmware need no client certificate; configs are checked later.
        false
    }

    /// None: a certificate of any issuer may be enrolled by fingerprint, and an empty list
    /// tells a client to send whatever certificate it has (RFC 8446 4.2.4, RFC 5246 7.4.4).
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.anchor(end_entity, intermediates)
            .map(|_| ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A certificate no CA vouches for is still judged by its own dates (an enrolled device
/// certificate that expired is refused, with or without a `--client-ca`).
fn within_dates(cert: &CertificateDer<'_>, now: UnixTime) -> Result<(), rustls::Error> {
    use x509_parser::prelude::*;
    let (_, cert) = X509Certificate::from_der(cert)
        .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
    let now = now.as_secs() as i64;
    let validity = cert.validity();
    if now < validity.not_before.timestamp() {
        return Err(rustls::Error::InvalidCertificate(
            CertificateError::NotValidYet,
        ));
    }
    if now > validity.not_after.timestamp() {
        return Err(rustls::Error::InvalidCertificate(CertificateError::Expired));
    }
    Ok(())
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no PEM certificate", path.display()));
    }
    Ok(certs)
}

/// The server's rustls configuration and the verifier it uses for client certificates.
pub fn server_config(
    cert: &Path,
    key: &Path,
    cas: &[ClientCa],
) -> Result<(Arc<rustls::ServerConfig>, Arc<DeviceCertVerifier>), String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let certs = read_certs(cert)?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{}: {e}", key.display()))?;
    let verifier = Arc::new(DeviceCertVerifier::new(cas, provider.clone())?);
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(verifier.clone())
        .with_single_cert(certs, key)
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    config.ticketer = rustls::crypto::aws_lc_rs::Ticketer::new().map_err(|e| e.to_string())?;
    config.session_storage = rustls::server::ServerSessionMemoryCache::new(64 * 1024);
    Ok((Arc::new(config), verifier))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert_with(cn: &str, sans: Vec<rcgen::SanType>) -> Vec<u8> {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, cn.to_string());
        p.subject_alt_names = sans;
        p.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn the_spec_parses_with_its_default_and_a_pattern_with_commas() {
        let ca: ClientCa = "ca.pem".parse().unwrap();
        assert_eq!((ca.pem.to_str(), ca.id), (Some("ca.pem"), IdField::Cn));
        let ca: ClientCa = "/x/ca.pem,id=san-uri,pattern=urn:dev:([0-9a-f]{1,12})"
            .parse()
            .unwrap();
        assert_eq!(ca.id, IdField::SanUri);
        assert!(ca.pattern.is_some());
        assert!("ca.pem,id=serial".parse::<ClientCa>().is_err());
        assert!("ca.pem,pattern=(".parse::<ClientCa>().is_err());
        assert!("".parse::<ClientCa>().is_err());
    }

    #[test]
    fn the_device_id_comes_from_the_field_the_rule_names() {
        let der = cert_with(
            "SEP001122AABBCC",
            vec![
                rcgen::SanType::DnsName("phone-7.example".try_into().unwrap()),
                rcgen::SanType::URI("urn:dev:001565aabbcc".try_into().unwrap()),
            ],
        );
        let rule = |s: &str| s.parse::<ClientCa>().unwrap().device_id(&der);
        assert_eq!(rule("c").as_deref(), Some("SEP001122AABBCC"));
        assert_eq!(
            rule("c,pattern=SEP([0-9A-F]{12})").as_deref(),
            Some("001122AABBCC")
        );
        assert_eq!(rule("c,id=san-dns").as_deref(), Some("phone-7.example"));
        assert_eq!(
            rule("c,id=san-uri,pattern=urn:dev:(.+)").as_deref(),
            Some("001565aabbcc")
        );
        // The pattern must match the whole field.
        assert_eq!(rule("c,pattern=001122AABBCC"), None);
        assert_eq!(rule("c,id=san-uri,pattern=dev:(.+)"), None);
    }
}
