//! Personas, one TOML file each, picked by the number dialed:
//!
//! ```toml
//! number = "13800000001"
//! dialect = "sichuanese"
//! answer = "answer"        # answer | busy | no_answer | reject | announcement | early_announcement
//! reject_code = 404        # with answer = "reject"
//! announcement = "您拨打的电话已关机"
//! ring_ms = 800
//! greeting = "喂？"         # said on answer, before the robot speaks
//! listen = "live"          # or "after_call": take turns on end of speech only
//!                          # and recognise what was heard after the call
//!                          # (load tests; the persona cannot be asked to repeat)
//! max_call_s = 180         # the phone hangs up after this long at most
//! presses_keys = false     # offered keys ("是本人请按1"), this debtor
//!                          # still answers aloud (default: a yes or no
//!                          # answer is pressed, when a menu is heard)
//! line = { echo_delay_ms = 100, echo_db = -12, noise_dbfs = -60 }
//!                          # the phone's line sends back the robot's voice
//!                          # this much later and quieter, and hisses
//! voice = { speed = 0.85, pitch = 1.2 }  # slower and higher than the
//!                          # dialect's voice (0.5 to 2)
//! expect = { disposition = "promise_to_pay", date = "下周三", amount = "3000" }
//!                          # what the call should end with (a campaign
//!                          # bench scores it): the date in words meant on
//!                          # the day of the call, the amount in yuan
//!
//! [[turns]]
//! say = "是我，啥子事嘛？"   # the reply after the robot's line ("" = stay silent)
//! barge_in_ms = 1500       # or: cut in this long after the robot starts
//! hangup_ms = 1000         # or: hang up this long after the robot starts
//!
//! [[turns]]
//! say = "好的，我五号还。"
//! after_heard = ["经理", "客服"]  # only once a line heard contains one of
//!                          # these (an agent who took the call over);
//!                          # lines before it get no answer
//!
//! [[turns]]
//! say = "对，没问题。"
//! correction = "不对，是下周三。"  # a read-back is checked: when the date
//!                          # heard is not the one these words mean (on
//!                          # the day of the call), they are said instead
//!                          # of `say`, at most twice, as a debtor would
//! ```

use chrono::NaiveDate;
use huikuan_core::Dialect;
use huikuan_dialogue::slots::number::parse_hundredths;
use huikuan_dialogue::slots::resolve_date;
use huikuan_dialogue::{Intent, Nlu};
use huikuan_speech::tts::VoiceStyle;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    #[default]
    Answer,
    Busy,
    NoAnswer,
    Reject,
    /// Answered, then a recording plays (voicemail, a carrier message).
    Announcement,
    /// A carrier message as early media (183) before any answer.
    EarlyAnnouncement,
}

/// When the simulated phone recognises what the robot says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Listen {
    /// During the call (the persona can be asked to repeat itself).
    #[default]
    Live,
    /// After the call: during it, only where the robot's lines end is
    /// found, so a load test's phones take little of the machine.
    AfterCall,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PersonaTurn {
    #[serde(default)]
    pub say: String,
    #[serde(default)]
    pub barge_in_ms: Option<u64>,
    #[serde(default)]
    pub hangup_ms: Option<u64>,
    /// Said only in answer to a line containing one of these; what is
    /// heard before that gets no answer.
    #[serde(default)]
    pub after_heard: Vec<String>,
    /// Said instead of `say` when the robot's read-back names another
    /// date than these words mean.
    #[serde(default)]
    pub correction: Option<String>,
}

/// How often a persona corrects a read-back before it lets it stand.
pub const MAX_CORRECTIONS: usize = 2;

impl PersonaTurn {
    /// Whether this turn answers `heard`.
    pub fn answers(&self, heard: &str) -> bool {
        self.after_heard.is_empty() || self.after_heard.iter().any(|w| heard.contains(w.as_str()))
    }

