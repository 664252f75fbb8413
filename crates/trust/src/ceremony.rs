//! The air-gapped signing ceremony: a request file carries unsigned metadata to wherever
//! the keys are; signatures come back in the same file; the publisher checks every
//! threshold against its trusted root before anything is written. Pure.

use crate::crypto::{canonical, verify_threshold, Signer};
use crate::metadata::{Key, RoleKeys, Root, Signature, Targets};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const REQUEST_FORMAT: &str = "hookswitch-signing-request-v1";

/// One metadata document awaiting signatures.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Document {
    /// Role name (`root`, `targets`, `firmware`, `config-bin-3f`, …).
    pub role: String,
    /// Who delegates the role: `root` for top-level roles.
    pub delegator: String,
    pub signed: serde_json::Value,
    pub signatures: Vec<Signature>,
    /// Key IDs that may sign it, and how many must (for the people at the ceremony).
    pub authorised: Vec<String>,
    pub threshold: u32,
}

/// A staged change: the documents to sign and the target files it publishes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Request {
    pub format: String,
    /// The root version the change was staged against.
    pub base_root_version: u64,
    pub documents: Vec<Document>,
    /// Target files (`dir/<sha256>.<name>`) staged for publication.
    pub blobs: Vec<String>,
}

impl Request {
    pub fn new(base_root_version: u64) -> Self {
        Request {
            format: REQUEST_FORMAT.into(),
            base_root_version,
            documents: Vec::new(),
            blobs: Vec::new(),
        }
    }

    /// Parse a request file (it crosses the air gap: untrusted until every signature checks).
    pub fn parse(bytes: &[u8]) -> Result<Request, String> {
        let r: Request =
            serde_json::from_slice(bytes).map_err(|e| format!("not a signing request: {e}"))?;
        r.validate()?;
        Ok(r)
    }

    /// The shape rules, before any signature is looked at: a known format; per document a
    /// clean role name, `_type` and `version` matching the role; no `snapshot` or
    /// `timestamp` (the publisher makes those); and at most one document per role, so
    /// nothing in the request can shadow what was checked.
    pub fn validate(&self) -> Result<(), String> {
        if self.format != REQUEST_FORMAT {
            return Err(format!("unknown request format {:?}", self.format));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, d) in self.documents.iter().enumerate() {
            let at = |m: String| format!("document {}: {m}", i + 1);
            for name in [&d.role, &d.delegator] {
                if !is_role_name(name) {
                    return Err(at(format!("{name:?} is not a role name")));
                }
            }
            let version = document_version(d).map_err(at)?;
            let ty = d.signed.get("_type").and_then(|t| t.as_str());
            let expected = if d.role == "root" { "root" } else { "targets" };
            if ty != Some(expected) {
                return Err(at(format!(
                    "{}: _type {ty:?}, expected {expected:?}",
                    d.role
                )));
            }
            if matches!(d.role.as_str(), "snapshot" | "timestamp") {
                return Err(at(format!(
                    "{} is signed by the publisher, never in a request",
                    d.role
                )));
            }
            if d.role == "root" && d.delegator != "root" {
                return Err(at("root is delegated by root only".into()));
            }
            if !seen.insert(d.role.as_str()) {
                return Err(format!(
                    "{} v{version}: more than one document for the role in the request",
                    d.role
                ));
            }
        }
        Ok(())
    }

    /// The root document, if the request carries one (at most one: see [`Request::validate`]).
    pub fn root(&self) -> Option<&Document> {
        self.documents.iter().find(|d| d.role == "root")
    }

    /// Add a document; its authorised keys are given by the caller's view of the repository.
    pub fn push<T: Serialize>(
        &mut self,
        role: &str,
        delegator: &str,
        signed: &T,
        authority: &RoleKeys,
    ) -> Result<(), String> {
        let signed = serde_json::to_value(signed).map_err(|e| e.to_string())?;
        self.documents.retain(|d| d.role != role);
        self.documents.push(Document {
            role: role.into(),
            delegator: delegator.into(),
            signed,
            signatures: Vec::new(),
            authorised: authority.keyids.clone(),
            threshold: authority.threshold,
        });
        Ok(())
    }

    /// Sign every document this key is authorised for. Returns the roles signed.
    pub fn sign(&mut self, signer: &dyn Signer) -> Result<Vec<String>, String> {
        let id = signer.key_id();
        let mut signed = Vec::new();
        for d in &mut self.documents {
            if !d.authorised.contains(&id) || d.signatures.iter().any(|s| s.keyid == id) {
                continue;
            }
            let message = canonical(&d.signed)?;
            d.signatures.push(Signature {
                keyid: id.clone(),
                sig: hex::encode(signer.sign(&message)?),
            });
            signed.push(d.role.clone());
        }
        Ok(signed)
    }

    /// What is still missing, per role: (role, valid signatures so far, threshold).
    pub fn missing(&self) -> Vec<(String, usize, u32)> {
        self.documents
            .iter()
            .filter(|d| d.signatures.len() < d.threshold as usize)
            .map(|d| (d.role.clone(), d.signatures.len(), d.threshold))
            .collect()
    }
}

/// A role name as it appears in file names (`N.<role>.json`): no path separators, no dot first.
fn is_role_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// A document's `signed.version`: a whole number from 1.
pub fn document_version(d: &Document) -> Result<u64, String> {
    d.signed
        .get("version")
        .and_then(|v| v.as_u64())
        .filter(|v| *v >= 1)
        .ok_or_else(|| format!("{}: no version (a whole number from 1)", d.role))
}

