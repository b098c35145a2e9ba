//! The `huikuan.v1.Speech` gRPC service over the in-process engines.
//! Authentication is the server's job (the binary wraps this service with
//! the same bearer-token interceptor as the orchestrator).

use crate::audio::{self, Law, StreamResampler, ASR_RATE, LINE_RATE};
use crate::stream::{RecognitionEvent, StreamOptions, StreamingRecognizer};
use crate::tts::split_sentences;
use crate::vad::Endpointer;
use huikuan_core::Dialect;
use std::pin::Pin;
use tokio_stream::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use crate::engines::SpeechEngines;
use huikuan_proto::pb;
use pb::{recognize_request, recognize_response, AudioEncoding};

#[derive(Clone)]
pub struct SpeechService {
    engines: SpeechEngines,
}

impl SpeechService {
    pub fn new(engines: SpeechEngines) -> Self {
        SpeechService { engines }
    }

    pub fn into_server(self) -> pb::speech_server::SpeechServer<Self> {
        pb::speech_server::SpeechServer::new(self)
    }
}

fn parse_dialect(field: &str, s: &str) -> Result<Dialect, Status> {
    s.parse::<Dialect>()
        .map_err(|e| Status::invalid_argument(format!("{field}: {e}")))
}

/// Turns incoming audio bytes into 16 kHz samples.
struct AudioDecoder {
    encoding: AudioEncoding,
    resampler: StreamResampler,
    carry: Option<u8>,
}

impl AudioDecoder {
    fn new(cfg: &pb::RecognizeConfig) -> Result<Self, Status> {
        let encoding = AudioEncoding::try_from(cfg.encoding)
            .map_err(|_| Status::invalid_argument("config.encoding: unknown value"))?;
        let rate = match encoding {
            AudioEncoding::Unspecified => {
                return Err(Status::invalid_argument(
                    "config.encoding: required (LINEAR16, PCMU or PCMA)",
                ))
            }
            AudioEncoding::Pcmu | AudioEncoding::Pcma => {
                if cfg.sample_rate != 0 && cfg.sample_rate != LINE_RATE {
                    return Err(Status::invalid_argument(
                        "config.sample_rate: G.711 audio is 8000 Hz",
                    ));
                }
                LINE_RATE
            }
            AudioEncoding::Linear16 => {
                if !(8_000..=48_000).contains(&cfg.sample_rate) {
                    return Err(Status::invalid_argument(
                        "config.sample_rate: LINEAR16 needs 8000..=48000",
                    ));
                }
                cfg.sample_rate
            }
        };
        let resampler = StreamResampler::new(rate, ASR_RATE, audio::frame_len(rate))
            .map_err(|e| Status::invalid_argument(format!("config.sample_rate: {e}")))?;
        Ok(AudioDecoder {
            encoding,
            resampler,
            carry: None,
        })
    }

    fn decode(&mut self, bytes: &[u8]) -> Result<Vec<f32>, Status> {
        let samples: Vec<f32> = match self.encoding {
            AudioEncoding::Pcmu => Law::Ulaw
                .decode(bytes)
                .iter()
                .map(|&s| s as f32 / 32768.0)
                .collect(),
            AudioEncoding::Pcma => Law::Alaw
                .decode(bytes)
                .iter()
                .map(|&s| s as f32 / 32768.0)
                .collect(),
            _ => {
                // A chunk may split a sample; keep the odd byte for the next one.
                let mut buf = Vec::with_capacity(bytes.len() + 1);
                buf.extend(self.carry.take());
                buf.extend_from_slice(bytes);
                if buf.len() % 2 == 1 {
                    self.carry = buf.pop();
                }
                buf.chunks_exact(2)
                    .map(|b| i16::from_le_bytes([b[0], b[1]]) as f32 / 32768.0)
                    .collect()
            }
        };
        let mut out = Vec::new();
        self.resampler
            .push(&samples, &mut out)
            .map_err(|e| Status::internal(e.to_string()))?;
        Ok(out)
    }
}

