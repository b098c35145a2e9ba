//! Datagrams arriving on a call's RTP port, through a fixed and an
//! adaptive jitter buffer (arrival times taken from the input too).
#![no_main]
use huikuan_dialer::media::{JitterBuffer, Playout};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut fixed = JitterBuffer::new(0, 3);
    let mut adaptive = JitterBuffer::adaptive(0, 1, 10);
    let mut arrival_ms = 0.0;
    // Several datagrams per input: split on a marker byte.
    for chunk in data.split(|&b| b == 0xA5) {
        let _ = fixed.push_datagram(chunk);
        // The chunk's first byte spaces its arrival from the previous one.
        arrival_ms += chunk.first().copied().unwrap_or(20) as f64;
        let _ = adaptive.push_datagram_timed(chunk, arrival_ms);
        for jb in [&mut fixed, &mut adaptive] {
            if let Playout::Frame(p) = jb.pop() {
                // Whatever plays came from one of the datagrams.
                assert!(p.len() <= data.len());
            }
        }
        assert!(adaptive.target_frames() <= 10);
    }
});
