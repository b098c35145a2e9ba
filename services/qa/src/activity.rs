//! Who spoke when: both sides at once (talk-over, through either side's
//! breaths), no one at all (long silences in the middle of a call), and
//! each side's share of the talk.

use crate::config::QaConfig;
use crate::flag::{Flag, FlagKind, Speaker};
use serde::Serialize;

/// Spans of speech (start, end) in ms, sorted, not overlapping.
pub type Spans = Vec<(u64, u64)>;

/// A side's pause shorter than this does not end its turn: someone who
/// talks over a speaker drawing breath still talks over them.
pub const BREATH_MS: u64 = 300;

/// Sorts spans and joins those less than `bridge` ms apart.
pub fn merged(mut spans: Spans, bridge: u64) -> Spans {
    spans.retain(|(a, b)| b > a);
    spans.sort_unstable();
    let mut out: Spans = Vec::with_capacity(spans.len());
    for (a, b) in spans {
        match out.last_mut() {
            Some(last) if a <= last.1 || a - last.1 < bridge => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

fn total(spans: &Spans) -> u64 {
    spans.iter().map(|(a, b)| b - a).sum()
}

/// Where both sides speak at once.
fn overlaps(agent: &Spans, debtor: &Spans) -> Vec<(u64, u64, Speaker)> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < agent.len() && j < debtor.len() {
        let (a, d) = (agent[i], debtor[j]);
        let (start, end) = (a.0.max(d.0), a.1.min(d.1));
        if start < end {
            // Who cut in: the one who started while the other was talking.
            let by = if d.0 >= a.0 {
                Speaker::Debtor
            } else {
                Speaker::Agent
            };
            out.push((start, end, by));
        }
        if a.1 <= d.1 {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// Talk measurements of a call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Talk {
    pub agent_ms: u64,
    pub debtor_ms: u64,
    /// Agent's share of all talk (0 when no one spoke).
    pub agent_share: f32,
    pub overlap_ms: u64,
    /// Longest time no one spoke between the first and last words.
    pub longest_silence_ms: u64,
}

/// Talk-over and long-silence flags, and the talk measurements.
pub fn check(agent: &Spans, debtor: &Spans, config: &QaConfig) -> (Vec<Flag>, Talk) {
    let (agent, debtor) = (merged(agent.clone(), 0), merged(debtor.clone(), 0));
    let mut flags = Vec::new();
    let both = overlaps(&agent, &debtor);
    let turns = overlaps(
        &merged(agent.clone(), BREATH_MS),
        &merged(debtor.clone(), BREATH_MS),
    );
    for &(start, end, by) in &turns {
        // From where both first speak to where both last speak in it.
        let inside = both.iter().filter(|(a, b, _)| *a >= start && *b <= end);
        let Some(start) = inside.clone().map(|o| o.0).min() else {
            continue;
        };
        let end = inside.map(|o| o.1).max().unwrap_or(start);
        if end - start >= config.talk_over_ms {
            flags.push(Flag {
                kind: FlagKind::TalkOver,
                speaker: by,
                start_ms: start,
                end_ms: end,
                evidence: format!(
                    "both sides spoke at once for {:.1} s; the {by} cut in",
                    (end - start) as f64 / 1000.0
                ),
                rule: "talk_over_ms".into(),
                voice: None,
            });
        }
    }
    let anyone = merged(agent.iter().chain(&debtor).copied().collect(), 0);
    let mut longest = 0;
    for pair in anyone.windows(2) {
        let (start, end) = (pair[0].1, pair[1].0);
        longest = longest.max(end - start);
        if end - start >= config.long_silence_ms {
            flags.push(Flag {
                kind: FlagKind::LongSilence,
                speaker: Speaker::Agent,
                start_ms: start,
                end_ms: end,
                evidence: format!("no one spoke for {:.1} s", (end - start) as f64 / 1000.0),
                rule: "long_silence_ms".into(),
                voice: None,
            });
        }
    }
    let (a, d) = (total(&agent), total(&debtor));
    let talk = Talk {
        agent_ms: a,
        debtor_ms: d,
        agent_share: if a + d == 0 {
            0.0
        } else {
            a as f32 / (a + d) as f32
        },
        overlap_ms: both.iter().map(|(s, e, _)| e - s).sum(),
        longest_silence_ms: longest,
    };
    (flags, talk)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn talk_over_needs_the_threshold_and_names_who_cut_in() {
        let c = QaConfig::default();
        let agent = vec![(0, 5000), (10_000, 12_000)];
        let debtor = vec![(3400, 7000), (11_000, 12_400)];
        let (flags, talk) = check(&agent, &debtor, &c);
        let over: Vec<_> = flags
            .iter()
            .filter(|f| f.kind == FlagKind::TalkOver)
            .collect();
        assert_eq!(over.len(), 1, "{flags:?}");
        assert_eq!((over[0].start_ms, over[0].end_ms), (3400, 5000));
        assert_eq!(over[0].speaker, Speaker::Debtor);
        assert_eq!(talk.overlap_ms, 1600 + 1000);
        assert_eq!(talk.agent_ms, 7000);
        // A breath in the middle of the talk-over does not end it.
        let (flags, _) = check(&vec![(0, 5000)], &vec![(3000, 3800), (4000, 6000)], &c);
        assert_eq!(flags.len(), 1, "{flags:?}");
        assert_eq!((flags[0].start_ms, flags[0].end_ms), (3000, 5000));
        let (flags, _) = check(&vec![(0, 5000)], &vec![(3000, 3800), (4200, 6000)], &c);
        assert!(flags.is_empty(), "{flags:?}");
    }

    #[test]
    fn a_silence_counts_only_between_words_and_from_the_threshold() {
        let c = QaConfig::default();
        // 8 s of silence before anyone speaks and after the last words are
        // not in the middle of the call.
        let agent = vec![(8000, 9000), (18_000, 19_000), (26_900, 27_000)];
        let debtor = vec![(9500, 10_000)];
        let (flags, talk) = check(&agent, &debtor, &c);
        let silences: Vec<_> = flags
            .iter()
            .filter(|f| f.kind == FlagKind::LongSilence)
            .collect();
        assert_eq!(silences.len(), 1, "{flags:?}");
        assert_eq!((silences[0].start_ms, silences[0].end_ms), (10_000, 18_000));
        // 7.9 s is not long.
        assert_eq!(talk.longest_silence_ms, 8000);
    }

    proptest! {
        #[test]
        fn flags_are_exactly_the_long_overlaps_and_gaps(
            a in proptest::collection::vec((0u64..60_000, 1u64..6000), 0..12),
            d in proptest::collection::vec((0u64..60_000, 1u64..6000), 0..12),
        ) {
            let c = QaConfig::default();
            let agent: Spans = a.iter().map(|(s, l)| (*s, s + l)).collect();
            let debtor: Spans = d.iter().map(|(s, l)| (*s, s + l)).collect();
            let (flags, talk) = check(&agent, &debtor, &c);
            // By brute force, 1 ms at a time.
            let end = 70_000usize;
            let mut on = vec![[false; 2]; end];
            for (k, spans) in [&agent, &debtor].into_iter().enumerate() {
                for (s, e) in spans { for t in *s..*e { on[t as usize][k] = true; } }
            }
            let both_ms = on.iter().filter(|x| x[0] && x[1]).count() as u64;
            prop_assert_eq!(talk.overlap_ms, both_ms);
            for f in &flags {
                let span = f.start_ms as usize..f.end_ms as usize;
                match f.kind {
                    FlagKind::TalkOver => {
                        prop_assert!(f.end_ms - f.start_ms >= c.talk_over_ms);
                        // Both spoke at its ends, and neither paused a
                        // breath's length or more within it.
                        prop_assert!(on[f.start_ms as usize][0] && on[f.start_ms as usize][1]);
                        for k in 0..2 {
                            let quiet = on[span.clone()].split(|x| x[k]).map(|run| run.len() as u64).max().unwrap_or(0);
                            prop_assert!(quiet < BREATH_MS, "side {} quiet {} ms in {:?}", k, quiet, f);
                        }
                    }
                    FlagKind::LongSilence => {
                        prop_assert!(f.end_ms - f.start_ms >= c.long_silence_ms);
                        prop_assert!(on[span].iter().all(|x| !x[0] && !x[1]));
                        prop_assert!(on[..f.start_ms as usize].iter().any(|x| x[0] || x[1]));
                        prop_assert!(on[f.end_ms as usize..].iter().any(|x| x[0] || x[1]));
                    }
                    _ => prop_assert!(false, "unexpected {:?}", f.kind),
                }
            }
            // Every long gap between words is flagged.
            let spoken: Vec<usize> = (0..end).filter(|t| on[*t][0] || on[*t][1]).collect();
            let gaps = spoken.windows(2).filter(|w| (w[1] - w[0] - 1) as u64 >= c.long_silence_ms).count();
            prop_assert_eq!(flags.iter().filter(|f| f.kind == FlagKind::LongSilence).count(), gaps);
        }
    }
}
