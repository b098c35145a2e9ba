//! One call's RTP media over UDP, on a 20 ms clock: every tick sends one
//! G.711 packet (queued speech, or silence when nothing is playing, so the
//! far end and its NAT keep seeing a steady stream) and plays out one
//! received frame from the jitter buffer (silence when it is lost). DTMF
//! arrives and leaves as RFC 4733 events. Both directions go to the call
//! recorder on the same clock, and each received frame is handed up with
//! the frame sent on the same tick (the reference an echo canceller
//! needs).
//!
//! Playback can be paused (a possible barge-in: silence goes out, the
//! queue waits) and resumed, or stopped (the queue is dropped). A test
//! phone can make its side of the line echo and hiss like a real one
//! ([`LineSimulation`]).
//!
//! Network bytes never panic this task: malformed packets, packets of
//! other payload types and bad DTMF are counted and dropped.

use super::dtmf::{self, DtmfReceiver};
use super::{CallRecorder, JitterBuffer, Playout};
use crate::sdp::{AudioSession, Direction};
use bytes::Bytes;
use huikuan_speech::audio::g711::Law;
use rtp::header::Header;
use rtp::packet::Packet;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use webrtc_util::Marshal;

pub const RATE: u32 = 8000;
pub const FRAME: usize = 160;
const SILENCE_LEVEL: f32 = 1e-4;

/// What the media task hands to the call logic.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaEvent {
    /// One 20 ms frame of the far end (8 kHz), at `at_ms` call time, and
    /// the frame this side sent on the same tick (silence when none).
    Audio {
        at_ms: u64,
        samples: Vec<f32>,
        sent: Vec<f32>,
    },
    Dtmf {
        at_ms: u64,
        key: char,
    },
    /// The first non-silent frame of a queued utterance went out.
    PlaybackStarted {
        at_ms: u64,
        id: u64,
    },
    /// Playback was paused or stopped mid-utterance: this tick was the
    /// first to send silence instead.
    PlaybackCut {
        at_ms: u64,
    },
    /// The last frame of a queued utterance went out (not sent when
    /// playback was stopped).
    PlaybackFinished {
        at_ms: u64,
        id: u64,
    },
    /// An audio packet with the marker bit (the first packet of the far
    /// end's talkspurt, RFC 3551) arrived, at `at_ms` call time (the tick
    /// clock of the other events): when it came off the network, before
    /// the jitter buffer holds it.
    TalkspurtArrived {
        at_ms: u64,
    },
}

/// A call's RTP figures (kept in the call record).
pub use huikuan_core::call::MediaFigures;

struct Utterance {
    id: u64,
    samples: VecDeque<f32>,
    started: bool,
}

/// What a real line adds to a phone's outgoing audio: the echo of what
/// it receives (a hybrid or a loudspeaker), `echo_delay_ms` later and
/// `echo_db` quieter, and steady noise at `noise_dbfs` (test phones only).
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineSimulation {
    #[serde(default)]
    pub echo_delay_ms: u64,
    /// Echo level relative to what was received (e.g. -12); none if absent.
    #[serde(default)]
    pub echo_db: Option<f32>,
    /// White noise level (e.g. -55); none if absent.
    #[serde(default)]
    pub noise_dbfs: Option<f32>,
}

struct LineState {
    sim: LineSimulation,
    /// Received frames waiting to come back as echo.
    echo: VecDeque<Vec<f32>>,
}

impl LineState {
    /// Adds this tick's echo and noise to `out`; `received` is this
    /// tick's frame from the far end.
    fn apply(&mut self, out: &mut [f32], received: &[f32]) {
        if let Some(db) = self.sim.echo_db {
            self.echo.push_back(received.to_vec());
            let frames = (self.sim.echo_delay_ms / 20) as usize + 1;
            if self.echo.len() >= frames {
                let gain = 10f32.powf(db / 20.0);
                if let Some(e) = self.echo.pop_front() {
                    for (o, x) in out.iter_mut().zip(e) {
                        *o += gain * x;
                    }
                }
            }
        }
        if let Some(db) = self.sim.noise_dbfs {
            // Uniform noise of this RMS: amplitude sqrt(3) * rms.
            let a = 3f32.sqrt() * 10f32.powf(db / 20.0);
            for o in out.iter_mut() {
                *o += a * (2.0 * rand::random::<f32>() - 1.0);
            }
        }
    }
}

