#![no_main]
// Detection on any bytes, then the detected format's full pipeline.
mod common;
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(d) = hookswitch_vendors::detect("y000000000044.cfg", data) {
        common::exercise(d.format, data);
    }
    let _ = hookswitch_vendors::detect("SEP001122AABBCC.cnf.xml", data);
});
