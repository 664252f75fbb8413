#![no_main]
// A signing request crosses the air gap in both directions: nothing in it may panic the
// parser or the checks, a parsed request obeys the shape rules and survives a round trip,
// and no document in it passes for a trusted root's role without that root's keys.
use hookswitch_trust::ceremony::{self, Request};
use hookswitch_trust::metadata::Root;
use hookswitch_trust::testkit::Repo;
use std::sync::OnceLock;

fn trusted() -> &'static Root {
    static ROOT: OnceLock<Root> = OnceLock::new();
    ROOT.get_or_init(|| Repo::new().root)
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(req) = Request::parse(data) else { return };
    let mut roles = std::collections::BTreeSet::new();
    assert!(req.documents.iter().all(|d| roles.insert(d.role.clone())), "a role twice");
    let again = Request::parse(&serde_json::to_vec(&req).expect("serialise")).expect("round trip");
    assert_eq!(again, req);
    let _ = req.missing();
    let root = trusted();
    for d in &req.documents {
        let _ = ceremony::envelope(d);
        if d.role == "root" {
            let _ = ceremony::root_fingerprint(d);
            assert!(ceremony::check_root(d, root).is_err(), "a root passed without the trusted keys");
        } else if let Some(auth) = root.roles.get(&d.role) {
            assert!(ceremony::check(d, &root.keys, auth).is_err(), "{} passed unsigned", d.role);
        }
    }
});