/// What the administrator compares between hosts: sha256 of a root's canonical `signed`
/// part. Signatures do not change it, so `repo init`, every `repo sign` and
/// `repo publish --expect-root` see the same value.
pub fn root_fingerprint(d: &Document) -> Result<String, String> {
    Ok(crate::crypto::sha256_hex(&canonical(&d.signed)?))
}

/// The signed file bytes of a document.
pub fn envelope(d: &Document) -> Result<Vec<u8>, String> {
    canonical(&serde_json::json!({"signatures": d.signatures, "signed": d.signed}))
}

/// Check a document's signatures against the keys and threshold that authorise it.
pub fn check(
    d: &Document,
    keys: &BTreeMap<String, Key>,
    authority: &RoleKeys,
) -> Result<(), String> {
    let message = canonical(&d.signed)?;
    verify_threshold(
        &message,
        &d.signatures,
        keys,
        &authority.keyids,
        authority.threshold,
    )
    .map(|_| ())
    .map_err(|valid| {
        format!(
            "{}: {valid} valid signature(s), threshold is {}",
            d.role, authority.threshold
        )
    })
}

/// Check a new root: signed by the threshold of the trusted root and of itself, version N+1.
pub fn check_root(d: &Document, trusted: &Root) -> Result<Root, String> {
    let new: Root = serde_json::from_value(d.signed.clone()).map_err(|e| format!("root: {e}"))?;
    if new.version != trusted.version + 1 {
        return Err(format!(
            "root: version {} does not follow the trusted version {}",
            new.version, trusted.version
        ));
    }
    let old_rk = trusted
        .roles
        .get("root")
        .ok_or("trusted root has no root role")?;
    check(d, &trusted.keys, old_rk)
        .map_err(|e| format!("{e} (by the trusted root v{})", trusted.version))?;
    let new_rk = new.roles.get("root").ok_or("new root has no root role")?;
    check(d, &new.keys, new_rk).map_err(|e| format!("{e} (by the new root v{})", new.version))?;
    Ok(new)
}

/// The keys and threshold a delegator's targets metadata gives `role`.
pub fn delegated_authority(
    delegator: &Targets,
    role: &str,
) -> Option<(BTreeMap<String, Key>, RoleKeys)> {
    let d = delegator.delegations.as_ref()?;
    d.authority_for(role).map(|rk| (d.keys.clone(), rk))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::key;

    #[test]
    fn signatures_collect_per_authorised_key_and_thresholds_are_checked() {
        let (k1, k2, k3) = (key(1), key(2), key(3));
        let root = crate::repo::root(
            1,
            "2031-01-01T00:00:00Z",
            &[crate::repo::RoleSpec {
                name: "root",
                keys: vec![k1.public_key(), k2.public_key(), k3.public_key()],
                threshold: 2,
            }],
        );
        let mut req = Request::new(0);
        req.push("root", "root", &root, &root.roles["root"])
            .unwrap();
        assert_eq!(req.missing(), vec![("root".to_string(), 0, 2)]);
        assert_eq!(req.sign(&k1).unwrap(), vec!["root"]);
        assert!(req.sign(&k1).unwrap().is_empty(), "a key signs once");
        assert!(
            req.sign(&key(9)).unwrap().is_empty(),
            "an unauthorised key signs nothing"
        );
        let d = &req.documents[0];
        assert!(check(d, &root.keys, &root.roles["root"]).is_err(), "1 of 2");
        req.sign(&k3).unwrap();
        check(&req.documents[0], &root.keys, &root.roles["root"]).unwrap();
        // Round trip through the file format.
        let bytes = serde_json::to_vec(&req).unwrap();
        assert_eq!(Request::parse(&bytes).unwrap(), req);
        assert!(Request::parse(b"{}").is_err());
    }

    #[test]
    fn the_shape_rules_refuse_before_any_signature_is_looked_at() {
        let k = key(1);
        let root = crate::repo::root(
            1,
            "2031-01-01T00:00:00Z",
            &[crate::repo::RoleSpec {
                name: "root",
                keys: vec![k.public_key()],
                threshold: 1,
            }],
        );
        let targets = crate::repo::targets(1, "2031-01-01T00:00:00Z", BTreeMap::new(), None);
        let mut good = Request::new(0);
        good.push("root", "root", &root, &root.roles["root"])
            .unwrap();
        good.push("targets", "root", &targets, &root.roles["root"])
            .unwrap();
        good.validate().unwrap();
        let refused = |edit: &dyn Fn(&mut Request), says: &str| {
            let mut r = good.clone();
            edit(&mut r);
            let bytes = serde_json::to_vec(&r).unwrap();
            let e = Request::parse(&bytes).unwrap_err();
            assert!(e.contains(says), "{e}");
        };
        refused(
            &|r| r.documents.push(r.documents[0].clone()),
            "root v1: more than one",
        );
        refused(
            &|r| {
                let mut d = r.documents[1].clone();
                d.signed["version"] = 2.into();
                r.documents.push(d)
            },
            "targets v2: more than one",
        );
        refused(
            &|r| r.documents[1].role = "../../x".into(),
            "not a role name",
        );
        refused(
            &|r| r.documents[1].delegator = "a/b".into(),
            "not a role name",
        );
        refused(
            &|r| r.documents[1].role = "snapshot".into(),
            "signed by the publisher",
        );
        refused(
            &|r| {
                r.documents[1].role = "timestamp".into();
                r.documents[1].signed["_type"] = "timestamp".into();
            },
            "_type",
        );
        refused(&|r| r.documents[1].signed["_type"] = "root".into(), "_type");
        refused(
            &|r| r.documents[1].signed["version"] = 0.into(),
            "no version",
        );
        refused(
            &|r| r.documents[0].delegator = "targets".into(),
            "delegated by root only",
        );
        refused(&|r| r.format = "other".into(), "unknown request format");
    }
}
