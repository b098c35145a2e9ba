//! The speech engines with their real models on real recordings: the VAD
//! finds utterances in a stream, the recognizer transcribes them. Models
//! come from ./scripts/fetch-models.sh (the test fails, naming what is
//! missing, when they are absent), clips from the shared speech test data
//! (HUIKUAN_SPEECH_TESTDATA, default ../shared/testdata/speech).

use huikuan_core::Dialect;
use huikuan_speech::asr::{RecognizeRequest, Recognizer, WeightType, WhisperRecognizer};
use huikuan_speech::audio::{self, Law, ASR_RATE};
use huikuan_speech::text::CerCount;
use huikuan_speech::vad::{Endpointer, VadConfig, VadEvent};
use huikuan_speech::SpeechEngines;
use huikuan_speech::{DialectPacks, SpeechConfig};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::OnceLock;

fn testdata() -> PathBuf {
    huikuan_speech::eval::speech_testdata()
        .expect("speech test data not found: set HUIKUAN_SPEECH_TESTDATA")
}

fn clip(dialect: &str, name: &str) -> (Vec<f32>, String) {
    let dir = testdata().join(dialect);
    let items = huikuan_speech::eval::read_manifest(&dir).unwrap();
    let item = items
        .iter()
        .find(|i| i.file.file_name().unwrap() == name)
        .unwrap_or_else(|| panic!("{name} not in {}", dir.display()));
    let c = audio::read_mono(&item.file).unwrap();
    assert_eq!(c.rate, ASR_RATE);
    (c.samples, item.reference.clone())
}

/// The recognizer's and the voice's threads wait for each other at every
/// step, so two tests decoding at once on two cores take several times as
/// long as one after the other (a whole minute more for this binary): the
/// tests here run one at a time.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The engines, loaded once for the whole test binary, as in a server.
fn engines() -> &'static SpeechEngines {
    static E: OnceLock<SpeechEngines> = OnceLock::new();
    E.get_or_init(|| {
        let cfg = SpeechConfig {
            audio_ctx: "fit".into(),
            ..Default::default()
        };
        cfg.engines()
            .expect("speech models missing: run ./scripts/fetch-models.sh")
    })
}

fn recognizer() -> &'static dyn Recognizer {
    engines().pool.recognizer().as_ref()
}

fn transcribe(samples: &[f32], dialect: Dialect) -> String {
    let packs = DialectPacks::builtin();
    let pack = packs.get(dialect);
    recognizer()
        .recognize(&RecognizeRequest {
            samples,
            language: &pack.asr.language,
            prompt: &pack.asr_prompt(),
            threads: None,
            cancelled: None,
            answers: &[],
        })
        .unwrap()
        .text
}

/// Five AISHELL Mandarin clips through a μ-law telephone line, with
/// their reference transcripts.
fn telephone_clips() -> Vec<(Vec<f32>, String)> {
    (121..=125)
        .map(|n| {
            let (a, reference) = clip("mandarin", &format!("aishell1_BAC009S0764W0{n}.wav"));
            (
                audio::telephone_band(&a, ASR_RATE, Law::Ulaw).unwrap(),
                reference,
            )
        })
        .collect()
}

fn silence(ms: usize) -> Vec<f32> {
    vec![0.0; ms * 16]
}

/// Feeds `stream` in 20 ms blocks to an endpointer with onsets after
/// 64 ms; returns its events with the stream time (ms) each came at.
fn onset_events(stream: &[f32]) -> Vec<(u64, VadEvent)> {
    let model = SpeechConfig::default().models_dir().join("silero_vad.onnx");
    let mut config = VadConfig::new(model);
    config.onset_ms = 64;
    let mut ep = Endpointer::new(config).expect("VAD model");
    let mut events = Vec::new();
    for block in stream.chunks(320) {
        for e in ep.push(block) {
            events.push((ep.now_ms(), e));
        }
    }
    events.extend(ep.flush().into_iter().map(|e| (u64::MAX, e)));
    events
}

