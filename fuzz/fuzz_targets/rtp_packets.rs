//! Datagrams arriving on a call's RTP port, through the jitter buffer.
#![no_main]
use huikuan_dialer::media::{JitterBuffer, Playout};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut jb = JitterBuffer::new(0, 3);
    // Several datagrams per input: split on a marker byte.
    for chunk in data.split(|&b| b == 0xA5) {
        let _ = jb.push_datagram(chunk);
        if let Playout::Frame(p) = jb.pop() {
            // Whatever plays came from one of the datagrams.
            assert!(p.len() <= data.len());
        }
    }
});
