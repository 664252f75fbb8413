#![no_main]
//! The inventory CSV parser: never panics; what it accepts is consistent (every MAC
//! normalised and found again), and every error names a line of the input.
use hookswitch_inventory::{Inventory, Mac};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = text.matches('\n').count() + 1;
    match Inventory::parse_csv(text) {
        Ok(inv) => {
            for d in &inv.devices {
                let mac = Mac::parse(d.mac.as_str()).expect("a stored MAC parses again");
                assert_eq!(mac, d.mac);
                assert_eq!(inv.by_mac(&d.mac).map(|x| &x.id), Some(&d.id));
                assert!((1..=lines).contains(&d.line));
            }
        }
        Err(errors) => {
            assert!(!errors.is_empty());
            for e in errors {
                assert!((1..=lines).contains(&e.line), "{e}");
            }
        }
    }
});