#[test]
fn an_onset_comes_well_before_speech_is_confirmed_and_a_short_sound_is_only_an_onset() {
    let _one = ONE_AT_A_TIME.blocking_lock();
    let (a, _) = clip("mandarin", "aishell1_BAC009S0764W0121.wav");
    let mut stream = silence(1000);
    stream.extend(&a);
    stream.extend(silence(1000));
    let events = onset_events(&stream);
    let first_onset = events
        .iter()
        .find(|(_, e)| matches!(e, VadEvent::Onset { .. }))
        .map(|(at, _)| *at)
        .expect("an onset");
    let confirmed = events
        .iter()
        .find(|(_, e)| matches!(e, VadEvent::SpeechStart { .. }))
        .map(|(at, _)| *at)
        .expect("speech confirmed");
    // Both on the stream's clock: the onset needs 64 ms of speech, the
    // confirmation 200 ms.
    assert!(
        first_onset + 100 <= confirmed,
        "onset at {first_onset} ms, confirmed at {confirmed} ms"
    );

    // The loudest 128 ms of the clip alone: an onset, never speech.
    let len = 16 * 128;
    let start = (0..a.len() - len)
        .step_by(160)
        .max_by(|&x, &y| {
            let e = |i: usize| a[i..i + len].iter().map(|s| s * s).sum::<f32>();
            e(x).total_cmp(&e(y))
        })
        .unwrap();
    let mut stream = silence(1000);
    stream.extend(&a[start..start + len]);
    stream.extend(silence(1000));
    let events = onset_events(&stream);
    let kinds: Vec<&str> = events
        .iter()
        .map(|(_, e)| match e {
            VadEvent::Onset { .. } => "onset",
            VadEvent::SpeechStart { .. } => "start",
            VadEvent::SpeechEnd { .. } => "end",
        })
        .collect();
    assert_eq!(kinds, vec!["onset"], "a 128 ms sound");
}

#[test]
fn a_cancelled_decode_stops_with_an_error_and_the_recognizer_goes_on() {
    let _one = ONE_AT_A_TIME.blocking_lock();
    let (a, reference) = clip("mandarin", "aishell1_BAC009S0764W0121.wav");
    let packs = DialectPacks::builtin();
    let pack = packs.get(Dialect::Mandarin);
    let prompt = pack.asr_prompt();
    let cancelled = AtomicBool::new(true);
    let stopped = recognizer().recognize(&RecognizeRequest {
        samples: &a,
        language: &pack.asr.language,
        prompt: &prompt,
        threads: Some(1),
        cancelled: Some(&cancelled),
        answers: &[],
    });
    assert!(stopped.is_err(), "a cancelled decode gave {stopped:?}");
    // The stopped decode's state is reused: the next decode is whole.
    let text = transcribe(&a, Dialect::Mandarin);
    let cer = CerCount::of(&reference, &text);
    assert!(
        cer.rate() < 0.5,
        "after a cancelled decode: {text} for {reference}"
    );
}

#[test]
fn vad_splits_a_stream_into_its_utterances_and_asr_transcribes_them() {
    let _one = ONE_AT_A_TIME.blocking_lock();
    let (a, ref_a) = clip("mandarin", "aishell1_BAC009S0764W0121.wav");
    let (b, ref_b) = clip("mandarin", "aishell1_BAC009S0764W0122.wav");
    let mut stream = silence(1000);
    stream.extend(&a);
    let a_end_ms = stream.len() as u64 / 16;
    stream.extend(silence(1500));
    let b_start_ms = stream.len() as u64 / 16;
    stream.extend(&b);
    stream.extend(silence(1000));

    let model = SpeechConfig::default().models_dir().join("silero_vad.onnx");
    let mut ep = Endpointer::new(VadConfig::new(model)).expect("VAD model");
    let mut events = Vec::new();
    for block in stream.chunks(320) {
        events.extend(ep.push(block));
    }
    events.extend(ep.flush());
    let ends: Vec<(u64, u64, &Vec<f32>)> = events
        .iter()
        .filter_map(|e| match e {
            VadEvent::SpeechEnd {
                start_ms,
                end_ms,
                samples,
            } => Some((*start_ms, *end_ms, samples)),
            _ => None,
        })
        .collect();
    let starts = events
        .iter()
        .filter(|e| matches!(e, VadEvent::SpeechStart { .. }))
        .count();
    assert_eq!(
        ends.len(),
        2,
        "utterances: {:?}",
        ends.iter().map(|e| (e.0, e.1)).collect::<Vec<_>>()
    );
    assert_eq!(starts, 2);
    // Boundaries within the silences that separate them.
    assert!(
        ends[0].0 >= 700 && ends[0].0 <= 1500,
        "first start {}",
        ends[0].0
    );
    assert!(
        ends[0].1 <= b_start_ms,
        "first end {} vs {b_start_ms}",
        ends[0].1
    );
    assert!(ends[1].0 >= a_end_ms, "second start {}", ends[1].0);
    // Each utterance's audio is recognized as what was said.
    for ((_, _, samples), reference) in ends.iter().zip([&ref_a, &ref_b]) {
        let text = transcribe(samples, Dialect::Mandarin);
        let cer = CerCount::of(reference, &text).rate();
        assert!(cer < 0.3, "{text} vs {reference}: CER {cer}");
    }
}

