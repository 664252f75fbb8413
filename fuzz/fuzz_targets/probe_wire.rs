#![no_main]
// Every parser of bytes a probed device sends back.
use hookswitch_probe::wire;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let g = wire::parse_telnet(data);
    let _ = wire::telnet_refusals(&g.options);
    let _ = wire::parse_ssh_ident(data);
    let _ = wire::parse_kexinit(data);
    let _ = wire::parse_http(data);
    let _ = wire::parse_sip(data);
    let _ = wire::parse_tftp(data);
    let _ = wire::snmpv3_engine_id(data);
    let _ = wire::server_hello_version(data);
    let _ = wire::fingerprint(&String::from_utf8_lossy(data));
});