    /// The correction to say to a read-back heard as `heard` on `today`,
    /// unless some part of it names the date the correction means (the
    /// robot says the date and then its day, "十二月二日，下周三": either
    /// heard right will do). A read-back with no date made out is
    /// corrected too: a person who did not catch it says it again.
    pub fn correction_for(&self, heard: &str, dialect: Dialect, today: NaiveDate) -> Option<&str> {
        let correction = self.correction.as_deref()?;
        let meant = date_in(correction, dialect, today)?;
        let heard_right = heard
            .split(|c: char| "，,。.？?：:、；; ".contains(c))
            .any(|part| date_in(part, dialect, today) == Some(meant));
        (!heard_right).then_some(correction)
    }
}

/// The date named in `text` said in `dialect` (听日, 下礼拜五 as well as
/// 明天, 下周五), as the robot's own NLU reads it.
fn date_in(text: &str, dialect: Dialect, today: NaiveDate) -> Option<NaiveDate> {
    robots_nlu().understand(text, dialect, today).date
}

/// The robot's own NLU, which the simulated debtor reads its own words
/// with (to know what it means by them).
fn robots_nlu() -> &'static Nlu {
    static NLU: std::sync::OnceLock<Nlu> = std::sync::OnceLock::new();
    NLU.get_or_init(Nlu::builtin)
}

/// A day to check that words name a date at all, when the file is loaded.
fn any_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 1, 5).unwrap_or_default()
}

/// What a persona's call should end with.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    pub disposition: String,
    /// A promise's date, in the debtor's words (下周三), meant on the day
    /// of the call.
    #[serde(default)]
    pub date: Option<String>,
    /// A promise's amount in yuan, as recorded.
    #[serde(default)]
    pub amount: Option<String>,
}

/// An [`Expectation`] on the day of the call, as the simulator writes it
/// into its record of the call.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ExpectedOutcome {
    pub disposition: String,
    pub promise_date: Option<NaiveDate>,
    /// In fen.
    pub promise_fen: Option<i64>,
}

impl Expectation {
    fn check(&self) -> Result<(), String> {
        self.disposition
            .parse::<huikuan_core::Disposition>()
            .map_err(|e| format!("expect.disposition: {e}"))?;
        if let Some(d) = &self.date {
            resolve_date(d, any_day())
                .ok_or_else(|| format!("expect.date: '{d}' is not a date"))?;
        }
        if let Some(a) = &self.amount {
            parse_hundredths(a).ok_or_else(|| format!("expect.amount: '{a}' is not yuan"))?;
        }
        Ok(())
    }