#[test]
fn silence_and_noise_make_no_utterance() {
    let _one = ONE_AT_A_TIME.blocking_lock();
    let model = SpeechConfig::default().models_dir().join("silero_vad.onnx");
    let mut ep = Endpointer::new(VadConfig::new(model)).unwrap();
    let mut x = 12345u32;
    let noise: Vec<f32> = (0..16000 * 3)
        .map(|_| {
            x = x.wrapping_mul(1103515245).wrapping_add(12345);
            ((x >> 16) as f32 / 65536.0 - 0.5) * 0.002
        })
        .collect();
    let mut events = Vec::new();
    for block in noise.chunks(320) {
        events.extend(ep.push(block));
    }
    events.extend(ep.flush());
    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn telephone_band_audio_is_still_recognized_in_simplified_chinese() {
    let _one = ONE_AT_A_TIME.blocking_lock();
    let (a, reference) = clip("mandarin", "aishell1_BAC009S0764W0123.wav");
    let line = audio::telephone_band(&a, ASR_RATE, Law::Alaw).unwrap();
    let text = transcribe(&line, Dialect::Mandarin);
    assert_eq!(huikuan_speech::text::to_simplified(&text), text);
    let cer = CerCount::of(&reference, &text).rate();
    assert!(cer < 0.4, "{text} vs {reference}: CER {cer}");
}

/// The default weights are the converted model's, quantized to 8 bits:
/// on telephone-band clips they must hear about as well as the f16 model
/// they come from, from a file at most 60% of its size.
#[test]
fn quantized_weights_hear_as_well_as_the_converted_model() {
    let _one = ONE_AT_A_TIME.blocking_lock();
    let f16_config = SpeechConfig {
        whisper_weights: "f16".into(),
        ..Default::default()
    };
    let f16 = WhisperRecognizer::load(f16_config.whisper().unwrap()).unwrap();
    let quantized = recognizer();
    assert!(
        quantized.describe().contains("q8_0"),
        "{}",
        quantized.describe()
    );
    let source = f16.config().model.clone();
    let copy = huikuan_speech::asr::quantize::quantized(&source, WeightType::Q8_0).unwrap();
    assert_ne!(copy, source);
    let size = |p: &PathBuf| std::fs::metadata(p).unwrap().len();
    assert!(
        size(&copy) * 10 <= size(&source) * 6,
        "{} bytes",
        size(&copy)
    );

    let packs = DialectPacks::builtin();
    let pack = packs.get(Dialect::Mandarin);
    let prompt = pack.asr_prompt();
    let (mut with_f16, mut with_q8) = (CerCount::default(), CerCount::default());
    for (line, reference) in telephone_clips() {
        let req = RecognizeRequest {
            samples: &line,
            language: &pack.asr.language,
            prompt: &prompt,
            threads: None,
            cancelled: None,
            answers: &[],
        };
        with_f16.add(CerCount::of(&reference, &f16.recognize(&req).unwrap().text));
        with_q8.add(CerCount::of(
            &reference,
            &quantized.recognize(&req).unwrap().text,
        ));
    }
    assert!(
        with_q8.rate() <= with_f16.rate() + 0.05,
        "q8_0 CER {:.3} against f16 {:.3}",
        with_q8.rate(),
        with_f16.rate()
    );
}

#[test]
fn a_missing_model_is_a_clear_error() {
    let _one = ONE_AT_A_TIME.blocking_lock();
    let e = WhisperRecognizer::load(huikuan_speech::asr::WhisperConfig::new(
        "/nonexistent/m.bin",
    ))
    .err()
    .unwrap()
    .to_string();
    assert!(
        e.contains("/nonexistent/m.bin") && e.contains("fetch-models"),
        "{e}"
    );
    let e = Endpointer::new(VadConfig::new("/nonexistent/vad.onnx"))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("/nonexistent/vad.onnx"), "{e}");
}

