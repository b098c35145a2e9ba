//! A jitter buffer for 20 ms G.711 packets: packets go in as they arrive
//! (out of order, duplicated, late, lost); frames come out one per 20 ms
//! tick, in sequence order, after a fixed playout delay. A missing packet
//! is reported as `Lost` (the caller plays silence); a packet that arrives
//! after its slot was played is dropped.

use bytes::Buf;
use rtp::packet::Packet;
use std::collections::BTreeMap;
use webrtc_util::Unmarshal;

#[derive(Debug, thiserror::Error)]
pub enum RtpError {
    #[error("not an RTP packet: {0}")]
    Malformed(String),
    #[error("RTP payload type {0} is not the negotiated {1}")]
    PayloadType(u8, u8),
}

/// What one 20 ms tick plays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Playout {
    /// The payload of the packet due now.
    Frame(bytes::Bytes),
    /// Its packet never came (or came too late).
    Lost,
    /// Nothing received yet, or the buffer is still filling.
    Waiting,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct JitterStats {
    pub received: u64,
    pub duplicates: u64,
    pub late: u64,
    pub lost: u64,
    pub played: u64,
}

pub struct JitterBuffer {
    payload_type: u8,
    /// Frames held before playout starts.
    delay: usize,
    /// Extended (wrap-free) sequence number -> payload.
    pending: BTreeMap<u64, bytes::Bytes>,
    /// The extended sequence number to play next.
    next: Option<u64>,
    /// Highest extended sequence number seen.
    highest: Option<u64>,
    started: bool,
    stats: JitterStats,
}

impl JitterBuffer {
    /// `delay_frames` of 20 ms each (3 = 60 ms) absorb network jitter.
    pub fn new(payload_type: u8, delay_frames: usize) -> Self {
        JitterBuffer {
            payload_type,
            delay: delay_frames.max(1),
            pending: BTreeMap::new(),
            next: None,
            highest: None,
            started: false,
            stats: JitterStats::default(),
        }
    }

    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// The 16-bit sequence number as a position on an unwrapped axis,
    /// nearest to the highest seen so far.
    fn extend(&self, seq: u16) -> u64 {
        let Some(h) = self.highest else {
            return (1u64 << 32) + seq as u64;
        };
        let cycle = h & !0xFFFF;
        let candidates = [cycle.wrapping_sub(1 << 16), cycle, cycle + (1 << 16)];
        candidates
            .iter()
            .map(|c| c + seq as u64)
            .min_by_key(|x| x.abs_diff(h))
            .unwrap_or(cycle + seq as u64)
    }

    /// Parses and queues a datagram.
    pub fn push_datagram(&mut self, datagram: &[u8]) -> Result<(), RtpError> {
        let mut buf = datagram;
        let packet = Packet::unmarshal(&mut buf).map_err(|e| RtpError::Malformed(e.to_string()))?;
        let _ = buf.remaining();
        self.push(packet)
    }

    pub fn push(&mut self, packet: Packet) -> Result<(), RtpError> {
        if packet.header.payload_type != self.payload_type {
            return Err(RtpError::PayloadType(
                packet.header.payload_type,
                self.payload_type,
            ));
        }
        let ext = self.extend(packet.header.sequence_number);
        if self.next.is_some_and(|n| ext < n) {
            self.stats.late += 1;
            return Ok(());
        }
        if self.pending.contains_key(&ext) {
            self.stats.duplicates += 1;
            return Ok(());
        }
        self.stats.received += 1;
        self.highest = Some(self.highest.map_or(ext, |h| h.max(ext)));
        if self.next.is_none_or(|n| ext < n) && !self.started {
            self.next = Some(ext);
        }
        self.pending.insert(ext, packet.payload);
        Ok(())
    }

    /// One 20 ms tick.
    pub fn pop(&mut self) -> Playout {
        let Some(next) = self.next else {
            return Playout::Waiting;
        };
        if !self.started {
            if self.pending.len() < self.delay {
                return Playout::Waiting;
            }
            self.started = true;
        }
        self.next = Some(next + 1);
        match self.pending.remove(&next) {
            Some(p) => {
                self.stats.played += 1;
                Playout::Frame(p)
            }
            None => {
                self.stats.lost += 1;
                Playout::Lost
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtp::header::Header;
    use webrtc_util::Marshal;

    fn packet(seq: u16, byte: u8) -> Vec<u8> {
        let p = Packet {
            header: Header {
                version: 2,
                payload_type: 0,
                sequence_number: seq,
                timestamp: seq as u32 * 160,
                ssrc: 7,
                ..Default::default()
            },
            payload: bytes::Bytes::from(vec![byte; 160]),
        };
        p.marshal().unwrap().to_vec()
    }

    fn first_byte(p: &Playout) -> Option<u8> {
        match p {
            Playout::Frame(b) => Some(b[0]),
            _ => None,
        }
    }

    #[test]
    fn reorders_drops_duplicates_and_reports_loss_across_wraparound() {
        let mut jb = JitterBuffer::new(0, 3);
        // 65534, 65535, 0, 1, 2, 3 with 1 lost, 0 and 65535 swapped, 2 twice.
        for (seq, b) in [(65534u16, 1u8), (0, 3), (65535, 2), (2, 5), (2, 5), (3, 6)] {
            jb.push_datagram(&packet(seq, b)).unwrap();
        }
        let out: Vec<Playout> = (0..6).map(|_| jb.pop()).collect();
        let bytes: Vec<Option<u8>> = out.iter().map(first_byte).collect();
        assert_eq!(
            bytes,
            vec![Some(1), Some(2), Some(3), None, Some(5), Some(6)]
        );
        assert_eq!(out[3], Playout::Lost);
        // Packet 1 arriving now is too late.
        jb.push_datagram(&packet(1, 4)).unwrap();
        let s = jb.stats();
        assert_eq!((s.duplicates, s.lost, s.late, s.played), (1, 1, 1, 5));
    }

    #[test]
    fn waits_to_fill_then_plays_and_rejects_garbage() {
        let mut jb = JitterBuffer::new(0, 2);
        assert_eq!(jb.pop(), Playout::Waiting);
        jb.push_datagram(&packet(10, 9)).unwrap();
        assert_eq!(jb.pop(), Playout::Waiting);
        jb.push_datagram(&packet(11, 9)).unwrap();
        assert!(matches!(jb.pop(), Playout::Frame(_)));
        assert!(jb.push_datagram(&[0x80, 0x00]).is_err());
        assert!(jb.push_datagram(&[]).is_err());
        let mut pcma = packet(12, 1);
        pcma[1] = 8; // payload type 8 (PCMA) where PCMU was negotiated
        assert!(matches!(
            jb.push_datagram(&pcma),
            Err(RtpError::PayloadType(8, 0))
        ));
    }
}
