//! Issue 12: keys the auditor missed in real vendor files. One fixture per class, in the
//! vendor's own syntax (`tests/keys/`); each assertion failed before the key was read.

use hookswitch_controls::{FetchScheme, Setting, SipTransport, Value};
use hookswitch_vendors::{keys, load, observe, Loaded, Observed, Vendor};
use std::path::PathBuf;

fn fixture(name: &str) -> hookswitch_vendors::Document {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/keys")
        .join(name);
    let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    match load(name, &bytes) {
        Loaded::Config { doc, .. } => doc,
        other => panic!("{name}: {other:?}"),
    }
}

/// Every observation of a setting: its value, or None when not assessable.
fn values(
    doc: &hookswitch_vendors::Document,
    s: Setting,
    family: Option<&str>,
) -> Vec<Option<Value>> {
    observe(doc, s, family)
        .into_iter()
        .map(|o| match o.observed {
            Observed::Set { value } | Observed::Default { value } => Some(value),
            Observed::Unknown { .. } => None,
        })
        .collect()
}

const ON: Option<Value> = Some(Value::Enabled(true));
const OFF: Option<Value> = Some(Value::Enabled(false));
const fn sip(t: SipTransport) -> Option<Value> {
    Some(Value::Sip(t))
}

#[test]
fn snom_user_srtp_off_is_not_mandatory_srtp() {
    let doc = fixture("snom-srtp-transport-pnp.xml");
    // Account 1: user_srtp off with user_savp mandatory; account 2: both on.
    assert_eq!(values(&doc, Setting::SrtpRequired, None), vec![OFF, ON]);
}

#[test]
fn snom_sip_transport_comes_from_user_host_and_user_outbound() {
    let doc = fixture("snom-srtp-transport-pnp.xml");
    let mut got = values(&doc, Setting::SipTransport, None);
    got.sort_by_key(|v| format!("{v:?}"));
    assert_eq!(
        got,
        vec![
            sip(SipTransport::Tcp),
            sip(SipTransport::Tls),
            sip(SipTransport::Udp)
        ]
    );
}

#[test]
fn snom_pnp_on_is_not_https_provisioning() {
    let doc = fixture("snom-srtp-transport-pnp.xml");
    let got = values(&doc, Setting::ProvisioningTransport, None);
    assert_eq!(got, vec![Some(Value::Fetch(FetchScheme::PlugAndPlay))]);
}

#[test]
fn cisco_mpp_reads_every_profile_rule() {
    let doc = fixture("cisco-mpp-profile-rules.xml");
    assert_eq!(
        values(&doc, Setting::ProvisioningTransport, None),
        vec![Some(Value::Fetch(FetchScheme::Tftp))]
    );
}

#[test]
fn cisco_speakerphone_enable_for_the_families_its_source_names() {
    let doc = fixture("cisco-mpp-profile-rules.xml");
    let spa = keys::family_of(Vendor::Cisco, "SPA525G2");
    assert_eq!(spa, Some("spa5xx"));
    assert_eq!(values(&doc, Setting::Speakerphone, spa), vec![ON]);
    // No source gives the key's meaning on 88xx: not guessed.
    assert_eq!(values(&doc, Setting::Speakerphone, None), vec![None]);
    let cp8861 = keys::family_of(Vendor::Cisco, "CP-8861");
    assert_eq!(values(&doc, Setting::Speakerphone, cp8861), vec![None]);
}

#[test]
fn poly_outbound_proxy_transport_and_srtp_enable() {
    let doc = fixture("poly-outbound-srtp.cfg");
    let mut got = values(&doc, Setting::SipTransport, None);
    got.sort_by_key(|v| format!("{v:?}"));
    assert_eq!(got, vec![sip(SipTransport::Tls), sip(SipTransport::Udp)]);
    // sec.srtp.require="1" means nothing while sec.srtp.enable="0".
    assert_eq!(values(&doc, Setting::SrtpRequired, None), vec![OFF]);
}

#[test]
fn grandstream_alias_words_decode_like_their_p_values() {
    let doc = fixture("cfgc074ad112233.xml");
    let grp = Some("grp");
    assert_eq!(
        values(&doc, Setting::SipTransport, grp),
        vec![sip(SipTransport::Udp)]
    );
    assert_eq!(values(&doc, Setting::SrtpRequired, grp), vec![OFF]);
    assert_eq!(values(&doc, Setting::PcPort, grp), vec![ON]);
    assert_eq!(values(&doc, Setting::PcPortMirror, grp), vec![ON]);
    assert_eq!(values(&doc, Setting::Bluetooth, grp), vec![ON]);
    assert_eq!(
        values(&doc, Setting::ProvisioningTransport, grp),
        vec![Some(Value::Fetch(FetchScheme::Http))]
    );
    assert_eq!(values(&doc, Setting::WebPlainHttp, grp), vec![ON]);
    // "Disable SSH" = No: the SSH server runs.
    assert_eq!(values(&doc, Setting::SshServer, grp), vec![ON]);
}

#[test]
fn grandstream_keys_with_one_meaning_need_no_family() {
    let doc = fixture("cfg000b82445566.xml");
    assert_eq!(
        values(&doc, Setting::SipTransport, None),
        vec![sip(SipTransport::Udp)]
    );
    assert_eq!(values(&doc, Setting::SrtpRequired, None), vec![OFF]);
    // P276 is SSH on some families and Telnet on others: still needs the family.
    assert_eq!(values(&doc, Setting::SshServer, None), vec![None]);
    let alias = fixture("cfgc074ad112233.xml");
    assert_eq!(
        values(&alias, Setting::SipTransport, None),
        vec![sip(SipTransport::Udp)]
    );
}