    /// What this means on `today`.
    pub fn on(&self, today: NaiveDate) -> ExpectedOutcome {
        ExpectedOutcome {
            disposition: self.disposition.clone(),
            promise_date: self.date.as_deref().and_then(|d| resolve_date(d, today)),
            promise_fen: self
                .amount
                .as_deref()
                .and_then(parse_hundredths)
                .map(|h| h as i64),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Persona {
    #[serde(default)]
    pub name: String,
    pub number: String,
    pub dialect: String,
    #[serde(default)]
    pub answer: Answer,
    #[serde(default)]
    pub reject_code: Option<u16>,
    #[serde(default)]
    pub announcement: Option<String>,
    #[serde(default = "default_ring")]
    pub ring_ms: u64,
    #[serde(default)]
    pub greeting: Option<String>,
    /// The language the persona actually speaks when it differs from the
    /// account's dialect (a Cantonese account answered in Mandarin).
    #[serde(default)]
    pub speaks: Option<String>,
    #[serde(default)]
    pub listen: Listen,
    /// Echo and noise this phone's line adds.
    #[serde(default)]
    pub line: Option<crate::media::LineSimulation>,
    /// The phone hangs up after this long on a call (default 180 s; a
    /// bridged call in a load test lasts longer).
    #[serde(default)]
    pub max_call_s: Option<u64>,
    /// How this debtor's voice differs from the dialect's.
    #[serde(default)]
    pub voice: Option<PersonaVoice>,
    /// Offered keys for a yes or no, this debtor presses them.
    #[serde(default = "pressing")]
    pub presses_keys: bool,
    /// What the call should end with.
    #[serde(default)]
    pub expect: Option<Expectation>,
    #[serde(default)]
    pub turns: Vec<PersonaTurn>,
}

fn pressing() -> bool {
    true
}

/// The keys a robot's line offers, as the phone heard it ("是本人请按1号键，
/// 不是请按2号键"): each key, and whether the clause offering it is the no
/// (不是, 唔系, 不对, 修改 ...). A key is a digit after 按 (or 揿), or a
/// digit before 号键, which the phone's recognizer keeps when it loses the
/// 按 (it writes 爱一号件).
pub fn offered_keys(heard: &str) -> Vec<(char, bool)> {
    // 按 (and what a recognizer writes for it, 安, 案, 暗), Cantonese 揿/撳.
    const PRESS: &[char] = &['按', '安', '案', '暗', '揿', '撳'];
    // 键 as a recognizer writes it.
    const KEY: &[char] = &['键', '件', '建', '见', '间', '健'];
    const NO: &[&str] = &["不是", "唔系", "唔係", "不对", "唔啱", "修改", "要改"];
    let digit = |c: char| match c {
        '0'..='9' => Some(c),
        _ => "零一二三四五六七八九"
            .chars()
            .position(|n| n == c)
            .map(|i| char::from(b'0' + i as u8)),
    };
    let mut out = Vec::new();
    for clause in heard.split(|c: char| "，,。.？?！!；;、".contains(c)) {
        let chars: Vec<char> = clause.chars().collect();
        let no = NO.iter().any(|n| clause.contains(n));
        for (i, &c) in chars.iter().enumerate() {
            let Some(key) = digit(c) else { continue };
            let after_press = i > 0 && PRESS.contains(&chars[i - 1]);
            let before_key = chars.get(i + 1) == Some(&'号')
                && chars.get(i + 2).is_some_and(|k| KEY.contains(k));
            if (after_press || before_key) && !out.contains(&(key, no)) {
                out.push((key, no));
            }
        }
    }
    out
}

/// The key a debtor presses to give `reply` when the robot's line was
/// heard as `heard`: where the line offers keys and the reply is a plain
/// yes or no (as the robot's NLU reads it), the key offered for it.
/// Replies that carry a date or an amount (a correction) are said.
pub fn key_for(heard: &str, reply: &str, dialect: Dialect, today: NaiveDate) -> Option<char> {
    let offered = offered_keys(heard);
    if offered.is_empty() {
        return None;
    }
    let r = robots_nlu().understand(reply, dialect, today);
    if r.date.is_some() || r.amount_hundredths.is_some() {
        return None;
    }
    // 对，没问题 reads as a promise (with no terms): a yes here.
    let no = match r.intent {
        Intent::ConfirmIdentity | Intent::PromiseToPay => false,
        Intent::DenyIdentity => true,
        _ => return None,
    };
    offered.iter().find(|(_, n)| *n == no).map(|(k, _)| *k)
}

/// Speed and pitch relative to the dialect's voice.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonaVoice {
    #[serde(default = "one")]
    pub speed: f32,
    #[serde(default = "one")]
    pub pitch: f32,
}

fn one() -> f32 {
    1.0
}

impl PersonaVoice {
    pub fn style(&self) -> VoiceStyle {
        VoiceStyle {
            speed: self.speed,
            pitch: self.pitch,
        }
    }
}

fn default_ring() -> u64 {
    600
}

impl Persona {
    pub fn dialect(&self) -> Dialect {
        self.dialect.parse().unwrap_or(Dialect::Mandarin)
    }

    /// The voice and ear the simulator uses.
    pub fn speaking(&self) -> Dialect {
        self.speaks
            .as_deref()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| self.dialect())
    }

    fn check(&self) -> Result<(), String> {
        self.dialect
            .parse::<Dialect>()
            .map_err(|e| format!("dialect: {e}"))?;
        if let Some(s) = &self.speaks {
            s.parse::<Dialect>().map_err(|e| format!("speaks: {e}"))?;
        }
        if self.number.trim().is_empty() {
            return Err("number: empty".into());
        }
        if let Some(line) = &self.line {
            if line.echo_db.is_some_and(|db| !(-60.0..=0.0).contains(&db)) {
                return Err("line.echo_db: echo comes back 0 to 60 dB quieter (-60..=0)".into());
            }
            if line
                .noise_dbfs
                .is_some_and(|db| !(-90.0..=-10.0).contains(&db))
            {
                return Err("line.noise_dbfs: within -90..=-10".into());
            }
            if line.echo_delay_ms > 1_000 {
                return Err("line.echo_delay_ms: at most 1000".into());
            }
        }
        for (i, t) in self.turns.iter().enumerate() {
            if let Some(c) = &t.correction {
                if date_in(c, self.speaking(), any_day()).is_none() {
                    return Err(format!(
                        "turns[{i}].correction: names no date a read-back could be checked against"
                    ));
                }
            }
        }
        if let Some(v) = &self.voice {
            for (field, x) in [("voice.speed", v.speed), ("voice.pitch", v.pitch)] {
                if !(0.5..=2.0).contains(&x) {
                    return Err(format!("{field}: {x} is outside 0.5..=2"));
                }
            }
        }
        if let Some(e) = &self.expect {
            e.check()?;
        }
        if self.max_call_s.is_some_and(|s| !(10..=3600).contains(&s)) {
            return Err("max_call_s: 10 to 3600 seconds".into());
        }
        match self.answer {
            Answer::Reject if self.reject_code.is_none_or(|c| !(400..700).contains(&c)) => {
                Err("reject_code: needs a SIP code 400-699 with answer = \"reject\"".into())
            }
            Answer::Announcement | Answer::EarlyAnnouncement if self.announcement.is_none() => {
                Err("announcement: the recording's words are needed".into())
            }
            _ => Ok(()),
        }
    }
}

/// All personas of a directory, by number.
#[derive(Debug, Clone, Default)]
pub struct PersonaSet {
    by_number: HashMap<String, Persona>,
    today: Option<NaiveDate>,
}

impl PersonaSet {
    pub fn load_dir(dir: &Path) -> Result<PersonaSet, String> {
        let mut set = PersonaSet::default();
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        entries.sort();
        for path in entries {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut p: Persona =
                toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            p.check().map_err(|e| format!("{}: {e}", path.display()))?;
            if p.name.is_empty() {
                p.name = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
            }
            if let Some(other) = set.by_number.get(&p.number) {
                return Err(format!(
                    "{}: number: {} is already persona '{}'",
                    path.display(),
                    p.number,
                    other.name
                ));
            }
            set.by_number.insert(p.number.clone(), p);
        }
        Ok(set)
    }