#[test]
fn the_mandarin_voice_says_what_it_is_given_and_the_recognizer_hears_it() {
    let _one = ONE_AT_A_TIME.blocking_lock();
    let engine = engines().tts.clone();
    let text = "您好，这里是回款服务中心。您的账单已逾期十五天，请在2026-12-01前还款¥3,250.50。";
    let wide = engine.text(text, Dialect::Mandarin, 16_000).unwrap();
    // Around 4-5 syllables a second: a real utterance, not silence or noise.
    let secs = wide.len() as f64 / 16_000.0;
    assert!((6.0..20.0).contains(&secs), "{secs} s");
    let heard = transcribe(&wide, Dialect::Mandarin);
    let said = huikuan_speech::tts::spoken::to_spoken(text);
    let cer = CerCount::of(&said, &heard).rate();
    assert!(cer < 0.25, "said {said}\nheard {heard}\nCER {cer}");
    // And through the telephone band at 8 kHz.
    let line = engine.text(text, Dialect::Mandarin, 8_000).unwrap();
    assert!((line.len() as f64 / 8_000.0 - secs).abs() < 0.1);
    let up = audio::convert(&line, 8_000, 16_000).unwrap();
    let heard = transcribe(&up, Dialect::Mandarin);
    let cer = CerCount::of(&said, &heard).rate();
    assert!(cer < 0.3, "8 kHz: heard {heard}\nCER {cer}");
}

mod grpc {
    use super::*;
    use huikuan_proto::pb::{
        self, recognize_request::Msg, recognize_response::Event, speech_client::SpeechClient,
        AudioEncoding,
    };
    use huikuan_speech::service::SpeechService;
    use tokio_stream::StreamExt;

