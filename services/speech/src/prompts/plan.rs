//! Covering a sentence with recordings: which recording says which part,
//! what is left to the synthesized voice, and where the pauses go.

use super::{Kind, PromptPack};
use crate::tts::spoken::to_spoken;

/// One part of a sentence as it will be played.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    /// The pack's recording with this index.
    Recorded(usize),
    /// Words no recording says, for the synthesized voice.
    Synthesized(String),
    /// Quiet where the text has punctuation, in ms.
    Pause(u32),
}

/// Pause after a comma-like mark.
pub const COMMA_PAUSE_MS: u32 = 150;
/// Pause after a full stop, question or exclamation inside a sentence.
pub const STOP_PAUSE_MS: u32 = 300;

/// How long a punctuation mark pauses (`None`: the character is said).
pub fn pause_ms(c: char) -> Option<u32> {
    match c {
        '，' | ',' | '、' | '：' | ':' | '；' | ';' => Some(COMMA_PAUSE_MS),
        '。' | '！' | '？' | '!' | '?' | '…' | '.' => Some(STOP_PAUSE_MS),
        '“' | '”' | '"' | '‘' | '’' | '\'' | '《' | '》' | '（' | '）' | '(' | ')' | '—' | '-'
        | '～' | '~' | '·' => Some(0),
        c if c.is_whitespace() => Some(0),
        _ => None,
    }
}

/// Characters numbers, amounts and dates are read with.
const NUMERALS: &str = "零〇一二三四五六七八九十百千万亿两";
/// Characters said after a number (元, 月, 点...): part of it there.
const UNITS: &str = "元角分块毛月日号点半天年";

/// Every character a piece may say.
pub fn is_number_char(c: char) -> bool {
    NUMERALS.contains(c) || UNITS.contains(c)
}

