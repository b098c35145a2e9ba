//! `huikuan dev ...`: synthetic portfolios and a dispatch load generator.

use crate::config::Config;
use huikuan_orchestrator::{client, pb};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(clap::Subcommand)]
pub enum DevCommand {
    /// Write a synthetic CSV portfolio.
    GenPortfolio {
        #[arg(long, default_value_t = 1000)]
        rows: u64,
        #[arg(long, short)]
        out: PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Account id prefix; ids are PREFIX + 8 digits.
        #[arg(long, default_value = "HK")]
        prefix: String,
    },
    /// Time the dialogue policy per turn over the scripted conversations.
    BenchDialogue {
        #[arg(long, default_value = "tests/data/conversations")]
        dir: PathBuf,
        #[arg(long, default_value_t = 200)]
        rounds: usize,
    },
    /// How often short sounds over the robot's voice are noticed as a
    /// possible barge-in and confirmed as speech, by length (JSON lines).
    BenchOnset {
        /// Words whose starts are the sounds.
        #[arg(long, value_delimiter = ',', default_value = "喂，你好,不是")]
        words: Vec<String>,
        /// Lengths of the sounds, ms.
        #[arg(long, value_delimiter = ',', default_value = "130,150,170,190,210")]
        lengths_ms: Vec<u32>,
        /// How far into the robot's opening each sound starts, ms.
        #[arg(long, value_delimiter = ',', default_value = "1200,2000")]
        into_robot_ms: Vec<u32>,
        /// Offsets tried per word, length and position.
        #[arg(long, default_value_t = 40)]
        offsets: u32,
    },
    /// Cross-validate the NLU's classifier on the development split of
    /// tests/data/nlu: precision and coverage of its confident answers.
    CvNlu {
        #[arg(long, default_value_t = 5)]
        folds: usize,
    },
    /// Dispatch under a flood of campaign reads: LeaseCalls latency, what
    /// became of the reads, the server's peak memory.
    BenchOverload(crate::bench_overload::OverloadArgs),
    /// The handoff benchmark's agents without a browser: log in, go
    /// available, keep a standing line, take and file calls in rounds
    /// (the protocol of tests/browser/bench_agents.mjs).
    BenchAgents {
        /// The benchmark's JSON file (the agents, their password, voice
        /// and rounds).
        agents_json: PathBuf,
    },
    /// Time re-planning one account after its outcome (as the server does
    /// for every outcome) for N accounts of a campaign's saved plan of
    /// DATE: p50, p95, max. It re-plans them for real: a test database.
    BenchReplan {
        #[arg(long)]
        campaign: String,
        #[arg(long)]
        date: chrono::NaiveDate,
        #[arg(long, default_value_t = 200)]
        accounts: u64,
    },
    /// For drills and load tests on a test database: approve a plan of
    /// every queued call of the campaign, released at once, without the
    /// planner (calling window, caps and do-not-call still hold at
    /// dispatch). Audited as approved by --by.
    ReleaseNow {
        #[arg(long)]
        campaign: String,
        #[arg(long, default_value = "load-test")]
        by: String,
        #[arg(long, default_value = "a drill: every queued call released at once")]
        why: String,
    },
    /// The planner against a naive dialler (everyone at 09:00, retried
    /// every 2 hours) on a synthetic portfolio with a hidden truth:
    /// right-party contacts, promises and amount recovered, and the ratios.
    SimulateCollections {
        #[arg(long, default_value_t = 30)]
        days: u32,
        #[arg(long, default_value_t = 5000)]
        accounts: usize,
        /// Calls each dialler may start per hour.
        #[arg(long, default_value_t = 150)]
        lines_per_hour: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Load the dispatch API: N workers doing LeaseCalls, then reporting
    /// every lease (one ReportOutcome each, or one ReportOutcomes for the
    /// whole batch with --batch-reports).
    BenchLease {
        #[arg(long, default_value = "http://127.0.0.1:50051")]
        endpoint: String,
        #[arg(long, env = "HUIKUAN_TOKEN", hide_env_values = true)]
        token: String,
        #[arg(long, default_value_t = 8)]
        workers: usize,
        /// Leases asked for per LeaseCalls.
        #[arg(long, default_value_t = 20)]
        batch: u32,
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Report each leased batch with one ReportOutcomes call.
        #[arg(long, conflicts_with = "concurrent_reports")]
        batch_reports: bool,
        /// Send a leased batch's ReportOutcome calls at once instead of
        /// one after another (a dialer reporting its lines' calls as they
        /// end).
        #[arg(long)]
        concurrent_reports: bool,
    },
    /// Write the QA robot's labelled evaluation set: synthetic stereo
    /// calls (clean, forbidden wording, missing disclosures, talk-over,
    /// long silences, raised voices) and their labels.
    QaEvalset(crate::qa::EvalsetArgs),
    /// Inspect the labelled evaluation set: precision and recall per flag
    /// type, false alarms on clean calls, and speed.
    EvalQa(crate::qa::EvalQaArgs),
}

pub async fn run(config: Config, cmd: DevCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        DevCommand::QaEvalset(args) => {
            tokio::task::block_in_place(|| crate::qa::evalset(config, args))
        }
        DevCommand::EvalQa(args) => {
            tokio::task::block_in_place(|| crate::qa::eval_qa(config, args))
        }
        DevCommand::BenchReplan {
            campaign,
            date,
            accounts,
        } => bench_replan(&config, &campaign, date, accounts).await,
        DevCommand::ReleaseNow { campaign, by, why } => {
            let store = huikuan_store::Store::connect(&config.database_url()?).await?;
            let c = store.find_campaign(&campaign).await?;
            let n = store
                .release_queued(
                    &c.id,
                    chrono::Utc::now(),
                    huikuan_store::plans::lifecycle::Change {
                        who: &by,
                        why: &why,
                        remote: "cli",
                    },
                )
                .await?;
            println!("{n} queued calls of {} released", c.name);
            store.close().await?;
            Ok(ExitCode::SUCCESS)
        }
        DevCommand::SimulateCollections {
            days,
            accounts,
            lines_per_hour,
            seed,
        } => tokio::task::block_in_place(|| {
            crate::simulate::run(crate::simulate::World {
                days,
                accounts,
                lines_per_hour,
                seed,
            })
        }),
        DevCommand::GenPortfolio {
            rows,
            out,
            seed,
            prefix,
        } => {
            let file = std::fs::File::create(&out)?;
            let bar = ProgressBar::new(rows);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} writing {pos}/{len} rows [{bar:40}] ({eta})",
                )
                .expect("valid template"),
            );
            // Written in chunks so the bar moves.
            let mut w = BufWriter::new(file);
            writeln!(w, "{}", huikuan_core::synthetic::CSV_HEADER)?;
            let mut tmp = Vec::new();
            let chunk = 50_000u64;
            let mut done = 0u64;
            while done < rows {
                let n = chunk.min(rows - done);
                tmp.clear();
                huikuan_core::synthetic::write_rows(&mut tmp, done..done + n, seed, &prefix)?;
                w.write_all(&tmp)?;
                done += n;
                bar.set_position(done);
            }
            w.flush()?;
            bar.finish_and_clear();
            println!("wrote {rows} rows to {}", out.display());
            Ok(ExitCode::SUCCESS)
        }
        DevCommand::BenchDialogue { dir, rounds } => bench_dialogue(&dir, rounds),
        DevCommand::CvNlu { folds } => cv_nlu(folds),
        DevCommand::BenchOnset {
            words,
            lengths_ms,
            into_robot_ms,
            offsets,
        } => {
            let engines = config.speech.engines()?;
            crate::bench_onset::bench_onset(
                &engines,
                &words,
                &lengths_ms,
                offsets,
                &into_robot_ms,
            )?;
            Ok(ExitCode::SUCCESS)
        }
        DevCommand::BenchOverload(args) => crate::bench_overload::run(args).await,
        DevCommand::BenchAgents { agents_json } => {
            crate::bench_agents::run(&agents_json).await?;
            Ok(ExitCode::SUCCESS)
        }
        DevCommand::BenchLease {
            endpoint,
            token,
            workers,
            batch,
            seconds,
            batch_reports,
            concurrent_reports,
        } => {
            let load = LeaseLoad {
                workers,
                batch,
                seconds,
                batch_reports,
                concurrent_reports,
            };
            bench_lease(&endpoint, &token, load).await
        }
    }
}

