//! How many of the machine's cores are free for this process's decodes:
//! all of them less those other processes keep busy (the machine's busy
//! time less this process's own, from /proc on Linux, sampled four times
//! a second by one thread per process and smoothed over about a second).
//!
//! A decode spread over two threads waits at every step for the slower
//! one; when another process holds one of the cores, that thread runs in
//! fits and the decode slows several times over (measured: a greeting
//! decoded in 566 ms alone took 4,068 ms beside a neighbour's decode), so
//! a decode then takes one thread. Where /proc cannot be read, every core
//! counts as free.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Once, OnceLock};
use std::time::{Duration, Instant};

const SAMPLE_EVERY: Duration = Duration::from_millis(250);

/// Each sample's weight in the running figure.
const SAMPLE_WEIGHT: f64 = 0.3;

/// Thousandths of a core other processes keep busy (smoothed).
static OTHERS_MILLICORES: AtomicU64 = AtomicU64::new(0);
static SAMPLER: Once = Once::new();

/// Starts the sampler (once per process; later calls do nothing).
pub fn start() {
    SAMPLER.call_once(|| {
        let spawned = std::thread::Builder::new()
            .name("cpu-neighbours".into())
            .spawn(sample_forever);
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "no CPU sampler: every core counts as free");
        }
    });
}

/// Cores free for this process: the machine's less those others keep
/// busy, rounded, at least one.
pub fn free_cores() -> usize {
    start();
    // Read once: on Linux it reads the affinity mask and cgroup limits.
    static CORES: OnceLock<usize> = OnceLock::new();
    let cores = *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let others = OTHERS_MILLICORES.load(Ordering::Relaxed) as f64 / 1000.0;
    free_of(cores, others)
}

/// `cores` less `others`, rounded, at least one.
fn free_of(cores: usize, others: f64) -> usize {
    (cores as f64 - others).round().max(1.0) as usize
}

/// Busy time of the whole machine and of this process, in clock ticks.
struct Reading {
    at: Instant,
    machine: u64,
    own: u64,
}

#[cfg(not(target_os = "linux"))]
fn read() -> Option<Reading> {
    None
}

#[cfg(not(target_os = "linux"))]
fn ticks_per_second() -> f64 {
    100.0
}

#[cfg(target_os = "linux")]
fn ticks_per_second() -> f64 {
    procfs::ticks_per_second() as f64
}

#[cfg(target_os = "linux")]
fn read() -> Option<Reading> {
    use procfs::process::Process;
    use procfs::{CurrentSI, KernelStats};
    let t = KernelStats::current().ok()?.total;
    let machine = t.user
        + t.nice
        + t.system
        + t.irq.unwrap_or(0)
        + t.softirq.unwrap_or(0)
        + t.steal.unwrap_or(0);
    let stat = Process::myself().ok()?.stat().ok()?;
    Some(Reading {
        at: Instant::now(),
        machine,
        own: stat.utime + stat.stime,
    })
}

/// Cores busy with others' work between two readings.
fn others_between(a: &Reading, b: &Reading, ticks_per_second: f64) -> f64 {
    let secs = b.at.duration_since(a.at).as_secs_f64();
    if secs <= 0.0 {
        return 0.0;
    }
    let machine = b.machine.saturating_sub(a.machine) as f64;
    let own = b.own.saturating_sub(a.own) as f64;
    ((machine - own).max(0.0) / ticks_per_second / secs).max(0.0)
}

fn sample_forever() {
    let tps = ticks_per_second();
    let Some(mut last) = read() else {
        tracing::info!("/proc unreadable: every core counts as free for decoding");
        return;
    };
    let mut smoothed = 0.0;
    loop {
        std::thread::sleep(SAMPLE_EVERY);
        let Some(now) = read() else { return };
        let others = others_between(&last, &now, tps);
        smoothed += SAMPLE_WEIGHT * (others - smoothed);
        OTHERS_MILLICORES.store((smoothed * 1000.0).round() as u64, Ordering::Relaxed);
        last = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_cores_round_and_never_reach_zero() {
        assert_eq!(free_of(2, 0.0), 2);
        assert_eq!(free_of(2, 0.4), 2);
        assert_eq!(free_of(2, 0.6), 1);
        assert_eq!(free_of(2, 1.9), 1);
        assert_eq!(free_of(2, 3.0), 1);
        assert_eq!(free_of(8, 2.2), 6);
    }

    #[test]
    fn others_are_the_machines_busy_time_less_our_own() {
        let t0 = Instant::now();
        let a = Reading {
            at: t0,
            machine: 1_000,
            own: 400,
        };
        let b = Reading {
            at: t0 + Duration::from_secs(2),
            machine: 1_300,
            own: 500,
        };
        // 300 ticks busy in 2 s, 100 of them ours: one core's worth.
        assert!((others_between(&a, &b, 100.0) - 1.0).abs() < 1e-9);
        // Our own share counted twice (a process's ticks are read after
        // the machine's): never below zero.
        let c = Reading {
            at: t0 + Duration::from_secs(2),
            machine: 1_050,
            own: 500,
        };
        assert_eq!(others_between(&a, &c, 100.0), 0.0);
    }

    /// A real neighbour: a child process spinning on one core is seen.
    #[test]
    fn a_spinning_neighbour_process_takes_a_core() {
        if read().is_none() {
            eprintln!("no /proc here: skipped");
            return;
        }
        let mut child = std::process::Command::new("sh")
            .args(["-c", "while :; do :; done"])
            .spawn()
            .expect("sh");
        let a = read().unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        let b = read().unwrap();
        let _ = child.kill();
        let _ = child.wait();
        let others = others_between(&a, &b, ticks_per_second());
        assert!(
            others > 0.6,
            "the spinning shell was not seen: {others:.2} cores"
        );
    }
}
