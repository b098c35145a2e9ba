//! RFC 4733 telephone-event payloads, as a sequence with timestamps.
#![no_main]
use huikuan_dialer::media::dtmf::{DtmfReceiver, EventPayload};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut rx = DtmfReceiver::default();
    for chunk in data.chunks(8) {
        let ts = u32::from_be_bytes([
            *chunk.first().unwrap_or(&0),
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
            *chunk.get(3).unwrap_or(&0),
        ]);
        let payload = chunk.get(4..).unwrap_or(&[]);
        if let Ok(p) = EventPayload::parse(payload) {
            assert_eq!(EventPayload::parse(&p.to_bytes()), Ok(p));
        }
        let _ = rx.push(ts, payload);
    }
});