#[derive(Default)]
struct WorkerStats {
    leases: u64,
    reported: u64,
    lease_lat: Vec<Duration>,
    report_lat: Vec<Duration>,
    errors: u64,
}

pub fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[derive(Clone, Copy)]
struct LeaseLoad {
    workers: usize,
    batch: u32,
    seconds: u64,
    batch_reports: bool,
    concurrent_reports: bool,
}

async fn bench_lease(endpoint: &str, token: &str, load: LeaseLoad) -> anyhow::Result<ExitCode> {
    let LeaseLoad {
        workers,
        batch,
        seconds,
        batch_reports,
        concurrent_reports,
    } = load;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let mut c = client::connect(endpoint, token).await?;
        tasks.push(tokio::spawn(async move {
            let mut s = WorkerStats::default();
            let worker_id = format!("bench-{w}");
            while Instant::now() < deadline {
                let t = Instant::now();
                let leases = match c
                    .lease_calls(pb::LeaseCallsRequest {
                        worker_id: worker_id.clone(),
                        max_calls: batch,
                        lease_seconds: 300,
                        agent_calls: false,
                    })
                    .await
                {
                    Ok(r) => r.into_inner().leases,
                    Err(e) => {
                        tracing::warn!(error = %e, "lease failed");
                        s.errors += 1;
                        continue;
                    }
                };
                s.lease_lat.push(t.elapsed());
                if leases.is_empty() {
                    break;
                }
                let reports: Vec<_> = leases
                    .into_iter()
                    .map(|l| pb::ReportOutcomeRequest {
                        attempt_id: l.attempt_id,
                        lease_token: l.lease_token,
                        worker_id: worker_id.clone(),
                        disposition: "refused".into(),
                        duration_ms: 30_000,
                        ..Default::default()
                    })
                    .collect();
                s.leases += reports.len() as u64;
                if batch_reports {
                    let t = Instant::now();
                    let n = reports.len();
                    match c
                        .report_outcomes(pb::ReportOutcomesRequest { reports })
                        .await
                    {
                        Ok(r) => {
                            s.report_lat.push(t.elapsed());
                            s.reported += n as u64;
                            s.errors += r
                                .into_inner()
                                .results
                                .iter()
                                .filter(|r| {
                                    matches!(
                                        r.result,
                                        Some(pb::report_outcome_result::Result::Error(_))
                                    )
                                })
                                .count() as u64;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "batch report failed");
                            s.errors += n as u64;
                        }
                    }
                    continue;
                }
                let one = |req: pb::ReportOutcomeRequest| {
                    let mut c = c.clone();
                    async move {
                        let t = Instant::now();
                        let r = c.report_outcome(req).await;
                        (t.elapsed(), r)
                    }
                };
                let results = if concurrent_reports {
                    futures::future::join_all(reports.into_iter().map(one)).await
                } else {
                    let mut results = Vec::with_capacity(reports.len());
                    for req in reports {
                        results.push(one(req).await);
                    }
                    results
                };
                for (took, r) in results {
                    match r {
                        Ok(_) => {
                            s.report_lat.push(took);
                            s.reported += 1;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "report failed");
                            s.errors += 1;
                        }
                    }
                }
            }
            s
        }));
    }
    let mut all = WorkerStats::default();
    for t in tasks {
        let s = t.await?;
        all.leases += s.leases;
        all.reported += s.reported;
        all.errors += s.errors;
        all.lease_lat.extend(s.lease_lat);
        all.report_lat.extend(s.report_lat);
    }
    let secs = started.elapsed().as_secs_f64();
    all.lease_lat.sort();
    all.report_lat.sort();
    println!(
        "{{\"workers\":{workers},\"batch\":{batch},\"batch_reports\":{batch_reports},\"concurrent_reports\":{concurrent_reports},\"seconds\":{secs:.2},\"leases\":{},\"leases_per_s\":{:.0},\"reports_per_s\":{:.0},\
         \"lease_rpc_p50_ms\":{:.2},\"lease_rpc_p99_ms\":{:.2},\"report_rpc_p50_ms\":{:.2},\"report_rpc_p99_ms\":{:.2},\"errors\":{}}}",
        all.leases,
        all.leases as f64 / secs,
        all.reported as f64 / secs,
        pct(&all.lease_lat, 0.5),
        pct(&all.lease_lat, 0.99),
        pct(&all.report_lat, 0.5),
        pct(&all.report_lat, 0.99),
        all.errors
    );
    Ok(ExitCode::SUCCESS)
}