    async fn start() -> SpeechClient<tonic::transport::Channel> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let svc = SpeechService::new(engines().clone()).into_server();
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(svc)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        SpeechClient::connect(format!("http://{addr}"))
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn synthesize_on_the_line_then_recognize_it_back_over_grpc() {
        let _one = super::ONE_AT_A_TIME.lock().await;
        let mut client = start().await;
        let text = "您好，我是回款服务中心的客服。请问您什么时候方便还款？";
        let mut stream = client
            .synthesize(pb::SynthesizeRequest {
                text: text.into(),
                dialect: "mandarin".into(),
                encoding: AudioEncoding::Pcmu as i32,
                sample_rate: 0,
            })
            .await
            .unwrap()
            .into_inner();
        let mut ulaw = Vec::new();
        let mut sentences = Vec::new();
        while let Some(m) = stream.next().await {
            let m = m.unwrap();
            assert_eq!(m.sample_rate, 8000);
            sentences.push((m.sentence_index, m.last));
            ulaw.extend(m.audio);
        }
        assert_eq!(sentences.len(), 2, "{sentences:?}");
        assert_eq!(sentences.last(), Some(&(1, true)));

        // Play it back as a caller would: silence, the speech, silence, in
        // 20 ms packets of μ-law.
        let silence = vec![0xFFu8; 8000];
        let mut line = silence.clone();
        line.extend(&ulaw);
        line.extend(&silence);
        let mut msgs = vec![pb::RecognizeRequest {
            msg: Some(Msg::Config(pb::RecognizeConfig {
                dialect: "mandarin".into(),
                encoding: AudioEncoding::Pcmu as i32,
                sample_rate: 8000,
                partial_every_ms: 0,
                end_silence_ms: 0,
                onset_ms: 64,
            })),
        }];
        msgs.extend(line.chunks(160).map(|c| pb::RecognizeRequest {
            msg: Some(Msg::Audio(c.to_vec())),
        }));
        let mut events = client
            .recognize(tokio_stream::iter(msgs))
            .await
            .unwrap()
            .into_inner();
        let mut started = 0;
        let mut onsets = Vec::new();
        let mut finals = Vec::new();
        while let Some(e) = events.next().await {
            match e.unwrap().event.unwrap() {
                Event::SpeechStartedMs(_) => started += 1,
                // An onset comes before the start it announces.
                Event::SpeechOnsetMs(at) => onsets.push((at, started)),
                Event::Final(h) => finals.push(h),
                Event::Partial(_) => {}
            }
        }
        assert!(started >= 1);
        assert!(
            onsets
                .first()
                .is_some_and(|&(at, before)| before == 0 && at >= 700),
            "{onsets:?}"
        );
        let heard: String = finals.iter().map(|h| h.text.as_str()).collect();
        assert!(finals.iter().all(|h| h.dialect == "mandarin"));
        assert!(finals[0].start_ms >= 700, "{:?}", finals[0]);
        let cer = CerCount::of(text, &heard).rate();
        assert!(cer < 0.3, "heard {heard}: CER {cer}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn bad_requests_name_the_field() {
        let _one = super::ONE_AT_A_TIME.lock().await;
        let mut client = start().await;
        let audio_first = vec![pb::RecognizeRequest {
            msg: Some(Msg::Audio(vec![0; 320])),
        }];
        let e = client
            .recognize(tokio_stream::iter(audio_first))
            .await
            .unwrap_err();
        assert_eq!(e.code(), tonic::Code::InvalidArgument);
        assert!(e.message().starts_with("config:"), "{}", e.message());
        let bad = |c: pb::RecognizeConfig| {
            vec![pb::RecognizeRequest {
                msg: Some(Msg::Config(c)),
            }]
        };
        let e = client
            .recognize(tokio_stream::iter(bad(pb::RecognizeConfig {
                dialect: "klingon".into(),
                encoding: AudioEncoding::Pcmu as i32,
                ..Default::default()
            })))
            .await
            .unwrap_err();
        assert!(
            e.message().starts_with("config.dialect:"),
            "{}",
            e.message()
        );
        let e = client
            .recognize(tokio_stream::iter(bad(pb::RecognizeConfig {
                dialect: "mandarin".into(),
                encoding: AudioEncoding::Linear16 as i32,
                sample_rate: 100,
                ..Default::default()
            })))
            .await
            .unwrap_err();
        assert!(
            e.message().starts_with("config.sample_rate:"),
            "{}",
            e.message()
        );
        let e = client
            .recognize(tokio_stream::iter(bad(pb::RecognizeConfig {
                dialect: "mandarin".into(),
                encoding: AudioEncoding::Pcmu as i32,
                sample_rate: 8000,
                onset_ms: 5_000,
                ..Default::default()
            })))
            .await
            .unwrap_err();
        assert!(
            e.message().starts_with("config.onset_ms:"),
            "{}",
            e.message()
        );
        let e = client
            .synthesize(pb::SynthesizeRequest {
                text: " ".into(),
                dialect: "mandarin".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(e.message(), "text: empty");
    }
}

#[test]
fn the_cantonese_voice_speaks_and_numbers_are_read_out() {
    let _one = ONE_AT_A_TIME.blocking_lock();
    let engine = engines().tts.clone();
    let short = engine.text("你好。", Dialect::Cantonese, 8_000).unwrap();
    let long = engine
        .text(
            "我哋听日再倾，你欠款三千二百蚊。",
            Dialect::Cantonese,
            8_000,
        )
        .unwrap();
    let rms = |x: &[f32]| (x.iter().map(|v| v * v).sum::<f32>() / x.len() as f32).sqrt();
    assert!(rms(&long) > 0.01, "silent: rms {}", rms(&long));
    // More words take longer: the text is spoken, not a fixed sound.
    assert!(
        long.len() > 3 * short.len(),
        "{} vs {}",
        long.len(),
        short.len()
    );
    let digits = engine.text("3200", Dialect::Cantonese, 8_000).unwrap();
    let words = engine.text("三千二百", Dialect::Cantonese, 8_000).unwrap();
    let diff = (digits.len() as f64 - words.len() as f64).abs();
    assert!(
        diff <= words.len() as f64 * 0.02,
        "{} vs {}",
        digits.len(),
        words.len()
    );
}

/// A streaming Mandarin recognizer with the pack's prompt.
fn mandarin_stream(
    e: &SpeechEngines,
    partial_every_ms: u64,
    speculate_after_ms: u64,
) -> huikuan_speech::stream::StreamingRecognizer {
    mandarin_stream_with(
        e,
        huikuan_speech::stream::StreamOptions {
            partial_every_ms,
            use_prompt: true,
            speculate_after_ms,
            ..Default::default()
        },
    )
}

fn mandarin_stream_with(
    e: &SpeechEngines,
    options: huikuan_speech::stream::StreamOptions,
) -> huikuan_speech::stream::StreamingRecognizer {
    huikuan_speech::stream::StreamingRecognizer::new(
        Endpointer::new(e.vad.clone()).unwrap(),
        e.pool.clone(),
        e.packs.clone(),
        Dialect::Mandarin,
        options,
    )
}

/// The finals among `events`: (start ms, end ms, text).
fn finals_of(events: &[huikuan_speech::stream::RecognitionEvent]) -> Vec<(u64, u64, String)> {
    use huikuan_speech::stream::RecognitionEvent;
    events
        .iter()
        .filter_map(|ev| match ev {
            RecognitionEvent::Final {
                text,
                start_ms,
                end_ms,
                ..
            } => Some((*start_ms, *end_ms, text.clone())),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_gives_partials_while_speaking_and_one_final_at_the_end() {
    let _one = ONE_AT_A_TIME.lock().await;
    use huikuan_speech::stream::RecognitionEvent;
    let (speech, reference) = clip("mandarin", "aishell1_BAC009S0764W0124.wav");
    let e = engines();
    let mut r = mandarin_stream(e, 400, 0);
    let mut stream = silence(500);
    stream.extend(&speech);
    stream.extend(silence(1200));
    // Up to 2.5 s in (well inside the speech), then let the partial that
    // is being decoded finish, as real time would, then the rest.
    let (head, tail) = stream.split_at(16 * 2500);
    let mut events = Vec::new();
    for block in head.chunks(320) {
        events.extend(r.push(block).await.unwrap());
    }
    events.extend(r.settle().await);
    for block in tail.chunks(320) {
        events.extend(r.push(block).await.unwrap());
    }
    events.extend(r.finish().await.unwrap());
    let partials = events
        .iter()
        .filter(|e| matches!(e, RecognitionEvent::Partial { .. }))
        .count();
    let finals: Vec<&String> = events
        .iter()
        .filter_map(|e| match e {
            RecognitionEvent::Final { text, .. } => Some(text),
            _ => None,
        })
        .collect();
    assert!(matches!(events[0], RecognitionEvent::SpeechStarted { .. }));
    assert!(partials >= 1, "{events:?}");
    assert_eq!(finals.len(), 1, "{events:?}");
    let cer = CerCount::of(&reference, finals[0]).rate();
    assert!(cer < 0.35, "{} vs {reference}", finals[0]);
}

/// A decode started when the speaker goes quiet is used at end of speech
/// and gives exactly the final the plain path gives (both decode the same
/// samples), on several real clips; it is dropped when the speaker goes
/// on after a short pause (one final covering both parts).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn speculative_decoding_at_the_start_of_silence() {
    let _one = ONE_AT_A_TIME.lock().await;
    use huikuan_speech::stream::RecognitionEvent;
    let e = engines();
    let run = |speculate_after_ms: u64, stream: Vec<f32>| async move {
        let mut r = mandarin_stream(e, 0, speculate_after_ms);
        let mut finals = Vec::new();
        for block in stream.chunks(320) {
            for ev in r.push(block).await.unwrap() {
                if let RecognitionEvent::Final { text, .. } = ev {
                    finals.push(text);
                }
            }
        }
        finals
    };
    for file in [
        "aishell1_BAC009S0764W0121.wav",
        "aishell1_BAC009S0764W0123.wav",
        "aishell1_BAC009S0764W0124.wav",
        "cosyvoice_zero_shot_prompt.wav",
    ] {
        let (speech, _) = clip("mandarin", file);
        let mut one = silence(500);
        one.extend(&speech);
        one.extend(silence(1500));
        let plain = run(0, one.clone()).await;
        let early = run(150, one).await;
        assert_eq!(plain.len(), 1, "{file}: {plain:?}");
        assert_eq!(early, plain, "{file}");
    }

    let (speech, reference) = clip("mandarin", "aishell1_BAC009S0764W0124.wav");
    let cer = |t: &str| CerCount::of(&reference, t).rate();

    // A 300 ms pause (shorter than the end-of-speech silence), then the
    // rest: the decode started in the pause must not become the final.
    let half = speech.len() / 2;
    let mut paused = silence(500);
    paused.extend(&speech[..half]);
    paused.extend(silence(300));
    paused.extend(&speech[half..]);
    paused.extend(silence(1500));
    let early = run(150, paused).await;
    assert_eq!(early.len(), 1, "{early:?}");
    assert!(cer(&early[0]) < 0.35, "{} vs {reference}", early[0]);
}

/// Two Mandarin clips, the first always the same, `gap_ms` apart, with
/// quiet before and after.
fn two_utterances(second: &str, gap_ms: usize) -> Vec<f32> {
    let (a, _) = clip("mandarin", "aishell1_BAC009S0764W0121.wav");
    let (b, _) = clip("mandarin", second);
    let mut stream = silence(500);
    stream.extend(&a);
    stream.extend(silence(gap_ms));
    stream.extend(&b);
    stream.extend(silence(1500));
    stream
}

/// With decoding deferred the stream only marks where each utterance ends
/// (one empty final each), and recognising them afterwards gives exactly
/// what the live path gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deferred_decoding_marks_turns_then_hears_them_after() {
    let _one = ONE_AT_A_TIME.lock().await;
    use huikuan_speech::stream::StreamOptions;
    let e = engines();
    let stream = two_utterances("cosyvoice_zero_shot_prompt.wav", 1500);
    let recognizer = |defer_decoding: bool| {
        mandarin_stream_with(
            e,
            StreamOptions {
                defer_decoding,
                ..Default::default()
            },
        )
    };
    let finals = |events: &[_]| -> Vec<(u64, String)> {
        finals_of(events)
            .into_iter()
            .map(|(start, _, text)| (start, text))
            .collect()
    };
    let mut live = recognizer(false);
    let mut deferred = recognizer(true);
    let (mut live_events, mut deferred_events) = (Vec::new(), Vec::new());
    for block in stream.chunks(320) {
        live_events.extend(live.push(block).await.unwrap());
        deferred_events.extend(deferred.push(block).await.unwrap());
    }
    let live_finals = finals(&live_events);
    let marks = finals(&deferred_events);
    assert_eq!(live_finals.len(), 2, "{live_finals:?}");
    assert_eq!(marks.len(), 2, "{marks:?}");
    assert!(marks.iter().all(|(_, t)| t.is_empty()), "{marks:?}");
    assert_eq!(deferred.decode_deferred().await, live_finals);
    assert!(deferred.decode_deferred().await.is_empty());
}

/// Decoding in the background: `push` returns while an utterance is
/// still being decoded, and the finals, collected from later pushes and
/// `finish`, are exactly those the waiting path gives, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_decoding_gives_the_same_finals_without_holding_up_the_audio() {
    let _one = ONE_AT_A_TIME.lock().await;
    use huikuan_speech::stream::StreamOptions;
    let e = engines();
    let stream = two_utterances("aishell1_BAC009S0764W0123.wav", 1000);
    let recognizer = |decode_in_background: bool| {
        mandarin_stream_with(
            e,
            StreamOptions {
                decode_in_background,
                ..Default::default()
            },
        )
    };
    let mut waiting = recognizer(false);
    let mut background = recognizer(true);
    let (mut waited, mut collected) = (Vec::new(), Vec::new());
    let mut returned_while_decoding = 0;
    for block in stream.chunks(320) {
        waited.extend(waiting.push(block).await.unwrap());
        assert!(waiting.decoding().is_none());
        collected.extend(background.push(block).await.unwrap());
        if background.decoding().is_some() {
            returned_while_decoding += 1;
        }
    }
    collected.extend(background.ready());
    collected.extend(background.finish().await.unwrap());
    assert!(background.decoding().is_none());
    let want = finals_of(&waited);
    assert_eq!(want.len(), 2, "{want:?}");
    assert!(
        returned_while_decoding > 0,
        "every push waited for its decode"
    );
    assert_eq!(finals_of(&collected), want);
}

/// A recognizer failing its first decode.
struct FailsFirst {
    inner: std::sync::Arc<dyn Recognizer>,
    calls: std::sync::atomic::AtomicUsize,
}

impl Recognizer for FailsFirst {
    fn recognize(
        &self,
        req: &RecognizeRequest<'_>,
    ) -> Result<huikuan_speech::Transcript, huikuan_speech::asr::AsrError> {
        if self
            .calls
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            == 0
        {
            return Err(huikuan_speech::asr::AsrError::Decode("first decode".into()));
        }
        self.inner.recognize(req)
    }
    fn describe(&self) -> String {
        "fails first".into()
    }
}

/// A decode that fails in the background loses its own utterance and
/// nothing else: both utterances' starts are reported, and the second's
/// final is the one the plain path gives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_background_decode_loses_only_its_utterance() {
    let _one = ONE_AT_A_TIME.lock().await;
    use huikuan_speech::stream::{RecognitionEvent, StreamOptions};
    let e = engines();
    let stream = two_utterances("aishell1_BAC009S0764W0123.wav", 1000);
    let failing = SpeechEngines {
        pool: huikuan_speech::AsrPool::new(
            std::sync::Arc::new(FailsFirst {
                inner: e.pool.recognizer().clone(),
                calls: Default::default(),
            }),
            2,
            1,
        ),
        ..e.clone()
    };
    let mut plain = mandarin_stream(e, 0, 0);
    let mut background = mandarin_stream_with(
        &failing,
        StreamOptions {
            decode_in_background: true,
            ..Default::default()
        },
    );
    let (mut want, mut got) = (Vec::new(), Vec::new());
    for block in stream.chunks(320) {
        want.extend(plain.push(block).await.unwrap());
        got.extend(background.push(block).await.unwrap());
    }
    got.extend(background.finish().await.unwrap());
    let starts = |events: &[RecognitionEvent]| {
        events
            .iter()
            .filter(|e| matches!(e, RecognitionEvent::SpeechStarted { .. }))
            .count()
    };
    assert_eq!(starts(&want), 2);
    assert_eq!(starts(&got), 2, "{got:?}");
    let want = finals_of(&want);
    assert_eq!(want.len(), 2, "{want:?}");
    assert_eq!(finals_of(&got), want[1..].to_vec());
}

#[test]
fn a_neural_voice_whose_model_is_not_onnx_is_refused_before_sherpa_onnx_sees_it() {
    let _one = ONE_AT_A_TIME.blocking_lock();
    let dir = tempfile::tempdir().unwrap();
    for f in ["vits-cantonese.onnx", "tokens.txt", "lexicon.txt"] {
        std::fs::write(dir.path().join(f), b"not a model").unwrap();
    }
    let mut c = SpeechConfig::default();
    c.neural_voices
        .insert("cantonese".into(), dir.path().to_path_buf());
    let e = c.tts_engine().err().unwrap().to_string();
    assert!(
        e.starts_with("speech.neural_voices: cantonese: ")
            && e.contains("vits-cantonese.onnx: not a model ONNX Runtime can open"),
        "{e}"
    );
}

#[test]
fn a_beam_search_gives_its_other_readings_with_the_pick_first() {
    let _one = ONE_AT_A_TIME.blocking_lock();
    let beam = SpeechConfig {
        beam_size: 5,
        ..Default::default()
    };
    let beam = WhisperRecognizer::load(beam.whisper().unwrap()).unwrap();
    let packs = DialectPacks::builtin();
    let pack = packs.get(Dialect::Mandarin);
    let prompt = pack.asr_prompt();
    let mut most = 0;
    // Three of the five clips: a beam of five costs several greedy decodes.
    let clips = telephone_clips();
    for (line, _) in &clips[..3] {
        let req = RecognizeRequest {
            samples: line,
            language: &pack.asr.language,
            prompt: &prompt,
            threads: None,
            cancelled: None,
            answers: &[],
        };
        let t = beam.recognize(&req).unwrap();
        assert!(!t.text.is_empty());
        assert_eq!(t.nbest[0].text, t.text, "the pick first: {:?}", t.nbest);
        for (i, h) in t.nbest.iter().enumerate() {
            assert!(h.score.is_finite() && h.score <= 0.0, "{h:?}");
            assert!(!h.text.is_empty());
            assert!(
                t.nbest[..i].iter().all(|o| o.text != h.text),
                "each reading once: {:?}",
                t.nbest
            );
        }
        // The others best first.
        assert!(t.nbest[1..].windows(2).all(|w| w[0].score >= w[1].score));
        most = most.max(t.nbest.len());
    }
    assert!(most >= 2, "no clip gave a second reading");
    // Greedy decoding has no other readings to give.
    let req = RecognizeRequest {
        samples: &clips[0].0,
        language: &pack.asr.language,
        prompt: &prompt,
        threads: None,
        cancelled: None,
        answers: &[],
    };
    assert!(recognizer().recognize(&req).unwrap().nbest.is_empty());
}