pub(super) struct Outgoing {
    queue: VecDeque<Utterance>,
    /// Playback held (silence goes out, the queue waits).
    paused: bool,
    /// Playing speech was paused or stopped; the next tick reports it.
    cut: bool,
    line: Option<LineState>,
    dtmf: VecDeque<[u8; 4]>,
    remote: AudioSession,
    next_id: u64,
}

/// Controls a running media session (RTP, or the local one of
/// [`super::local`]).
#[derive(Clone)]
pub struct MediaHandle {
    pub(super) out: Arc<Mutex<Outgoing>>,
    pub(super) stats: Arc<Mutex<MediaFigures>>,
    pub(super) recorder: Arc<Mutex<CallRecorder>>,
    pub(super) started: Instant,
    pub(super) cancel: CancellationToken,
    pub(super) local: SocketAddr,
}

/// A bound RTP socket, before the peer's SDP is known.
pub struct RtpSocket {
    socket: UdpSocket,
}

impl RtpSocket {
    /// Binds an even port on `ip` (RTP convention; RTCP is not used).
    pub async fn bind(ip: std::net::IpAddr) -> std::io::Result<RtpSocket> {
        for _ in 0..32 {
            let socket = UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
            if socket.local_addr()?.port() % 2 == 0 {
                return Ok(RtpSocket { socket });
            }
        }
        let socket = UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
        Ok(RtpSocket { socket })
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Starts the 20 ms clock towards `remote`. Events go to the returned
    /// receiver until the handle is stopped or the receiver dropped.
    pub fn start(self, remote: AudioSession) -> (MediaHandle, mpsc::Receiver<MediaEvent>) {
        let local = self.socket.local_addr().unwrap_or(remote.rtp);
        let (tx, rx) = mpsc::channel(EVENT_QUEUE);
        let handle = MediaHandle::new(remote, local);
        tokio::spawn(run(self.socket, handle.clone(), tx));
        (handle, rx)
    }
}

/// Media events waiting for the call's listener at most (about five
/// seconds of line frames).
pub(super) const EVENT_QUEUE: usize = 256;

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl MediaHandle {
    pub(super) fn new(remote: AudioSession, local: SocketAddr) -> MediaHandle {
        MediaHandle {
            out: Arc::new(Mutex::new(Outgoing {
                queue: VecDeque::new(),
                paused: false,
                cut: false,
                line: None,
                dtmf: VecDeque::new(),
                remote,
                next_id: 1,
            })),
            stats: Arc::new(Mutex::new(MediaFigures::default())),
            recorder: Arc::new(Mutex::new(CallRecorder::new(RATE))),
            started: Instant::now(),
            cancel: CancellationToken::new(),
            local,
        }
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Milliseconds since media started (the call clock).
    pub fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Queues speech (8 kHz) after whatever is already playing; returns
    /// its id for the playback events.
    pub fn play(&self, samples: &[f32]) -> u64 {
        let mut out = lock(&self.out);
        let id = out.next_id;
        out.next_id += 1;
        out.queue.push_back(Utterance {
            id,
            samples: samples.iter().copied().collect(),
            started: false,
        });
        id
    }

    /// Barge-in: drops everything queued; returns how many ms were cut.
    pub fn stop_playback(&self) -> u64 {
        let mut out = lock(&self.out);
        let samples: usize = out.queue.iter().map(|u| u.samples.len()).sum();
        out.cut |= samples > 0 && !out.paused;
        out.queue.clear();
        out.paused = false;
        samples as u64 * 1000 / RATE as u64
    }

    /// A possible barge-in: silence goes out from the next tick, and what
    /// is queued waits for [`MediaHandle::resume_playback`] (or is
    /// dropped by [`MediaHandle::stop_playback`]).
    pub fn pause_playback(&self) {
        let mut out = lock(&self.out);
        out.cut |= !out.queue.is_empty() && !out.paused;
        out.paused = true;
    }

    pub fn resume_playback(&self) {
        lock(&self.out).paused = false;
    }

    pub fn is_paused(&self) -> bool {
        lock(&self.out).paused
    }

    /// Something is queued (playing, or paused).
    pub fn is_playing(&self) -> bool {
        !lock(&self.out).queue.is_empty()
    }

    /// Milliseconds of speech queued and not yet sent.
    pub fn queued_ms(&self) -> u64 {
        let samples: usize = lock(&self.out).queue.iter().map(|u| u.samples.len()).sum();
        samples as u64 * 1000 / RATE as u64
    }

    /// Makes this side of the line echo and hiss (test phones).
    pub fn simulate_line(&self, sim: LineSimulation) {
        lock(&self.out).line = Some(LineState {
            sim,
            echo: VecDeque::new(),
        });
    }

    /// Sends a DTMF key as RFC 4733 events (when the peer negotiated them).
    pub fn send_dtmf(&self, key: char) -> bool {
        let mut out = lock(&self.out);
        if out.remote.dtmf_payload_type.is_none() {
            return false;
        }
        match dtmf::key_payloads(key, 100) {
            Some(p) => {
                out.dtmf.extend(p);
                true
            }
            None => false,
        }
    }

    /// A re-INVITE changed the far end (new address, codec or hold).
    pub fn update_remote(&self, remote: AudioSession) {
        lock(&self.out).remote = remote;
    }

    pub fn remote(&self) -> AudioSession {
        lock(&self.out).remote.clone()
    }

    pub fn stats(&self) -> MediaFigures {
        *lock(&self.stats)
    }

    /// Stops the clock and returns the recording so far.
    pub fn stop(&self) {
        self.cancel.cancel();
    }

    pub fn is_stopped(&self) -> bool {
        self.cancel.is_cancelled()
    }

    pub fn save_recording(
        &self,
        path: &std::path::Path,
    ) -> Result<u64, huikuan_speech::audio::wav::WavError> {
        let rec = lock(&self.recorder);
        rec.save(path)?;
        Ok(rec.duration_ms())
    }
}

fn decode(law: Law, payload: &[u8]) -> Vec<f32> {
    law.decode(payload)
        .into_iter()
        .map(|s| s as f32 / 32768.0)
        .collect()
}

fn encode(law: Law, samples: &[f32]) -> Vec<u8> {
    let pcm: Vec<i16> = samples
        .iter()
        .map(|&s| huikuan_speech::audio::wav::to_i16(s))
        .collect();
    law.encode(&pcm)
}

/// What one tick sends: speech frame (and whether it began or ended an
/// utterance), a DTMF payload, or silence.
pub(super) enum Tick {
    Audio {
        samples: Vec<f32>,
        started: Option<u64>,
        finished: Option<u64>,
        cut: bool,
    },
    Dtmf([u8; 4], bool),
}

pub(super) fn next_tick(out: &mut Outgoing, dtmf_first: &mut bool) -> Tick {
    if let Some(p) = out.dtmf.pop_front() {
        let first = *dtmf_first;
        *dtmf_first = out.dtmf.is_empty();
        return Tick::Dtmf(p, first);
    }
    let paused = out.paused;
    let cut = std::mem::take(&mut out.cut);
    let Some(u) = out.queue.front_mut().filter(|_| !paused) else {
        return Tick::Audio {
            samples: vec![0.0; FRAME],
            started: None,
            finished: None,
            cut,
        };
    };
    let n = u.samples.len().min(FRAME);
    let mut samples: Vec<f32> = u.samples.drain(..n).collect();
    samples.resize(FRAME, 0.0);
    let mut started = None;
    if !u.started && samples.iter().any(|s| s.abs() > SILENCE_LEVEL) {
        u.started = true;
        started = Some(u.id);
    }
    let mut finished = None;
    if u.samples.is_empty() {
        finished = Some(u.id);
        out.queue.pop_front();
    }
    Tick::Audio {
        samples,
        started,
        finished,
        cut,
    }
}

/// One tick's outgoing frame through the line's bookkeeping: the cut and
/// playback events, the simulated line (test phones), the recorder.
/// Returns the frame as it goes out.
#[allow(clippy::too_many_arguments)]
pub(super) fn sent_frame(
    h: &MediaHandle,
    at_ms: u64,
    mut samples: Vec<f32>,
    started: Option<u64>,
    finished: Option<u64>,
    cut: bool,
    received: &[f32],
    events: &mpsc::Sender<MediaEvent>,
) -> Vec<f32> {
    if cut {
        let _ = events.try_send(MediaEvent::PlaybackCut { at_ms });
    }
    if let Some(line) = lock(&h.out).line.as_mut() {
        line.apply(&mut samples, received);
    }
    lock(&h.recorder).robot(at_ms, &samples);
    if let Some(id) = started {
        let _ = events.try_send(MediaEvent::PlaybackStarted { at_ms, id });
    }
    if let Some(id) = finished {
        let _ = events.try_send(MediaEvent::PlaybackFinished {
            at_ms: at_ms + 20,
            id,
        });
    }
    samples
}

/// One tick's received frame to the recorder and the listener (with the
/// frame sent on the same tick). The line keeps its pace whatever the
/// listener does: a listener more than a few seconds behind misses frames
/// (each with the frame sent with it, so an echo canceller stays lined
/// up) instead of stalling what is sent. False when the listener is gone.
pub(super) fn heard_frame(
    h: &MediaHandle,
    at_ms: u64,
    received: Vec<f32>,
    sent: Vec<f32>,
    events: &mpsc::Sender<MediaEvent>,
) -> bool {
    lock(&h.recorder).debtor(at_ms, &received);
    match events.try_send(MediaEvent::Audio {
        at_ms,
        samples: received,
        sent,
    }) {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Full(_)) => {
            let mut st = lock(&h.stats);
            if st.unheard == 0 {
                tracing::warn!(
                    at_ms,
                    "the call's listener is behind: line frames left unheard"
                );
            }
            st.unheard += 1;
            true
        }
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    }
}

/// The far end's playout delay adapts to its network between 20 ms (a
/// clean path such as a LAN or loopback) and 200 ms.
const JITTER_MIN_FRAMES: usize = 1;
const JITTER_MAX_FRAMES: usize = 10;

fn jitter_buffer(payload_type: u8) -> JitterBuffer {
    JitterBuffer::adaptive(payload_type, JITTER_MIN_FRAMES, JITTER_MAX_FRAMES)
}

async fn run(socket: UdpSocket, h: MediaHandle, events: mpsc::Sender<MediaEvent>) {
    let ssrc: u32 = rand::random();
    let mut seq: u16 = rand::random();
    let mut timestamp: u32 = rand::random();
    let mut dtmf_timestamp = timestamp;
    let mut dtmf_first = true;
    let first_pt = lock(&h.out).remote.payload_type;
    let mut jitter = jitter_buffer(first_pt);
    let mut jitter_pt = first_pt;
    let mut dtmf_rx = DtmfReceiver::default();
    let mut law;
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut buf = vec![0u8; 2048];
    let mut tick_no: u64 = 0;
    // The call clock is the tick count (it lags the wall clock when the
    // task is starved, then catches up); arrivals are placed on it within
    // the tick they came in.
    let mut tick_wall = Instant::now();
    loop {
        tokio::select! {
            _ = h.cancel.cancelled() => break,
            _ = ticker.tick() => {
                let at_ms = tick_no * 20;
                tick_no += 1;
                tick_wall = Instant::now();
                let (tick, remote) = {
                    let mut out = lock(&h.out);
                    (next_tick(&mut out, &mut dtmf_first), out.remote.clone())
                };
                if remote.payload_type != jitter_pt {
                    jitter = jitter_buffer(remote.payload_type);
                    jitter_pt = remote.payload_type;
                }
                law = remote.law;
                let received = match jitter.pop() {
                    Playout::Frame(p) => {
                        let mut s = decode(law, &p);
                        s.resize(FRAME, 0.0);
                        s
                    }
                    Playout::Lost | Playout::Waiting => vec![0.0; FRAME],
                };
                let sending = !matches!(remote.direction, Direction::RecvOnly | Direction::Inactive);
                let mut sent = vec![0.0; FRAME];
                let packet = match tick {
                    Tick::Audio { samples, started, finished, cut } => {
                        let samples = sent_frame(&h, at_ms, samples, started, finished, cut, &received, &events);
                        timestamp = timestamp.wrapping_add(FRAME as u32);
                        dtmf_timestamp = timestamp;
                        let payload = encode(law, &samples);
                        sent = samples;
                        Some((payload, remote.payload_type, started.is_some(), timestamp))
                    }
                    Tick::Dtmf(p, first) => {
                        timestamp = timestamp.wrapping_add(FRAME as u32);
                        remote.dtmf_payload_type.map(|pt| (p.to_vec(), pt, first, dtmf_timestamp))
                    }
                };
                if let Some((payload, pt, marker, ts)) = packet.filter(|_| sending) {
                    let packet = Packet {
                        header: Header {
                            version: 2,
                            marker,
                            payload_type: pt,
                            sequence_number: seq,
                            timestamp: ts,
                            ssrc,
                            ..Default::default()
                        },
                        payload: Bytes::from(payload),
                    };
                    seq = seq.wrapping_add(1);
                    if let Ok(bytes) = packet.marshal() {
                        if socket.send_to(&bytes, remote.rtp).await.is_ok() {
                            lock(&h.stats).sent += 1;
                        }
                    }
                }
                if !heard_frame(&h, at_ms, received, sent, &events) {
                    break;
                }
                let js = jitter.stats();
                let mut st = lock(&h.stats);
                st.lost = js.lost;
                st.late = js.late;
                st.jitter_dropped = js.dropped;
                st.jitter_stretched = js.stretched;
                st.jitter_ms = jitter.jitter_ms().round() as u64;
                st.playout_delay_ms = jitter.target_frames() as u64 * 20;
            }
            r = socket.recv_from(&mut buf) => {
                let Ok((n, _from)) = r else { continue };
                let packet = match super::packet::parse(&buf[..n]) {
                    Ok(p) => p,
                    Err(_) => {
                        lock(&h.stats).malformed += 1;
                        continue;
                    }
                };
                let dtmf_pt = lock(&h.out).remote.dtmf_payload_type;
                if Some(packet.header.payload_type) == dtmf_pt {
                    match dtmf_rx.push(packet.header.timestamp, &packet.payload) {
                        Ok(Some(key)) => {
                            lock(&h.stats).dtmf_in += 1;
                            let at_ms = tick_no * 20;
                            let _ = events.try_send(MediaEvent::Dtmf { at_ms, key });
                        }
                        Ok(None) => {}
                        Err(_) => lock(&h.stats).malformed += 1,
                    }
                    continue;
                }
                if packet.header.marker && packet.header.payload_type == jitter_pt {
                    let into_tick = tick_wall.elapsed().as_millis().min(19) as u64;
                    let at_ms = tick_no.saturating_sub(1) * 20 + into_tick;
                    let _ = events.try_send(MediaEvent::TalkspurtArrived { at_ms });
                }
                let arrival_ms = h.started.elapsed().as_secs_f64() * 1000.0;
                match jitter.push_timed(packet, arrival_ms) {
                    Ok(()) => lock(&h.stats).received += 1,
                    Err(_) => lock(&h.stats).foreign_payload += 1,
                }
            }
        }
    }
    h.cancel.cancel();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdp::Direction;

    fn session(rtp: SocketAddr) -> AudioSession {
        AudioSession::pcmu(rtp)
    }

    async fn pair() -> (
        (MediaHandle, mpsc::Receiver<MediaEvent>),
        (MediaHandle, mpsc::Receiver<MediaEvent>),
    ) {
        let ip = "127.0.0.1".parse().unwrap();
        let a = RtpSocket::bind(ip).await.unwrap();
        let b = RtpSocket::bind(ip).await.unwrap();
        let (aa, ba) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        (a.start(session(ba)), b.start(session(aa)))
    }

    #[tokio::test]
    async fn speech_crosses_and_playback_is_reported() {
        let ((a, mut _arx), (b, mut brx)) = pair().await;
        let tone: Vec<f32> = (0..1600).map(|i| 0.3 * (i as f32 * 0.2).sin()).collect();
        let id = a.play(&tone);
        let mut heard = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            let Some(MediaEvent::Audio { samples, .. }) = brx.recv().await else {
                continue;
            };
            heard.extend(samples);
            if heard.iter().filter(|s| s.abs() > 0.01).count() > 1200 && !a.is_playing() {
                break;
            }
        }
        let loud = heard.iter().filter(|s| s.abs() > 0.01).count();
        assert!(loud > 1200, "heard {loud} loud samples of 1600");
        assert!(
            // The tone is 10 frames; most have crossed once it was heard.
            a.stats().sent >= 10 && b.stats().received >= 8,
            "{:?} {:?}",
            a.stats(),
            b.stats()
        );
        let mut events = Vec::new();
        while let Ok(e) = _arx.try_recv() {
            if !matches!(e, MediaEvent::Audio { .. }) {
                events.push(e);
            }
        }
        assert!(
            matches!(events[0], MediaEvent::PlaybackStarted { id: i, .. } if i == id),
            "{events:?}"
        );
        assert!(
            matches!(events[1], MediaEvent::PlaybackFinished { id: i, .. } if i == id),
            "{events:?}"
        );
        a.stop();
        b.stop();
    }