    /// The day the personas' relative dates (下周三) mean, when the robot
    /// calls with another day than today in China (tests on a fixed day).
    pub fn on_day(mut self, today: NaiveDate) -> Self {
        self.today = Some(today);
        self
    }

    /// The day the personas' relative dates are resolved against.
    pub fn today(&self) -> NaiveDate {
        self.today
            .unwrap_or_else(huikuan_core::region::today_in_china)
    }

    pub fn insert(&mut self, p: Persona) {
        self.by_number.insert(p.number.clone(), p);
    }

    /// The persona for a dialed number (digits compared, so +86 prefixes
    /// and separators do not matter).
    pub fn for_number(&self, dialed: &str) -> Option<&Persona> {
        let digits = |s: &str| -> String { s.chars().filter(|c| c.is_ascii_digit()).collect() };
        let d = digits(dialed);
        self.by_number.values().find(|p| {
            let n = digits(&p.number);
            !n.is_empty() && (d == n || d.ends_with(&n))
        })
    }

    pub fn len(&self) -> usize {
        self.by_number.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_number.is_empty()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_menu_heard_is_read_as_keys_and_a_yes_or_no_pressed() {
        use super::{key_for, offered_keys};
        use huikuan_core::Dialect;
        let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        // Offers as the phone's recognizer wrote them on a live call.
        let menu =
            "不好意思,刚才没有听清楚。如果你是张为本人,请说是我,或者按一号件,不是本人请按二号件。";
        assert_eq!(offered_keys(menu), vec![('1', false), ('2', true)]);
        assert_eq!(
            offered_keys(
                "我这边还是没听清楚。请问您是张维本人吗?是本人请爱一号件,不是请爱二号件。"
            ),
            vec![('1', false), ('2', true)]
        );
        assert_eq!(
            offered_keys("12月4月还款3000元。切认请按1号件,需要修改请22号件。"),
            vec![('1', false), ('2', true)]
        );
        assert_eq!(
            offered_keys("确认请揿1，要改请揿2"),
            vec![('1', false), ('2', true)]
        );
        // Digits that are no key: a date, an amount, a number.
        assert!(offered_keys("您12月4号还款3000元，对吗？").is_empty());
        assert!(offered_keys("您12月4号，还款3000元").is_empty());
        assert!(offered_keys("请问您是张伟本人吗？").is_empty());
        let m = Dialect::Mandarin;
        assert_eq!(key_for(menu, "是我，什么事？", m, today), Some('1'));
        assert_eq!(key_for(menu, "不是，你打错了。", m, today), Some('2'));
        // Not a yes or no, or no menu: said, not pressed.
        assert_eq!(key_for(menu, "我下周五还三千。", m, today), None);
        assert_eq!(key_for("请问您是张伟本人吗？", "是我。", m, today), None);
        let readback = "我这边还是没听清楚。12月4月还款3000元。切认请按1号件,需要修改请22号件。";
        assert_eq!(key_for(readback, "对，没问题。", m, today), Some('1'));
        assert_eq!(key_for(readback, "不对，是下周四。", m, today), None);
    }

    use super::*;

    #[test]
    fn personas_load_and_bad_ones_name_the_file_and_field() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("promise.toml"),
            "number = \"13800000001\"\ndialect = \"sichuanese\"\n[[turns]]\nsay = \"是我\"\n",
        )
        .unwrap();
        let set = PersonaSet::load_dir(dir.path()).unwrap();
        let p = set.for_number("+8613800000001").unwrap();
        assert_eq!(p.name, "promise");
        assert_eq!(p.dialect(), Dialect::Sichuanese);
        assert!(set.for_number("13900000000").is_none());

