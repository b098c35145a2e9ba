//! `huikuan dev bench-overload`: dispatch under a flood of campaign reads.
//!
//! An open-loop flood of `GetCampaign` at a fixed rate (requests go out on
//! schedule whether or not earlier ones were answered, as a misbehaving
//! dashboard or script would send them), each with its own deadline,
//! while dialer-like workers lease and report in a closed loop. It prints
//! the LeaseCalls latency the workers saw, what became of the reads (ok,
//! shed as RESOURCE_EXHAUSTED/UNAVAILABLE, past their deadline) and the
//! server's peak memory (`--server-pid`, read from /proc).

use huikuan_orchestrator::{client, pb};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct OverloadArgs {
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    endpoint: String,
    #[arg(long, env = "HUIKUAN_TOKEN", hide_env_values = true)]
    token: String,
    /// The campaign the flood reads.
    #[arg(long)]
    campaign: String,
    /// GetCampaign requests per second.
    #[arg(long, default_value_t = 2000)]
    read_rps: u32,
    /// Each read's deadline.
    #[arg(long, default_value_t = 1000)]
    read_deadline_ms: u64,
    /// Connections the flood spreads over.
    #[arg(long, default_value_t = 4)]
    read_connections: usize,
    /// Dialer-like workers leasing and reporting meanwhile.
    #[arg(long, default_value_t = 2)]
    lease_workers: usize,
    /// Leases asked for per LeaseCalls.
    #[arg(long, default_value_t = 4)]
    lease_batch: u32,
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// The server's process id, to sample its resident memory.
    #[arg(long)]
    server_pid: Option<u32>,
}

/// What became of the reads.
#[derive(Default)]
struct ReadOutcomes {
    sent: AtomicU64,
    ok: AtomicU64,
    shed: AtomicU64,
    late: AtomicU64,
    other: AtomicU64,
    /// Not sent: the generator's own cap on reads in flight was reached.
    held_back: AtomicU64,
}

/// Reads in flight the generator allows itself (its own memory bound).
const MAX_IN_FLIGHT: u64 = 50_000;

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

