#![no_main]
// The TFTP server's packet parser: every datagram a client sends reaches it first. What
// parses as a read request must also survive the name check and negotiation.
use hookswitch_tftp::{check_name, packet, transfer};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(packet::Packet::Read(request)) = packet::parse(data) {
        let _ = check_name(request.name);
        let grant = transfer::negotiate(&request.options, data.len() as u64, 8192, 16);
        let mut t = transfer::Transfer::new(bytes::Bytes::copy_from_slice(data), &grant, 1);
        let mut out = Vec::new();
        for block in t.window() {
            t.write_block(block, &mut out);
        }
        let _ = t.on_ack(0);
        let _ = t.on_ack(u16::from_be_bytes([data[0], data[1]]));
    }
});
