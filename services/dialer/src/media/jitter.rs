//! A jitter buffer for 20 ms G.711 packets: packets go in as they arrive
//! (out of order, duplicated, late, lost); frames come out one per 20 ms
//! tick, in sequence order, after a playout delay. A missing packet is
//! reported as `Lost` (the caller plays silence); a packet that arrives
//! after its slot was played is dropped.
//!
//! The delay is fixed ([`JitterBuffer::new`]) or adapts to the network
//! ([`JitterBuffer::adaptive`]): its target follows the RFC 3550
//! interarrival jitter of timed packets plus a margin raised by each late
//! packet; the buffer grows by waiting a tick when the frame due has not
//! come and fewer than the target are held, and shrinks by dropping quiet
//! frames once it has held more than it needs for a second.

use super::packet::{parse, RtpError};
use rtp::packet::Packet;
use std::collections::BTreeMap;

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
    /// Quiet frames dropped to shorten the delay (adaptive only).
    pub dropped: u64,
    /// Ticks spent waiting for a frame to lengthen the delay (adaptive).
    pub stretched: u64,
}

/// How many frames the buffer aims to hold, and how it adapts.
#[derive(Debug, Clone, Copy)]
struct Target {
    min: usize,
    max: usize,
    adaptive: bool,
    /// RFC 3550 interarrival jitter estimate, ms.
    jitter_ms: f64,
    /// Previous timed packet: (extended sequence, arrival ms, RTP timestamp).
    last_timed: Option<(u64, f64, u32)>,
    /// Frames added for late packets; one is taken back after
    /// `LATE_DECAY_TICKS` without a late packet.
    late_margin: usize,
    ticks_since_late: u64,
    /// Consecutive ticks the buffer has held more than it needs.
    ticks_over: u64,
}

/// G.711 at 8 kHz: RTP timestamp units per ms.
const UNITS_PER_MS: f64 = 8.0;
const FRAME_MS: f64 = 20.0;
/// Jitter multiple the delay covers (the estimate is a mean deviation).
const JITTER_COVER: f64 = 3.0;
const LATE_MARGIN_MAX: usize = 4;
const LATE_DECAY_TICKS: u64 = 500;
/// Held above target this long (in ticks) before quiet frames are dropped
/// (one a tick, while the buffer stays above target).
const SHRINK_AFTER_TICKS: u64 = 50;
/// A frame whose every sample is below this (of 32768) may be dropped.
const QUIET_PEAK: i16 = 100;

impl Target {
    fn frames(&self) -> usize {
        if !self.adaptive {
            return self.min;
        }
        // The first frame already absorbs up to 20 ms; each further one
        // covers 20 ms more of the jitter's spread.
        let cover = (JITTER_COVER * self.jitter_ms / FRAME_MS).floor() as usize;
        (1 + cover + self.late_margin).clamp(self.min, self.max)
    }

    /// RFC 3550 section 6.4.1, on consecutive packets only.
    fn timed(&mut self, ext: u64, arrival_ms: f64, timestamp: u32) {
        if let Some((seq, at, ts)) = self.last_timed {
            if ext == seq + 1 {
                let sent = timestamp.wrapping_sub(ts) as i32 as f64 / UNITS_PER_MS;
                let d = (arrival_ms - at) - sent;
                self.jitter_ms += (d.abs() - self.jitter_ms) / 16.0;
            }
        }
        if self.last_timed.is_none_or(|(seq, _, _)| ext > seq) {
            self.last_timed = Some((ext, arrival_ms, timestamp));
        }
    }
}

/// Whether a G.711 payload (by its static payload type) is near silence.
fn quiet(payload_type: u8, payload: &[u8]) -> bool {
    use huikuan_speech::audio::g711::{alaw_decode, ulaw_decode};
    let decode: fn(u8) -> i16 = match payload_type {
        0 => ulaw_decode,
        8 => alaw_decode,
        _ => return false,
    };
    payload
        .iter()
        .all(|&b| decode(b).unsigned_abs() < QUIET_PEAK as u16)
}

pub struct JitterBuffer {
    payload_type: u8,
    target: Target,
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
    /// A fixed delay: `delay_frames` of 20 ms each (3 = 60 ms).
    pub fn new(payload_type: u8, delay_frames: usize) -> Self {
        Self::with_target(payload_type, delay_frames, delay_frames, false)
    }

    /// A delay that follows the network, between `min_frames` and
    /// `max_frames` of 20 ms; packets given with [`Self::push_timed`]
    /// measure the jitter.
    pub fn adaptive(payload_type: u8, min_frames: usize, max_frames: usize) -> Self {
        Self::with_target(payload_type, min_frames, max_frames, true)
    }