fn bench_dialogue(dir: &std::path::Path, rounds: usize) -> anyhow::Result<ExitCode> {
    use huikuan_core::Dialect;
    use huikuan_dialogue::{CallAccount, Engine};
    // The account the scripted conversations are written for.
    let account: CallAccount = serde_json::from_str(include_str!("../../../samples/account.json"))?;
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).expect("valid date");
    let engine = Engine::builtin();
    let mut calls: Vec<(Dialect, Vec<String>)> = Vec::new();
    for (file, dialect) in [
        ("mandarin", Dialect::Mandarin),
        ("sichuanese", Dialect::Sichuanese),
        ("cantonese", Dialect::Cantonese),
    ] {
        let text = std::fs::read_to_string(dir.join(format!("{file}.txt")))?;
        for block in format!("\n{text}").split("\n## ").skip(1) {
            let turns = block
                .lines()
                .filter_map(|l| l.strip_prefix("> ").map(str::to_string))
                .collect();
            calls.push((dialect, turns));
        }
    }
    let bar = ProgressBar::new(rounds as u64);
    let mut times = Vec::new();
    for _ in 0..rounds {
        for (dialect, turns) in &calls {
            let mut c = engine
                .start(account.clone(), *dialect, today)
                .map_err(anyhow::Error::msg)?;
            std::hint::black_box(c.opening());
            for t in turns {
                let started = Instant::now();
                std::hint::black_box(c.reply(t));
                times.push(started.elapsed());
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    times.sort();
    println!(
        "{{\"calls\":{},\"turns\":{},\"turn_p50_us\":{:.1},\"turn_p99_us\":{:.1},\"turn_max_us\":{:.1}}}",
        calls.len(),
        times.len(),
        pct(&times, 0.5) * 1000.0,
        pct(&times, 0.99) * 1000.0,
        pct(&times, 1.0) * 1000.0
    );
    Ok(ExitCode::SUCCESS)
}

fn cv_nlu(folds: usize) -> anyhow::Result<ExitCode> {
    use huikuan_dialogue::eval::{cross_validate_model, development_sets};
    // Development rows only: the held-out split is never looked at here.
    let sets = development_sets();
    let nlu = huikuan_dialogue::Nlu::phrases_only();
    let thresholds = [0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99];
    for c in cross_validate_model(&nlu, &sets, folds, &thresholds) {
        println!(
            "{{\"folds\":{folds},\"threshold\":{},\"utterances\":{},\"answered\":{},\"coverage\":{:.3},\"precision\":{:.3}}}",
            c.threshold,
            c.utterances,
            c.answered,
            c.answered as f64 / c.utterances.max(1) as f64,
            c.correct as f64 / c.answered.max(1) as f64
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn bench_replan(
    config: &Config,
    campaign: &str,
    date: chrono::NaiveDate,
    accounts: u64,
) -> anyhow::Result<ExitCode> {
    let store = huikuan_store::Store::connect(&config.database_url()?).await?;
    let c = store.find_campaign(campaign).await?;
    let settings = config
        .planning
        .for_campaign(&c.name)
        .resolve()
        .map_err(anyhow::Error::msg)?;
    let plan = store
        .plan_for(&c.id, date)
        .await?
        .ok_or_else(|| anyhow::anyhow!("no plan for {date}: make one with huikuan plan"))?;
    let (calls, _) = store
        .planned_calls(&plan.id, &Default::default(), 0, accounts)
        .await?;
    let mut ms = Vec::with_capacity(calls.len());
    for call in &calls {
        // The plan as it stands (each re-plan changes what is left).
        let plan = store.plan(&plan.id).await?;
        let started = std::time::Instant::now();
        huikuan_orchestrator::planning::replan_account(
            &store,
            &plan,
            &call.account_id,
            chrono::Utc::now(),
            &settings,
        )
        .await?;
        ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| {
        ms.get(((ms.len() as f64 * q) as usize).min(ms.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0.0)
    };
    println!(
        "re-planned {} accounts: p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        ms.len(),
        at(0.5),
        at(0.95),
        ms.last().copied().unwrap_or(0.0)
    );
    store.close().await?;
    Ok(ExitCode::SUCCESS)
}
