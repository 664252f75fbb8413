#![no_main]
// Untrusted TUF metadata into every verifier entry point: nothing may panic, nothing
// unsigned may be accepted, and a damaged local copy never stops a good refresh.
use hookswitch_trust::testkit::Repo;
use hookswitch_trust::Client;
use std::sync::OnceLock;

fn trusted() -> &'static (Repo, Client) {
    static STATE: OnceLock<(Repo, Client)> = OnceLock::new();
    STATE.get_or_init(|| {
        let repo = Repo::new();
        let mut client = Client::new(&repo.trusted_root(), 1_900_000_000).expect("testkit root");
        let mut fetch =
            |req: &hookswitch_trust::client::Request| Ok(repo.files.get(&req.name).cloned());
        hookswitch_trust::driver::refresh(&mut client, &mut fetch).expect("refresh");
        (repo, client)
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = Client::new(data, 1_900_000_000);
    let (repo, client) = trusted();
    let mut c = client.clone();
    assert!(c.update_root(data).is_err(), "accepted an unsigned root");
    let mut c = client.clone();
    assert!(c.update_targets("targets", "root", data).is_err());
    let mut c = client.clone();
    assert!(c.update_targets("config-bin-3", "config", data).is_err());
    // As a local copy (the first byte picks the role): ignored unless it verifies, and the
    // refresh still succeeds.
    if let Some((pick, rest)) = data.split_first() {
        let role = ["timestamp", "snapshot", "targets", "config"][usize::from(*pick) % 4];
        let data = rest;
        let mut c = Client::new(&repo.trusted_root(), 1_900_000_000).expect("root");
        c.offer_cached(role, data.to_vec());
        let mut fetch =
            |req: &hookswitch_trust::client::Request| Ok(repo.files.get(&req.name).cloned());
        hookswitch_trust::driver::refresh(&mut c, &mut fetch).expect("refresh with a bad cache");
        let _ = hookswitch_trust::driver::find_target(
            &mut c,
            "config/001565aabbcc.cfg",
            &mut fetch,
            &mut hookswitch_trust::driver::discard,
        )
        .expect("lookup with a bad cache");
    }
});