/// Which characters of `said` belong to a number, amount, date or time:
/// runs that start with a numeral and go on with numerals and units
/// (十二月三日, 三千五百元), unbroken by punctuation, with at least two
/// numerals or a unit (一下 and 一起 are words, not numbers).
fn numbers(said: &[char], pause: &[u32]) -> Vec<bool> {
    let n = said.len();
    let mut out = vec![false; n];
    let mut i = 0;
    while i < n {
        if !NUMERALS.contains(said[i]) {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        while j < n && pause[j] == 0 && is_number_char(said[j]) {
            j += 1;
        }
        let numerals = said[i..j].iter().filter(|c| NUMERALS.contains(**c)).count();
        if numerals >= 2 || j - i > numerals {
            out[i..j].iter_mut().for_each(|b| *b = true);
        }
        i = j;
    }
    out
}

/// Cost of a way to say a sentence: synthesized characters first (the
/// fewer the more human), then parts (the fewer the fewer joins).
type Cost = (usize, usize);

#[derive(Clone, Copy)]
enum Step {
    Synth,
    Rec(usize),
}

impl PromptPack {
    /// How `sentence` is said with this pack (numbers in it read out as
    /// the synthesized voice would). Recordings cover as much as they can:
    /// a recording is used where its text occurs whole, never across a
    /// punctuation mark; a piece only inside a number, amount, date or
    /// time. Whatever is left is synthesized, a run at a time.
    pub fn plan(&self, sentence: &str) -> Vec<Part> {
        let spoken = to_spoken(sentence);
        let mut said: Vec<char> = Vec::new();
        // pause[i]: the pause between said[i - 1] and said[i].
        let mut pause: Vec<u32> = Vec::new();
        let mut pending = 0u32;
        for c in spoken.chars() {
            match pause_ms(c) {
                Some(ms) => pending = pending.max(ms),
                None => {
                    pause.push(if said.is_empty() { 0 } else { pending });
                    said.push(c);
                    pending = 0;
                }
            }
        }
        let n = said.len();
        let number = numbers(&said, &pause);
        let joined = |from: usize, to: usize| (from + 1..to).all(|k| pause[k] == 0);

        // best[i][s]: cheapest way to say said[..i]; s = 1 when its last
        // part is a synthesized run that said[i] may continue.
        const NONE: Cost = (usize::MAX, usize::MAX);
        let mut best = vec![[NONE; 2]; n + 1];
        let mut back: Vec<[Option<(usize, usize, Step)>; 2]> = vec![[None; 2]; n + 1];
        best[0][0] = (0, 0);
        for i in 0..n {
            for s in 0..2 {
                let (synth, parts) = best[i][s];
                if synth == usize::MAX {
                    continue;
                }
                let continues = s == 1 && pause[i] == 0;
                let cost = (synth + 1, parts + usize::from(!continues));
                if cost < best[i + 1][1] {
                    best[i + 1][1] = cost;
                    back[i + 1][1] = Some((i, s, Step::Synth));
                }
                for &r in self.by_first.get(&said[i]).into_iter().flatten() {
                    let key = &self.keys[r];
                    let end = i + key.len();
                    if end > n || said[i..end] != key[..] || !joined(i, end) {
                        continue;
                    }
                    if self.recordings[r].kind == Kind::Piece && !number[i..end].iter().all(|&b| b)
                    {
                        continue;
                    }
                    let cost = (synth, parts + 1);
                    if cost < best[end][0] {
                        best[end][0] = cost;
                        back[end][0] = Some((i, s, Step::Rec(r)));
                    }
                }
            }
        }
        let mut steps = Vec::new();
        let (mut i, mut s) = if best[n][0] <= best[n][1] {
            (n, 0)
        } else {
            (n, 1)
        };
        while i > 0 {
            let Some((from, prev, step)) = back[i][s] else {
                break;
            };
            steps.push((from, step));
            i = from;
            s = prev;
        }
        steps.reverse();

        let mut out: Vec<Part> = Vec::new();
        for (from, step) in steps {
            if from > 0 && pause[from] > 0 {
                out.push(Part::Pause(pause[from]));
            }
            match step {
                Step::Rec(r) => out.push(Part::Recorded(r)),
                Step::Synth => match out.last_mut() {
                    Some(Part::Synthesized(run)) => run.push(said[from]),
                    _ => out.push(Part::Synthesized(said[from].to_string())),
                },
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompts::Recording;
    use huikuan_core::Dialect;

    fn pack(items: &[(Kind, &str)]) -> PromptPack {
        PromptPack::new(
            Dialect::Mandarin,
            items
                .iter()
                .map(|(k, t)| Recording::new(t, *k, t, vec![0.1; 160]))
                .collect(),
        )
    }

    fn show(p: &PromptPack, parts: &[Part]) -> String {
        parts
            .iter()
            .map(|part| match part {
                Part::Recorded(i) => format!("[{}]", p.recording(*i).text),
                Part::Synthesized(t) => format!("<{t}>"),
                Part::Pause(ms) => format!("/{ms}"),
            })
            .collect::<Vec<_>>()
            .join("")
    }

    fn digits_and_units() -> Vec<(Kind, &'static str)> {
        "零一二三四五六七八九十百千万两元角月日"
            .chars()
            .map(|c| (Kind::Piece, &*String::from(c).leak()))
            .collect()
    }

    #[test]
    fn a_line_is_said_by_its_phrases_with_the_amount_and_date_from_pieces() {
        let mut items = vec![
            (Kind::Line, "好的"),
            (Kind::Line, "和您确认一下"),
            (Kind::Line, "您在"),
            (Kind::Line, "还款"),
            (Kind::Line, "对吗"),
        ];
        items.extend(digits_and_units());
        let p = pack(&items);
        let parts = p.plan("好的，和您确认一下：您在十二月三日还款三千二百五十元，对吗？");
        assert_eq!(
            show(&p, &parts),
            "[好的]/150[和您确认一下]/150[您在][十][二][月][三][日][还款]\
             [三][千][二][百][五][十][元]/150[对吗]"
        );
        // Digits are read out first, as the synthesized voice reads them.
        let parts = p.plan("您在12月3日还款，对吗？");
        assert_eq!(
            show(&p, &parts),
            "[您在][十][二][月][三][日][还款]/150[对吗]"
        );
    }

    #[test]
    fn longer_recordings_win_and_pieces_stay_inside_numbers() {
        let mut items = vec![(Kind::Line, "确认"), (Kind::Piece, "十二月")];
        items.extend(digits_and_units());
        let p = pack(&items);
        // 一 is a piece, so 确认一下 is not said as 确认 + 一 + <下>.
        assert_eq!(show(&p, &p.plan("确认一下")), "[确认]<一下>");
        assert_eq!(show(&p, &p.plan("十二月一日")), "[十二月][一][日]");
        // 日 after a word is not a date.
        assert_eq!(show(&p, &p.plan("生日")), "<生日>");
        assert_eq!(show(&p, &p.plan("一起还三元")), "<一起还>[三][元]");
    }

    #[test]
    fn names_are_synthesized_as_one_run_and_recordings_never_cross_punctuation() {
        let p = pack(&[
            (Kind::Line, "请问您是"),
            (Kind::Line, "本人吗"),
            (Kind::Line, "好的再见"),
        ]);
        assert_eq!(
            show(&p, &p.plan("请问您是张伟本人吗？")),
            "[请问您是]<张伟>[本人吗]"
        );
        // 好的，再见 has a comma where the recording has none.
        assert_eq!(show(&p, &p.plan("好的，再见。")), "<好的>/150<再见>");
        // Nothing recorded: the sentence goes to the voice as it is.
        assert_eq!(show(&p, &p.plan("这是什么？")), "<这是什么>");
        assert!(p.plan("。").is_empty());
    }
}