fn to_response(e: RecognitionEvent) -> pb::RecognizeResponse {
    use recognize_response::Event;
    let event = match e {
        RecognitionEvent::SpeechStarted { at_ms } => Event::SpeechStartedMs(at_ms),
        RecognitionEvent::Onset { at_ms } => Event::SpeechOnsetMs(at_ms),
        RecognitionEvent::Partial {
            text,
            start_ms,
            upto_ms,
        } => Event::Partial(pb::Hypothesis {
            text,
            start_ms,
            end_ms: upto_ms,
            ..Default::default()
        }),
        RecognitionEvent::Final {
            text,
            start_ms,
            end_ms,
            dialect,
            detection,
            decode_ms,
            confidence,
            no_speech,
        } => Event::Final(pb::Hypothesis {
            text,
            start_ms,
            end_ms,
            dialect: dialect.to_string(),
            dialect_cues: detection.cues,
            decode_ms: decode_ms.min(u32::MAX as u64) as u32,
            confidence,
            no_speech,
        }),
    };
    pb::RecognizeResponse { event: Some(event) }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::RecognizeResponse, Status>> + Send>>;
type AudioStream = Pin<Box<dyn Stream<Item = Result<pb::SynthesizeResponse, Status>> + Send>>;

#[tonic::async_trait]
impl pb::speech_server::Speech for SpeechService {
    type RecognizeStream = EventStream;
    type SynthesizeStream = AudioStream;

    async fn recognize(
        &self,
        request: Request<Streaming<pb::RecognizeRequest>>,
    ) -> Result<Response<EventStream>, Status> {
        let mut inbound = request.into_inner();
        let cfg = match inbound.next().await {
            Some(Ok(pb::RecognizeRequest {
                msg: Some(recognize_request::Msg::Config(c)),
            })) => c,
            Some(Err(e)) => return Err(e),
            _ => {
                return Err(Status::invalid_argument(
                    "config: the first message must be a RecognizeConfig",
                ))
            }
        };
        let dialect = parse_dialect("config.dialect", &cfg.dialect)?;
        let mut decoder = AudioDecoder::new(&cfg)?;
        let mut vad = self.engines.vad.clone();
        if cfg.end_silence_ms > 0 {
            if !(100..=5_000).contains(&cfg.end_silence_ms) {
                return Err(Status::invalid_argument(
                    "config.end_silence_ms: must be within 100..=5000",
                ));
            }
            vad.end_silence_ms = cfg.end_silence_ms;
        }
        if cfg.onset_ms > 0 {
            if !(32..=vad.min_speech_ms).contains(&cfg.onset_ms) {
                return Err(Status::invalid_argument(format!(
                    "config.onset_ms: must be within 32..={} (speech is confirmed after {} ms)",
                    vad.min_speech_ms, vad.min_speech_ms
                )));
            }
            vad.onset_ms = cfg.onset_ms;
        }
        let endpointer = Endpointer::new(vad).map_err(|e| Status::unavailable(e.to_string()))?;
        let mut recognizer = StreamingRecognizer::new(
            endpointer,
            self.engines.pool.clone(),
            self.engines.packs.clone(),
            dialect,
            StreamOptions {
                partial_every_ms: cfg.partial_every_ms as u64,
                use_prompt: self.engines.use_prompt,
                speculate_after_ms: 0,
                ..Default::default()
            },
        );
        let out = async_stream::try_stream! {
            while let Some(msg) = inbound.next().await {
                let msg = msg?;
                match msg.msg {
                    Some(recognize_request::Msg::Audio(bytes)) => {
                        let samples = decoder.decode(&bytes)?;
                        let events = recognizer
                            .push(&samples)
                            .await
                            .map_err(|e| Status::internal(e.to_string()))?;
                        for e in events {
                            yield to_response(e);
                        }
                    }
                    Some(recognize_request::Msg::Config(_)) => {
                        Err(Status::invalid_argument("config: sent twice"))?;
                    }
                    None => {}
                }
            }
            let events = recognizer.finish().await.map_err(|e| Status::internal(e.to_string()))?;
            for e in events {
                yield to_response(e);
            }
        };
        Ok(Response::new(Box::pin(out)))
    }

    async fn synthesize(
        &self,
        request: Request<pb::SynthesizeRequest>,
    ) -> Result<Response<AudioStream>, Status> {
        let req = request.into_inner();
        if req.text.trim().is_empty() {
            return Err(Status::invalid_argument("text: empty"));
        }
        if req.text.chars().count() > 2_000 {
            return Err(Status::invalid_argument(
                "text: longer than 2000 characters",
            ));
        }
        let dialect = parse_dialect("dialect", &req.dialect)?;
        let encoding = AudioEncoding::try_from(req.encoding)
            .map_err(|_| Status::invalid_argument("encoding: unknown value"))?;
        let rate = match encoding {
            AudioEncoding::Pcmu | AudioEncoding::Pcma => LINE_RATE,
            _ if req.sample_rate == 0 => ASR_RATE,
            _ if (8_000..=48_000).contains(&req.sample_rate) => req.sample_rate,
            _ => {
                return Err(Status::invalid_argument(
                    "sample_rate: must be within 8000..=48000",
                ))
            }
        };
        let sentences = split_sentences(&req.text);
        let tts = self.engines.tts.clone();
        let count = sentences.len();
        let out = async_stream::try_stream! {
            for (i, sentence) in sentences.into_iter().enumerate() {
                let tts = tts.clone();
                let s = sentence.clone();
                let samples = tokio::task::spawn_blocking(move || tts.sentence(&s, dialect, rate))
                    .await
                    .map_err(|e| Status::internal(e.to_string()))?
                    .map_err(|e| Status::failed_precondition(e.to_string()))?;
                let pcm: Vec<i16> = samples.iter().map(|&x| audio::wav::to_i16(x)).collect();
                let audio = match encoding {
                    AudioEncoding::Pcmu => Law::Ulaw.encode(&pcm),
                    AudioEncoding::Pcma => Law::Alaw.encode(&pcm),
                    _ => pcm.iter().flat_map(|s| s.to_le_bytes()).collect(),
                };
                yield pb::SynthesizeResponse {
                    audio,
                    sentence_index: i as u32,
                    sentence,
                    sample_rate: rate,
                    last: i + 1 == count,
                };
            }
        };
        Ok(Response::new(Box::pin(out)))
    }
}
