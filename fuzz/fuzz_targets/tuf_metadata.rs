#![no_main]
// Untrusted TUF metadata into every verifier entry point: nothing may panic, and nothing
// unsigned may be accepted.
use hookswitch_trust::testkit::Repo;
use hookswitch_trust::Client;
use std::sync::OnceLock;

fn trusted() -> &'static (Vec<u8>, Client) {
    static STATE: OnceLock<(Vec<u8>, Client)> = OnceLock::new();
    STATE.get_or_init(|| {
        let repo = Repo::new();
        let root = repo.trusted_root();
        let mut client = Client::new(&root, 1_900_000_000).expect("testkit root");
        let mut fetch = |req: &hookswitch_trust::client::Request| Ok(repo.files.get(&req.name).cloned());
        hookswitch_trust::driver::refresh(&mut client, &mut fetch).expect("refresh");
        (root, client)
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = Client::new(data, 1_900_000_000);
    let (_, client) = trusted();
    let mut c = client.clone();
    assert!(c.update_root(data).is_err(), "accepted an unsigned root");
    let mut c = client.clone();
    assert!(c.update_timestamp(data).is_err(), "accepted an unsigned timestamp");
    let mut c = client.clone();
    assert!(c.update_snapshot(data).is_err());
    let mut c = client.clone();
    assert!(c.update_targets("targets", "root", data).is_err());
    let mut c = client.clone();
    assert!(c.update_targets("config-bin-3", "config", data).is_err());
});