        std::fs::write(
            dir.path().join("z_bad.toml"),
            "number = \"2\"\ndialect = \"klingon\"\n",
        )
        .unwrap();
        let e = PersonaSet::load_dir(dir.path()).unwrap_err();
        assert!(e.contains("z_bad.toml: dialect"), "{e}");
        std::fs::write(
            dir.path().join("z_bad.toml"),
            "number = \"2\"\ndialect = \"mandarin\"\nanswer = \"reject\"\n",
        )
        .unwrap();
        let e = PersonaSet::load_dir(dir.path()).unwrap_err();
        assert!(e.contains("reject_code"), "{e}");
        std::fs::write(
            dir.path().join("z_bad.toml"),
            "number = \"2\"\ndialect = \"mandarin\"\nline = { echo_db = 6 }\n",
        )
        .unwrap();
        let e = PersonaSet::load_dir(dir.path()).unwrap_err();
        assert!(e.contains("z_bad.toml: line.echo_db"), "{e}");
        std::fs::write(
            dir.path().join("z_bad.toml"),
            "number = \"2\"\ndialect = \"mandarin\"\nline = { echo_db = -12, hum = 1 }\n",
        )
        .unwrap();
        let e = PersonaSet::load_dir(dir.path()).unwrap_err();
        assert!(e.contains("z_bad.toml") && e.contains("hum"), "{e}");
        std::fs::write(
            dir.path().join("z_bad.toml"),
            "number = \"2\"\ndialect = \"mandarin\"\n[[turns]]\nsay = \"对\"\n[[turns]]\nsay = \"好\"\ncorrection = \"不对，不是这个\"\n",
        )
        .unwrap();
        let e = PersonaSet::load_dir(dir.path()).unwrap_err();
        assert!(e.contains("z_bad.toml: turns[1].correction"), "{e}");
    }