pub async fn run(args: OverloadArgs) -> anyhow::Result<std::process::ExitCode> {
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let outcomes = Arc::new(ReadOutcomes::default());
    let in_flight = Arc::new(AtomicU64::new(0));
    let read_latency = Arc::new(std::sync::Mutex::new(Vec::<Duration>::new()));

    // The server's memory, sampled meanwhile.
    let rss_before = args.server_pid.and_then(rss_kib);
    let sampler = args.server_pid.map(|pid| {
        tokio::spawn(async move {
            let mut peak = 0u64;
            while Instant::now() < deadline {
                peak = peak.max(rss_kib(pid).unwrap_or(0));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            peak
        })
    });

    // Dialer-like workers.
    let mut workers = Vec::new();
    for w in 0..args.lease_workers {
        let mut c = client::connect(&args.endpoint, &args.token).await?;
        let batch = args.lease_batch;
        workers.push(tokio::spawn(async move {
            let worker_id = format!("overload-{w}");
            let (mut lease_lat, mut errors, mut leased) = (Vec::new(), 0u64, 0u64);
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
                    Err(_) => {
                        errors += 1;
                        continue;
                    }
                };
                lease_lat.push(t.elapsed());
                leased += leases.len() as u64;
                for l in leases {
                    let report = pb::ReportOutcomeRequest {
                        attempt_id: l.attempt_id,
                        lease_token: l.lease_token,
                        worker_id: worker_id.clone(),
                        disposition: "refused".into(),
                        duration_ms: 30_000,
                        ..Default::default()
                    };
                    if c.report_outcome(report).await.is_err() {
                        errors += 1;
                    }
                }
                // A dialer asks again when a line frees up, not in a spin.
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (lease_lat, errors, leased)
        }));
    }

    // The flood: every millisecond, the reads due by then.
    let mut readers = Vec::new();
    for _ in 0..args.read_connections.max(1) {
        readers.push(client::connect(&args.endpoint, &args.token).await?);
    }
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut due = 0f64;
    let mut n = 0usize;
    let per_ms = f64::from(args.read_rps) / 1000.0;
    while Instant::now() < deadline {
        tick.tick().await;
        due += per_ms;
        while due >= 1.0 {
            due -= 1.0;
            if in_flight.load(Ordering::Relaxed) >= MAX_IN_FLIGHT {
                outcomes.held_back.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            n += 1;
            let mut c = readers[n % readers.len()].clone();
            let (outcomes, in_flight, latency) =
                (outcomes.clone(), in_flight.clone(), read_latency.clone());
            let campaign = args.campaign.clone();
            let limit = Duration::from_millis(args.read_deadline_ms);
            in_flight.fetch_add(1, Ordering::Relaxed);
            outcomes.sent.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(async move {
                let t = Instant::now();
                let mut req = tonic::Request::new(pb::GetCampaignRequest { campaign });
                req.set_timeout(limit);
                let answer = tokio::time::timeout(limit, c.get_campaign(req)).await;
                let counter = match answer {
                    Ok(Ok(_)) => {
                        latency
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(t.elapsed());
                        &outcomes.ok
                    }
                    Ok(Err(s))
                        if matches!(
                            s.code(),
                            tonic::Code::ResourceExhausted | tonic::Code::Unavailable
                        ) =>
                    {
                        &outcomes.shed
                    }
                    Ok(Err(s)) if s.code() == tonic::Code::DeadlineExceeded => &outcomes.late,
                    Err(_) => &outcomes.late,
                    Ok(Err(_)) => &outcomes.other,
                };
                counter.fetch_add(1, Ordering::Relaxed);
                in_flight.fetch_sub(1, Ordering::Relaxed);
            });
        }
    }
    let flood_secs = started.elapsed().as_secs_f64();
    let mut lease_lat = Vec::new();
    let (mut lease_errors, mut leased) = (0, 0);
    for w in workers {
        let (lat, errors, n) = w.await?;
        lease_lat.extend(lat);
        lease_errors += errors;
        leased += n;
    }
    // Let the last reads finish or pass their deadline.
    let settle = Instant::now() + Duration::from_millis(args.read_deadline_ms + 500);
    while in_flight.load(Ordering::Relaxed) > 0 && Instant::now() < settle {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let peak = match sampler {
        Some(s) => Some(s.await?),
        None => None,
    };
    lease_lat.sort();
    let mut reads = read_latency
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    reads.sort();
    let ms = |v: &[Duration], q: f64| crate::bench::pct(v, q);
    let o = &outcomes;
    println!(
        "{{\"read_rps\":{},\"reads_sent_per_s\":{:.0},\"reads_ok\":{},\"reads_shed\":{},\"reads_late\":{},\"reads_other\":{},\"reads_held_back\":{},\
         \"read_ok_p50_ms\":{:.2},\"read_ok_p99_ms\":{:.2},\"lease_calls\":{},\"leased\":{},\"lease_errors\":{},\
         \"lease_p50_ms\":{:.2},\"lease_p99_ms\":{:.2},\"lease_max_ms\":{:.2},\"server_rss_before_mib\":{},\"server_rss_peak_mib\":{}}}",
        args.read_rps,
        o.sent.load(Ordering::Relaxed) as f64 / flood_secs,
        o.ok.load(Ordering::Relaxed),
        o.shed.load(Ordering::Relaxed),
        o.late.load(Ordering::Relaxed),
        o.other.load(Ordering::Relaxed),
        o.held_back.load(Ordering::Relaxed),
        ms(&reads, 0.5),
        ms(&reads, 0.99),
        lease_lat.len(),
        leased,
        lease_errors,
        ms(&lease_lat, 0.5),
        ms(&lease_lat, 0.99),
        ms(&lease_lat, 1.0),
        rss_before.map(|k| (k / 1024).to_string()).unwrap_or_else(|| "null".into()),
        peak.map(|k| (k / 1024).to_string()).unwrap_or_else(|| "null".into()),
    );
    Ok(std::process::ExitCode::SUCCESS)
}
