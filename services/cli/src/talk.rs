//! `huikuan talk`: the robot on the computer's microphone and speakers.
//! The robot's stages are exactly a phone call's (ear, voice, dialogue,
//! handoff); its line is a local one (`MediaHandle::start_local`) whose far
//! end is the sound card, through cpal: no RTP. Built with
//! `--features talk` (needs ALSA); without an audio device it says so and
//! exits.

use crate::config::Config;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct TalkArgs {
    #[arg(long, default_value = "mandarin")]
    pub dialect: String,
    /// The debtor's account (JSON, as for `huikuan chat`).
    #[arg(long, default_value = "samples/account.json")]
    pub account: PathBuf,
    /// Save the stereo recording here when the call ends.
    #[arg(long)]
    pub record: Option<PathBuf>,
}

#[cfg(not(feature = "talk"))]
pub async fn run(_config: Config, _args: TalkArgs) -> anyhow::Result<ExitCode> {
    eprintln!("huikuan talk: this build has no audio support; rebuild with `cargo build --release -p huikuan-cli --features talk` (needs libasound2-dev)");
    Ok(ExitCode::from(2))
}

#[cfg(feature = "talk")]
pub async fn run(config: Config, args: TalkArgs) -> anyhow::Result<ExitCode> {
    use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
    use huikuan_core::Dialect;
    use huikuan_dialer::media::{FarEnd, MediaHandle, SharedLine};
    use huikuan_dialer::session::{handoff, RobotCall, RobotCallConfig, StageEnd};
    use huikuan_dialogue::conversation::CallAccount;
    use huikuan_speech::audio::StreamResampler;
    use std::sync::{Arc, Mutex};

    let dialect: Dialect = crate::speech::parse_dialect(&args.dialect)?;
    let account: CallAccount = serde_json::from_str(&std::fs::read_to_string(&args.account)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.account.display()))?;
    let host = cpal::default_host();
    let (Some(mic), Some(speaker)) = (host.default_input_device(), host.default_output_device())
    else {
        println!("huikuan talk: no microphone or speaker found; nothing to do");
        return Ok(ExitCode::SUCCESS);
    };
    let configs = mic
        .default_input_config()
        .and_then(|i| speaker.default_output_config().map(|o| (i, o)));
    let (in_cfg, out_cfg): (cpal::StreamConfig, cpal::StreamConfig) = match configs {
        Ok((i, o)) => (i.into(), o.into()),
        Err(e) => {
            println!("huikuan talk: no usable microphone and speaker ({e}); nothing to do");
            return Ok(ExitCode::SUCCESS);
        }
    };

    let engines = config.speech.engines()?;
    let dialogue = config.dialogue_engine()?;
    let (says, says_rx) = tokio::sync::mpsc::channel::<Vec<f32>>(64);
    let (hears, mut hears_rx) = tokio::sync::mpsc::unbounded_channel::<Vec<f32>>();
    let (robot_media, robot_events) = MediaHandle::start_local(FarEnd {
        says: says_rx,
        hears,
    });

    // Microphone -> 8 kHz -> the line's far end.
    let (mic_tx, mut mic_rx) = tokio::sync::mpsc::unbounded_channel::<Vec<f32>>();
    let in_channels = in_cfg.channels as usize;
    let mic_stream = mic.build_input_stream::<f32, _, _>(
        in_cfg,
        move |data: &[f32], _| {
            let mono: Vec<f32> = data
                .chunks(in_channels)
                .map(|f| f.iter().sum::<f32>() / in_channels as f32)
                .collect();
            let _ = mic_tx.send(mono);
        },
        |e| tracing::warn!(error = %e, "microphone"),
        None,
    )?;
    let mut down = StreamResampler::new(in_cfg.sample_rate, 8000, 480)?;
    tokio::spawn(async move {
        let mut out = Vec::new();
        while let Some(block) = mic_rx.recv().await {
            if down.push(&block, &mut out).is_ok()
                && out.len() >= 160
                && says.send(std::mem::take(&mut out)).await.is_err()
            {
                return;
            }
        }
    });

    // The robot's voice -> the speaker.
    let played: Arc<Mutex<std::collections::VecDeque<f32>>> = Arc::default();
    let out_channels = out_cfg.channels as usize;
    let queue = played.clone();
    let speaker_stream = speaker.build_output_stream::<f32, _, _>(
        out_cfg,
        move |data: &mut [f32], _| {
            let mut q = queue.lock().unwrap_or_else(|p| p.into_inner());
            for frame in data.chunks_mut(out_channels) {
                let s = q.pop_front().unwrap_or(0.0);
                frame.iter_mut().for_each(|x| *x = s);
            }
        },
        |e| tracing::warn!(error = %e, "speaker"),
        None,
    )?;
    let mut up = StreamResampler::new(8000, out_cfg.sample_rate, 160)?;
    tokio::spawn(async move {
        let mut out = Vec::new();
        while let Some(frame) = hears_rx.recv().await {
            out.clear();
            if up.push(&frame, &mut out).is_ok() {
                played
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend(out.iter().copied());
            }
        }
    });
    mic_stream.play()?;
    speaker_stream.play()?;
    println!("huikuan talk: speak to the robot ({dialect}); Ctrl-C ends the call");

    let conversation = dialogue
        .start(account, dialect, chrono::Local::now().date_naive())
        .map_err(anyhow::Error::msg)?;
    let robot = RobotCall {
        conversation,
        dialect,
        config: RobotCallConfig::default(),
    };
    let line: SharedLine = std::sync::Arc::new(robot_media.clone());
    let stages = async {
        let mut stage = robot.run(&engines, line.clone(), robot_events, None).await;
        if let StageEnd::Handoff(h) = &stage.end {
            let handing = handoff::HandoffStage {
                engines: &engines,
                dialogue: &dialogue,
                dialect,
                link: None,
            };
            handoff::hand_over(
                handing,
                line.clone(),
                &mut stage.audio,
                None,
                h,
                &mut stage.record,
            )
            .await;
        }
        stage.record
    };
    let record = tokio::select! {
        r = stages => r,
        _ = crate::serve::shutdown_signal() => {
            println!("(hung up)");
            return Ok(ExitCode::SUCCESS);
        }
    };
    println!("{}", record.transcript_text());
    println!("{}", serde_json::to_string_pretty(&record.outcome)?);
    if let Some(path) = &args.record {
        robot_media.save_recording(path)?;
    }
    robot_media.stop();
    Ok(ExitCode::SUCCESS)
}