    fn with_target(payload_type: u8, min: usize, max: usize, adaptive: bool) -> Self {
        let min = min.max(1);
        JitterBuffer {
            payload_type,
            target: Target {
                min,
                max: max.max(min),
                adaptive,
                jitter_ms: 0.0,
                last_timed: None,
                late_margin: 0,
                ticks_since_late: 0,
                ticks_over: 0,
            },
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

    /// Frames the buffer aims to hold now (the playout delay in 20 ms).
    pub fn target_frames(&self) -> usize {
        self.target.frames()
    }

    /// The interarrival jitter estimate, ms.
    pub fn jitter_ms(&self) -> f64 {
        self.target.jitter_ms
    }

    /// Frames held from the one due next to the newest received.
    fn depth(&self) -> usize {
        match (self.next, self.highest) {
            (Some(n), Some(h)) if h >= n => (h - n + 1) as usize,
            _ => 0,
        }
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
        self.push_at(parse(datagram)?, None)
    }

    /// Parses and queues a datagram that arrived at `arrival_ms`.
    pub fn push_datagram_timed(
        &mut self,
        datagram: &[u8],
        arrival_ms: f64,
    ) -> Result<(), RtpError> {
        self.push_at(parse(datagram)?, Some(arrival_ms))
    }

    /// Queues a packet without timing it (it does not move an adaptive
    /// target).
    pub fn push(&mut self, packet: Packet) -> Result<(), RtpError> {
        self.push_at(packet, None)
    }

    /// Queues a packet that arrived at `arrival_ms` on the caller's clock.
    pub fn push_timed(&mut self, packet: Packet, arrival_ms: f64) -> Result<(), RtpError> {
        self.push_at(packet, Some(arrival_ms))
    }

    fn push_at(&mut self, packet: Packet, arrival_ms: Option<f64>) -> Result<(), RtpError> {
        if packet.header.payload_type != self.payload_type {
            return Err(RtpError::PayloadType(
                packet.header.payload_type,
                self.payload_type,
            ));
        }
        let ext = self.extend(packet.header.sequence_number);
        if self.next.is_some_and(|n| ext < n) {
            self.stats.late += 1;
            if self.target.adaptive {
                self.target.late_margin = (self.target.late_margin + 1).min(LATE_MARGIN_MAX);
                self.target.ticks_since_late = 0;
            }
            return Ok(());
        }
        if let Some(at) = arrival_ms {
            self.target.timed(ext, at, packet.header.timestamp);
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
        if self.next.is_none() {
            return Playout::Waiting;
        }
        let target = self.target.frames();
        if !self.started {
            if self.pending.len() < target {
                return Playout::Waiting;
            }
            self.started = true;
        }
        if self.target.adaptive {
            self.adapt(target);
        }
        let Some(next) = self.next else {
            return Playout::Waiting;
        };
        if self.target.adaptive && !self.pending.contains_key(&next) && self.depth() < target {
            // The frame due has not come and the buffer is short of its
            // target: wait a tick for it (the delay grows by one frame).
            if !self.pending.is_empty() {
                self.stats.stretched += 1;
            }
            return Playout::Waiting;
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

    /// Adaptive bookkeeping before a tick plays: late margins decay, and a
    /// buffer that has held more than it needs for a while drops the
    /// frame due if it is quiet (speech is never cut).
    fn adapt(&mut self, target: usize) {
        let over = self.depth() > target + 1;
        let t = &mut self.target;
        t.ticks_since_late += 1;
        if t.ticks_since_late >= LATE_DECAY_TICKS && t.late_margin > 0 {
            t.late_margin -= 1;
            t.ticks_since_late = 0;
        }
        if over {
            t.ticks_over += 1;
        } else {
            t.ticks_over = 0;
        }
        let Some(next) = self.next else { return };
        // A jump in the far end's sequence (far more missing than the
        // buffer could ever hold): play on from the oldest frame held
        // instead of a second of silence per 50 missing numbers.
        if let Some(&oldest) = self.pending.keys().next() {
            if oldest > next + self.target.max as u64 {
                self.stats.lost += oldest - next;
                self.next = Some(oldest);
                return;
            }
        }
        if self.target.ticks_over < SHRINK_AFTER_TICKS {
            return;
        }
        let droppable = self
            .pending
            .get(&next)
            .is_some_and(|p| quiet(self.payload_type, p));
        if droppable {
            self.pending.remove(&next);
            self.next = Some(next + 1);
            self.stats.dropped += 1;
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

    /// Drives a buffer on a 20 ms clock: `arrivals` are (seq, arrival ms,
    /// payload byte), pushed once their time has come; returns what each
    /// tick played (the first byte, or None for silence).
    fn drive(jb: &mut JitterBuffer, arrivals: &[(u16, f64, u8)], ticks: usize) -> Vec<Option<u8>> {
        let mut i = 0;
        let mut out = Vec::new();
        for t in 0..ticks {
            let now = t as f64 * 20.0;
            while i < arrivals.len() && arrivals[i].1 <= now {
                let (seq, at, b) = arrivals[i];
                jb.push_datagram_timed(&packet(seq, b), at).unwrap();
                i += 1;
            }
            out.push(first_byte(&jb.pop()));
        }
        out
    }

    /// μ-law: 0xFF is silence, 0x80 the loudest positive sample.
    const QUIET: u8 = 0xFF;
    const LOUD: u8 = 0x80;

    #[test]
    fn on_a_clean_path_the_adaptive_buffer_plays_each_packet_at_the_next_tick() {
        let mut jb = JitterBuffer::adaptive(0, 1, 10);
        // Sent every 20 ms, each arriving 5 ms after its tick boundary.
        let arrivals: Vec<_> = (0..200u16)
            .map(|s| (s, s as f64 * 20.0 + 5.0, LOUD))
            .collect();
        let played = drive(&mut jb, &arrivals, 200);
        // Packet k arrives at 20k+5 and plays at tick k+1: 15 ms held.
        assert_eq!(played[0], None);
        assert!(played[1..].iter().all(|b| *b == Some(LOUD)), "{played:?}");
        assert_eq!(jb.target_frames(), 1);
        let s = jb.stats();
        assert_eq!((s.lost, s.late, s.dropped), (0, 0, 0));
    }

    #[test]
    fn jittery_arrivals_raise_the_delay_until_nothing_is_lost() {
        let mut fixed = JitterBuffer::new(0, 1);
        let mut jb = JitterBuffer::adaptive(0, 1, 10);
        // Each packet 0-48 ms late, in a fixed pseudo-random pattern (so
        // some arrive after the one sent next).
        let mut arrivals: Vec<_> = (0..600u16)
            .map(|s| {
                (
                    s,
                    s as f64 * 20.0 + ((s as u32 * 37) % 5) as f64 * 12.0 + 1.0,
                    LOUD,
                )
            })
            .collect();
        arrivals.sort_by(|a, b| a.1.total_cmp(&b.1));
        drive(&mut fixed, &arrivals, 600);
        let played = drive(&mut jb, &arrivals, 600);
        assert!(
            fixed.stats().lost + fixed.stats().late > 100,
            "{:?}",
            fixed.stats()
        );
        assert!(jb.target_frames() >= 3, "target {}", jb.target_frames());
        assert!(jb.jitter_ms() > 10.0, "jitter {}", jb.jitter_ms());
        // After the first second every tick plays a frame.
        assert!(
            played[50..600].iter().all(|b| *b == Some(LOUD)),
            "{played:?}"
        );
        assert!(jb.stats().lost + jb.stats().late <= 5, "{:?}", jb.stats());
    }

    #[test]
    fn after_a_stall_the_buffer_shrinks_by_dropping_quiet_frames_only() {
        // A stall: the first 10 packets arrive together, then the path is
        // clean. The buffer holds 10 frames more than it needs.
        let arrivals = |byte: u8| -> Vec<(u16, f64, u8)> {
            (0..300u16)
                .map(|s| (s, if s < 10 { 200.0 } else { s as f64 * 20.0 + 5.0 }, byte))
                .collect()
        };
        let mut quiet = JitterBuffer::adaptive(0, 1, 10);
        drive(&mut quiet, &arrivals(QUIET), 300);
        assert!(quiet.stats().dropped >= 5, "{:?}", quiet.stats());
        assert!(
            quiet.depth() <= quiet.target_frames() + 1,
            "depth {}",
            quiet.depth()
        );
        // Speech is never cut to shorten the delay.
        let mut loud = JitterBuffer::adaptive(0, 1, 10);
        let played = drive(&mut loud, &arrivals(LOUD), 300);
        assert_eq!(loud.stats().dropped, 0);
        assert_eq!(
            played.iter().filter(|b| b.is_some()).count() as u64,
            loud.stats().played
        );
        assert_eq!(loud.stats().lost, 0);
    }

    #[test]
    fn a_jump_in_sequence_numbers_plays_on_instead_of_waiting_out_the_gap() {
        let mut jb = JitterBuffer::adaptive(0, 1, 10);
        let mut arrivals: Vec<_> = (0..20u16)
            .map(|s| (s, s as f64 * 20.0 + 5.0, LOUD))
            .collect();
        arrivals.extend((0..20u16).map(|k| (5000 + k, (20 + k) as f64 * 20.0 + 5.0, QUIET)));
        let played = drive(&mut jb, &arrivals, 45);
        // The new numbers play within two ticks of their first arrival.
        assert!(played[21..23].contains(&Some(QUIET)), "{played:?}");
        assert!(jb.stats().lost >= 4980);
    }
}
