//! Hearing a short turn as one of the answers the robot expects.
//!
//! Problem: half a second of speech gives the recognizer little to go on.
//! Decoding freely, it writes a debtor's 是我 as 你我 or 请问 and a 对 at
//! the read-back as 账单, unsure of every word, and the robot asks again
//! until it gives up. Yet at that moment the robot knows what it asked and
//! which few answers are likely (the pack's `[asr.expect]` for the stage),
//! as a telephone system's yes/no grammar does.
//!
//! Mechanism: after the free decode of a turn of at most
//! [`MAX_ANSWER_MS`], the recognizer's decoder, on the same encoded audio
//! after the same prompt, scores every expected answer and the free
//! reading itself: the total log-probability of the reading's tokens and
//! of its end (the end of text, or a full stop), over text tokens and the
//! end only. The answers share their common beginnings in a trie, so each
//! token is decoded once ([`score`]). The likeliest reading wins
//! ([`choose`]); an expected answer replaces the free reading only when it
//! is likelier than the free reading, and its share of the probability of
//! all the readings scored becomes the turn's confidence.
//!
//! Guarantees: the text is the free reading or an expected answer as the
//! pack writes it, never a mix; the confidence gate (`[understanding]`)
//! still decides whether the robot acts, on the chosen reading's share.
//! Longer turns and turns with no expected answers are decoded as before.
//! Measured (docs/benchmarks.md, "Short answers"): more two-syllable
//! answers understood, but also more acted on wrongly, so it is off by
//! default (`[speech] hear_answers`).

use super::Hypothesis;
use std::collections::BTreeMap;

/// Turns longer than this (audio decoded, lead and tail included) are
/// sentences, not short answers: they are not scored.
pub const MAX_ANSWER_MS: u64 = 2_000;

/// What comes next after the tokens decoded so far, as log-probabilities
/// by token id (text tokens and the end of text; others at -inf).
pub trait NextTokens {
    /// Decodes `tokens`, placed after the first `n_past` tokens of the
    /// sequence (anything decoded beyond `n_past` before is forgotten),
    /// and returns the log-probabilities of the token after them.
    fn next(&mut self, tokens: &[i32], n_past: usize) -> Result<Vec<f32>, String>;
}

/// A reading to score: its text and its tokens.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub text: String,
    pub tokens: Vec<i32>,
}

#[derive(Default)]
struct Node {
    children: BTreeMap<i32, Node>,
    /// Candidates (by index) ending here.
    ends: Vec<usize>,
}

/// The total log-probability of every candidate after `prefix` (its
/// tokens, then the likelier of the `ends` tokens), in the candidates'
/// order. Candidates with no tokens score -inf.
pub fn score(
    decoder: &mut impl NextTokens,
    prefix: &[i32],
    candidates: &[Candidate],
    ends: &[i32],
) -> Result<Vec<f32>, String> {
    let mut root = Node::default();
    for (i, c) in candidates.iter().enumerate() {
        if c.tokens.is_empty() {
            continue;
        }
        let mut node = &mut root;
        for t in &c.tokens {
            node = node.children.entry(*t).or_default();
        }
        node.ends.push(i);
    }
    let mut scores = vec![f32::NEG_INFINITY; candidates.len()];
    if root.children.is_empty() {
        return Ok(scores);
    }
    let after_prefix = decoder.next(prefix, 0)?;
    walk(
        decoder,
        &root,
        &after_prefix,
        prefix.len(),
        0.0,
        ends,
        &mut scores,
    )?;
    Ok(scores)
}

