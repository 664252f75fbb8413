#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = hookswitch_stig::parse("fuzz.xml", data);
});