    #[test]
    fn a_read_back_with_another_date_is_corrected_and_the_right_one_agreed_to() {
        let turn: PersonaTurn =
            toml::from_str("say = \"对，没问题。\"\ncorrection = \"不对，是下个星期三。\"\n")
                .unwrap();
        // 2026-11-24 is a Tuesday: the Wednesday of next week is 2 December.
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        for right in [
            "好的，和您确认一下：您在十二月二日，下周三，还款三千二百五十元五角，对吗？",
            "好的,和您确认一下,您在12月2日还款3250.5元,对吗?",
            // The date misheard, its day heard right.
            "好的,和您确认一下,您在1212号,下周三,还款3250元无强,对吗?",
        ] {
            assert_eq!(
                turn.correction_for(right, Dialect::Mandarin, today),
                None,
                "{right}"
            );
        }
        for wrong in [
            "好的，和您确认一下：您在十一月二十五日，明天，还款三千二百五十元五角，对吗？",
            "好的，和您确认一下：您在12月20日还款3250.5元，对吗？",
            // The date not made out: said again.
            "好的，和您确认一下，对吗？",
        ] {
            assert_eq!(
                turn.correction_for(wrong, Dialect::Mandarin, today),
                Some("不对，是下个星期三。"),
                "{wrong}"
            );
        }
        // A turn without a correction agrees to anything.
        let plain: PersonaTurn = toml::from_str("say = \"对\"\n").unwrap();
        assert_eq!(
            plain.correction_for("您在十一月二十五日还款", Dialect::Mandarin, today),
            None
        );
    }

    #[test]
    fn the_campaign_personas_are_twenty_per_dialect_and_each_says_how_its_call_should_end() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/campaign");
        let set = PersonaSet::load_dir(&dir).unwrap();
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let mut per_dialect: HashMap<Dialect, usize> = HashMap::new();
        for p in set.by_number.values() {
            *per_dialect.entry(p.dialect()).or_default() += 1;
            let e = p
                .expect
                .as_ref()
                .unwrap_or_else(|| panic!("{}: no expect", p.name));
            let want = e.on(today);
            if want.disposition == "promise_to_pay" {
                // Terms the robot can accept: within 14 days, at least 30%.
                let date = want
                    .promise_date
                    .unwrap_or_else(|| panic!("{}: no date", p.name));
                assert!(
                    date > today && date <= today + chrono::Duration::days(14),
                    "{}",
                    p.name
                );
                assert!(
                    want.promise_fen
                        .is_some_and(|f| (97_600..=325_050).contains(&f)),
                    "{}",
                    p.name
                );
                // The debtor hears the read-back out and would correct it.
                assert!(
                    p.turns.last().is_some_and(|t| t.correction.is_some()),
                    "{}",
                    p.name
                );
            }
        }
        for d in [Dialect::Mandarin, Dialect::Sichuanese, Dialect::Cantonese] {
            assert_eq!(per_dialect.get(&d), Some(&20), "{d:?}");
        }
    }
}
