//! A peer's SDP (INVITE offers, 183/200 answers, re-INVITEs): any bytes.
#![no_main]
use huikuan_dialer::sdp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = sdp::parse(data, None) {
        // Whatever parsed must be answerable.
        let body = sdp::build(1, 1, s.rtp, Some((s.law, s.dtmf_payload_type)), s.direction.reversed());
        assert!(sdp::parse(body.as_bytes(), Some(s.law)).is_ok());
    }
});
