//! DTMF as RFC 4733 telephone-events: parsing the 4-byte event payload a
//! peer sends (each key arrives as several packets and three redundant
//! "end" packets, all with the same RTP timestamp), turning that stream
//! into one key press per event, and building the packets to send a key.

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DtmfError {
    #[error("telephone-event payload is {0} bytes, needs 4")]
    Short(usize),
    #[error("telephone-event {0} is not a DTMF key (0-15)")]
    NotAKey(u8),
}

/// One telephone-event payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventPayload {
    pub event: u8,
    pub end: bool,
    pub volume: u8,
    /// In timestamp units (8 kHz samples).
    pub duration: u16,
}

impl EventPayload {
    pub fn parse(payload: &[u8]) -> Result<EventPayload, DtmfError> {
        if payload.len() < 4 {
            return Err(DtmfError::Short(payload.len()));
        }
        Ok(EventPayload {
            event: payload[0],
            end: payload[1] & 0x80 != 0,
            volume: payload[1] & 0x3F,
            duration: u16::from_be_bytes([payload[2], payload[3]]),
        })
    }

    pub fn to_bytes(self) -> [u8; 4] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            (if self.end { 0x80 } else { 0 }) | (self.volume & 0x3F),
            d[0],
            d[1],
        ]
    }
}

/// The key an event number stands for.
pub fn key_of(event: u8) -> Result<char, DtmfError> {
    const KEYS: &[u8; 16] = b"0123456789*#ABCD";
    KEYS.get(event as usize)
        .map(|&k| k as char)
        .ok_or(DtmfError::NotAKey(event))
}

pub fn event_of(key: char) -> Option<u8> {
    "0123456789*#ABCD"
        .find(key.to_ascii_uppercase())
        .map(|i| i as u8)
}

/// Turns received telephone-event packets into key presses: a key is
/// reported once, when its first end packet arrives (or its first packet
/// at all, if the sender never marks the end before switching events).
#[derive(Debug, Default)]
pub struct DtmfReceiver {
    /// RTP timestamp of the event reported last.
    reported: Option<u32>,
}

impl DtmfReceiver {
    pub fn push(&mut self, rtp_timestamp: u32, payload: &[u8]) -> Result<Option<char>, DtmfError> {
        let ev = EventPayload::parse(payload)?;
        let key = key_of(ev.event)?;
        if !ev.end || self.reported == Some(rtp_timestamp) {
            return Ok(None);
        }
        self.reported = Some(rtp_timestamp);
        Ok(Some(key))
    }
}

/// The payloads for sending one key: an event every 20 ms for `ms`, then
/// the end packet three times (RFC 4733 section 2.5.1.4). All share one
/// RTP timestamp; the first is sent with the marker bit.
pub fn key_payloads(key: char, ms: u32) -> Option<Vec<[u8; 4]>> {
    let event = event_of(key)?;
    let steps = (ms / 20).max(1);
    let mut out = Vec::new();
    for i in 1..=steps {
        out.push(
            EventPayload {
                event,
                end: false,
                volume: 10,
                duration: (i * 160).min(u16::MAX as u32) as u16,
            }
            .to_bytes(),
        );
    }
    let end = EventPayload {
        event,
        end: true,
        volume: 10,
        duration: (steps * 160).min(u16::MAX as u32) as u16,
    }
    .to_bytes();
    out.extend([end, end, end]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trip() {
        let p = EventPayload {
            event: 11,
            end: true,
            volume: 7,
            duration: 1280,
        };
        assert_eq!(EventPayload::parse(&p.to_bytes()).unwrap(), p);
        assert_eq!(EventPayload::parse(&[1, 2]), Err(DtmfError::Short(2)));
    }

    #[test]
    fn a_sent_key_is_received_once() {
        for key in "0123456789*#ABCD".chars() {
            let mut rx = DtmfReceiver::default();
            let mut got = Vec::new();
            for p in key_payloads(key, 100).unwrap() {
                if let Some(k) = rx.push(8000, &p).unwrap() {
                    got.push(k);
                }
            }
            assert_eq!(got, vec![key]);
        }
        // The same key pressed again is a new event (a new timestamp).
        let mut rx = DtmfReceiver::default();
        let end = key_payloads('5', 40).unwrap().pop().unwrap();
        assert_eq!(rx.push(100, &end).unwrap(), Some('5'));
        assert_eq!(rx.push(100, &end).unwrap(), None);
        assert_eq!(rx.push(900, &end).unwrap(), Some('5'));
    }

    #[test]
    fn unknown_events_are_errors() {
        assert_eq!(rx_push(&[16, 0x80, 0, 160]), Err(DtmfError::NotAKey(16)));
        assert_eq!(key_payloads('x', 100), None);
    }

    fn rx_push(p: &[u8]) -> Result<Option<char>, DtmfError> {
        DtmfReceiver::default().push(0, p)
    }
}
