#![no_main]
// Enrollment files cross from the operator to the device (serial console, USB): any bytes
// must give a clean Ok or Err. An accepted serial form's root matches its sha256 line.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(e) = hookswitch_trust::enrollment::parse(data) {
        if let Some(id) = &e.device_id {
            assert!(hookswitch_trust::enrollment::check_device_id(id).is_ok());
        }
        if data.starts_with(hookswitch_trust::enrollment::SERIAL_HEADER.as_bytes()) {
            // The sha256 line may be in either case.
            let sha = hookswitch_trust::crypto::sha256_hex(&e.root);
            assert!(String::from_utf8_lossy(data).to_ascii_lowercase().contains(&sha));
        }
    }
});