    #[tokio::test]
    async fn stop_playback_cuts_the_queue() {
        let ((a, _arx), (b, _brx)) = pair().await;
        a.play(&vec![0.2; 8000 * 5]);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let cut = a.stop_playback();
        assert!(cut > 4000 && cut <= 5000, "cut {cut} ms");
        assert!(!a.is_playing());
        a.stop();
        b.stop();
    }

    #[tokio::test]
    async fn dtmf_goes_across_once_per_key() {
        let ((a, _arx), (b, mut brx)) = pair().await;
        assert!(a.send_dtmf('7'));
        let mut keys = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(2);
        while Instant::now() < deadline {
            if let Ok(Some(MediaEvent::Dtmf { key, .. })) =
                tokio::time::timeout(Duration::from_millis(100), brx.recv()).await
            {
                keys.push(key);
            }
        }
        assert_eq!(keys, vec!['7']);
        a.stop();
        b.stop();
    }

    #[tokio::test]
    async fn garbage_datagrams_are_counted_not_fatal() {
        let ((a, _arx), (b, mut brx)) = pair().await;
        let junk = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        // The last: an RTP header extension element running past the
        // packet, which the rtp crate alone would panic on.
        let past_the_end = [
            0x90, 0, 7, 0x7e, 0, 0, 0, 1, 0x8d, 0xe5, 0, 0, 0xBE, 0xDE, 0, 1, 0x7e, 0, 0, 0,
        ];
        for d in [
            &b"x"[..],
            &[0x80, 0, 0][..],
            &[0xFF; 40][..],
            &past_the_end[..],
        ] {
            junk.send_to(d, b.local_addr()).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            b.stats().malformed + b.stats().foreign_payload >= 3,
            "{:?}",
            b.stats()
        );
        assert!(brx.recv().await.is_some(), "the session is still running");
        a.stop();
        b.stop();
    }

    #[tokio::test]
    async fn hold_stops_sending() {
        let ((a, _arx), (b, _brx)) = pair().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut r = a.remote();
        r.direction = Direction::Inactive;
        a.update_remote(r);
        tokio::time::sleep(Duration::from_millis(60)).await;
        let before = a.stats().sent;
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(a.stats().sent, before);
        a.stop();
        b.stop();
    }
}