/// Scores the candidates below `node`, whose next-token log-probabilities
/// are `next`; the path to it ends at sequence position `pos` and sums
/// `sum`.
fn walk(
    decoder: &mut impl NextTokens,
    node: &Node,
    next: &[f32],
    pos: usize,
    sum: f32,
    ends: &[i32],
    scores: &mut [f32],
) -> Result<(), String> {
    let logprob = |t: i32| {
        usize::try_from(t)
            .ok()
            .and_then(|i| next.get(i).copied())
            .unwrap_or(f32::NEG_INFINITY)
    };
    if !node.ends.is_empty() {
        let end = ends
            .iter()
            .map(|e| logprob(*e))
            .fold(f32::NEG_INFINITY, f32::max);
        for i in &node.ends {
            scores[*i] = sum + end;
        }
    }
    for (token, child) in &node.children {
        let lp = logprob(*token);
        if !lp.is_finite() {
            // A token the model cannot say here: nothing below it scores.
            continue;
        }
        let after = decoder.next(&[*token], pos)?;
        walk(decoder, child, &after, pos + 1, sum + lp, ends, scores)?;
    }
    Ok(())
}

/// The answer to act on instead of the free reading (`free`, with total
/// log-probability `free_total`; empty when nothing was heard), given
/// the expected answers' totals: the likeliest answer when it is likelier
/// than the free reading, with its share of the probability of all of
/// them (free reading included) as its score (a log). None keeps the free
/// reading.
pub fn choose(free: &str, free_total: f32, answers: &[Hypothesis]) -> Option<Hypothesis> {
    let best = answers
        .iter()
        .filter(|a| a.score.is_finite())
        .max_by(|a, b| a.score.total_cmp(&b.score))?;
    let free_total = if free.trim().is_empty() {
        f32::NEG_INFINITY
    } else {
        free_total
    };
    if best.score <= free_total || best.text == free {
        return None;
    }
    let all = answers
        .iter()
        .map(|a| a.score)
        .chain(std::iter::once(free_total))
        .filter(|s| s.is_finite())
        .map(|s| f64::from(s - best.score).exp())
        .sum::<f64>();
    Some(Hypothesis {
        text: best.text.clone(),
        score: -(all.ln() as f32),
    })
}

/// Natural log-softmax of `logits` over the first `upto` tokens (text and
/// the end of text); later ones (timestamps, task tokens) get -inf.
pub fn log_softmax_upto(logits: &[f32], upto: usize) -> Vec<f32> {
    let n = upto.min(logits.len());
    let max = logits[..n]
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = logits[..n].iter().map(|l| f64::from(l - max).exp()).sum();
    let lse = max + sum.ln() as f32;
    let mut out: Vec<f32> = logits[..n].iter().map(|l| l - lse).collect();
    out.resize(logits.len(), f32::NEG_INFINITY);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// A decoder whose next-token probabilities are given per path, with
    /// a count of the tokens it was asked to decode.
    struct Table {
        probs: HashMap<Vec<i32>, Vec<(i32, f32)>>,
        path: Vec<i32>,
        decoded: usize,
    }

    const VOCAB: usize = 10;
    const EOT: i32 = 9;
    const STOP: i32 = 8;

    impl NextTokens for Table {
        fn next(&mut self, tokens: &[i32], n_past: usize) -> Result<Vec<f32>, String> {
            self.path.truncate(n_past);
            self.path.extend_from_slice(tokens);
            self.decoded += tokens.len();
            let mut out = vec![(1e-4f32).ln(); VOCAB];
            for (t, p) in self.probs.get(&self.path).cloned().unwrap_or_default() {
                out[t as usize] = p.ln();
            }
            Ok(out)
        }
    }

    /// A path and the (token, probability) pairs that may follow it.
    type Row<'a> = (&'a [i32], &'a [(i32, f32)]);

    fn table(rows: &[Row]) -> Table {
        Table {
            probs: rows.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect(),
            path: Vec::new(),
            decoded: 0,
        }
    }

    fn cand(text: &str, tokens: &[i32]) -> Candidate {
        Candidate {
            text: text.into(),
            tokens: tokens.to_vec(),
        }
    }

    #[test]
    fn each_answer_is_scored_by_its_tokens_and_its_end_sharing_beginnings() {
        // Prefix [7]; "是我" = [1, 2], "是的" = [1, 3], "不是" = [4, 1].
        let mut d = table(&[
            (&[7], &[(1, 0.6), (4, 0.2)]),
            (&[7, 1], &[(2, 0.5), (3, 0.3)]),
            (&[7, 1, 2], &[(EOT, 0.4), (STOP, 0.5)]),
            (&[7, 1, 3], &[(EOT, 0.1)]),
            (&[7, 4], &[(1, 0.9)]),
            (&[7, 4, 1], &[(EOT, 0.9)]),
        ]);
        let cands = [
            cand("是我", &[1, 2]),
            cand("是的", &[1, 3]),
            cand("不是", &[4, 1]),
        ];
        let s = score(&mut d, &[7], &cands, &[EOT, STOP]).unwrap();
        let close = |a: f32, b: f32| (a - b).abs() < 1e-4;
        // The full stop is the likelier end after 是我.
        assert!(close(s[0], (0.6f32 * 0.5 * 0.5).ln()));
        assert!(close(s[1], (0.6f32 * 0.3 * 0.1).ln()));
        assert!(close(s[2], (0.2f32 * 0.9 * 0.9).ln()));
        // The prefix once, then one token per trie node: 1, 2, 3, 4, 1.
        assert_eq!(d.decoded, 1 + 5);
    }

    #[test]
    fn a_candidate_without_tokens_scores_nothing_and_decodes_nothing() {
        let mut d = table(&[]);
        let s = score(&mut d, &[7], &[cand("", &[])], &[EOT]).unwrap();
        assert_eq!(s, vec![f32::NEG_INFINITY]);
        assert_eq!(d.decoded, 0);
    }

    fn h(text: &str, score: f32) -> Hypothesis {
        Hypothesis {
            text: text.into(),
            score,
        }
    }

    #[test]
    fn an_answer_replaces_the_free_reading_only_when_it_is_likelier() {
        let answers = [h("是我", -3.0), h("不是", -5.0)];
        // 你我 for 是我: the answer is likelier; its share of the three.
        let chosen = choose("你我", -4.0, &answers).unwrap();
        assert_eq!(chosen.text, "是我");
        let share = 1.0 / (1.0 + (-1.0f32).exp() + (-2.0f32).exp());
        assert!((chosen.score.exp() - share).abs() < 1e-4);
        // The free reading is likelier: it stays.
        assert_eq!(choose("我是他朋友", -2.0, &answers), None);
        // Nothing heard freely: the likeliest answer, to be judged by its
        // share of the answers alone.
        let alone = choose("", 0.0, &answers).unwrap();
        assert_eq!(alone.text, "是我");
        assert!((alone.score.exp() - 1.0 / (1.0 + (-2.0f32).exp())).abs() < 1e-4);
        // The same words: nothing changes.
        assert_eq!(choose("是我", -3.5, &answers), None);
        assert_eq!(choose("你我", -1.0, &[]), None);
    }

    #[test]
    fn answers_equally_likely_leave_the_turn_unsure() {
        // Audio that fits nothing: every answer about as unlikely as the
        // next, so the chosen one's share stays below the gate's 0.4.
        let answers = [h("是我", -9.0), h("不是", -9.1), h("对", -9.05)];
        let chosen = choose("", 0.0, &answers).unwrap();
        assert!(chosen.score.exp() < 0.4, "{}", chosen.score.exp());
    }

    #[test]
    fn log_softmax_covers_only_the_tokens_asked_for() {
        let lp = log_softmax_upto(&[1.0, 1.0, 50.0], 2);
        assert!((lp[0] - 0.5f32.ln()).abs() < 1e-6);
        assert!((lp[1] - 0.5f32.ln()).abs() < 1e-6);
        assert_eq!(lp[2], f32::NEG_INFINITY);
    }
}
