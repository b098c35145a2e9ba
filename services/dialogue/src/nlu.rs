//! One debtor turn to an intent and slots. Weighted phrases (data in
//! `dialects/*/intents.toml`) are matched on the normalised text; the
//! intent with the highest total wins, then a few rules about slots: a
//! date with a paying verb is a promise, a clock time with nothing else is
//! a callback request. When no phrase and no rule spoke, a small trained
//! classifier (`classifier`) is asked and its answer taken only when it is
//! sure. Every result lists the cues that decided it.

use crate::classifier::{IntentModel, TrainingExample};
use crate::intent::Intent;
use crate::normalize::Normalizer;
use crate::script::ScriptError;
use crate::slots::{self, number::format_hundredths};
use chrono::{NaiveDate, NaiveDateTime};
use huikuan_core::matcher::{glyphs, Glyph, Matchable};
use huikuan_core::pack::DialectPacks;
use huikuan_core::Dialect;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IntentFile {
    intent: Vec<IntentEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IntentEntry {
    name: String,
    phrases: Vec<(String, f32)>,
}

struct Phrase {
    /// `None`: a neutral phrase that only uses characters up.
    intent: Option<Intent>,
    text: String,
    glyphs: Vec<Glyph>,
    weight: f32,
}

#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct Slots {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// Yuan, as a decimal string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callback_time: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NluResult {
    pub intent: Intent,
    pub slots: Slots,
    /// Slot values as found, even in turns whose intent is unclear (a bare
    /// "明天吧" answers "which day?"); `slots` leaves them out there.
    pub date: Option<NaiveDate>,
    pub amount_hundredths: Option<u64>,
    pub callback: Option<NaiveDateTime>,
    /// The text as matched (standard Mandarin).
    pub normalized: String,
    /// "intent:phrase" for each phrase found ("~" when matched by sound),
    /// and "rule:..." for slot rules.
    pub cues: Vec<String>,
}

impl NluResult {
    /// Nothing understood of `normalized`: no intent, no slots.
    pub fn unclear(normalized: String) -> NluResult {
        NluResult {
            intent: Intent::Unclear,
            slots: Slots::default(),
            date: None,
            amount_hundredths: None,
            callback: None,
            normalized,
            cues: Vec::new(),
        }
    }
}

/// Intents in priority order for ties (the more consequential first).
const PRIORITY: [Intent; 14] = [
    Intent::Abusive,
    Intent::Complaint,
    Intent::RequestHuman,
    Intent::AskIfRobot,
    Intent::AlreadyPaid,
    Intent::DisputeDebt,
    Intent::DenyIdentity,
    Intent::RequestInstallment,
    Intent::FinancialHardship,
    Intent::RefuseToPay,
    Intent::BusyCallBack,
    Intent::PromiseToPay,
    Intent::AskDetails,
    Intent::ConfirmIdentity,
];

/// A whole turn that is only a short yes ("好", "行", "得"): it accepts
/// what the robot just proposed, but is not an identity confirmation.
pub const SHORT_YES: &[&str] = &[
    "好",
    "行",
    "得",
    "成",
    "好啊",
    "好嘛",
    "好呀",
    "好咧",
    "得啦",
    "可以啊",
    "ok",
    "okay",
    "嗯嗯",
];
pub const SHORT_YES_CUE: &str = "rule:a short yes";

/// A whole turn that is only a no ("不是", "不对", Cantonese 唔系 and 唔啱
/// normalised to them, Sichuanese 不对头), closing particles aside: to
/// "are you 张伟?" it denies, to a read-back it refuses what was read (the
/// confirm stage asks again). Its 是 and 对 are not a yes. Only the whole
/// turn: "不是，你听我说" from a debtor already verified is no wrong party.
const SHORT_NO: &[&str] = &["不是", "不对", "不对头"];
const SHORT_NO_CUE: &str = "rule:a bare no";
const CLOSING_PARTICLES: &[char] = &[
    '的', '啊', '呀', '哦', '噢', '喔', '吧', '嘛', '呢', '哈', '咯', '啦',
];

/// Whether `normalized` is only a no.
fn is_bare_no(normalized: &str) -> bool {
    SHORT_NO.contains(&normalized.trim_end_matches(CLOSING_PARTICLES))
}

/// Complaint and regulator hotlines, in yuan hundredths: "打12378投诉"
/// names a phone number, not an amount.
const HOTLINES: &[u64] = &[12378 * 100, 12315 * 100, 12345 * 100, 12363 * 100];

/// Days already gone: with a paying verb and a closing 了 the money was
/// paid ("前天用支付宝还了").
const PAST_DAYS: &[&str] = &[
    "昨天",
    "前天",
    "上周",
    "上个月",
    "上个礼拜",
    "上礼拜",
    "前几天",
    "前两天",
];

/// Questions about who is calling.
const WHO_ASKS: &[&str] = &["你是谁", "哪位", "你是哪里", "哪里的"];

/// "一分钱都没有", "一蚊都冇": not even one yuan, not an amount of one.
const NOT_EVEN_ONE: &[&str] = &[
    "一元都",
    "一块都",
    "一块钱都",
    "一分钱都",
    "一分都",
    "一毛都",
    "一毛钱都",
];

const PAY_VERBS: &[char] = &['还', '给', '转', '付', '打', '凑', '交', '存', '处', '缴'];

pub struct Nlu {
    normalizer: Normalizer,
    phrases: Vec<Phrase>,
    /// For turns no phrase or rule speaks about.
    model: Option<IntentModel>,
}

/// The classifier's answer is used only when it is at least this sure.
pub const MODEL_MIN_PROBABILITY: f64 = 0.8;

/// The classifier's answer is used only when what it rests on (its
/// evidence) is at least this many different characters: one character
/// (他 in 他, 佢，咪，佢 heard from a bad line) is a fragment or a sound
/// misheard, and the classifier read it as "not him" (p 0.84-0.99), which
/// closed calls as a wrong party.
pub const MODEL_MIN_EVIDENCE_CHARS: usize = 2;

impl Nlu {
    /// The built-in packs and phrases, and the classifier trained on the
    /// built-in example utterances.
    pub fn builtin() -> Self {
        Self::from_script(
            &crate::script::ScriptFiles::builtin(),
            &DialectPacks::builtin(),
        )
        .expect("built-in intent phrases and utterances are valid")
    }

    /// A script's phrases (`mandarin/intents.toml`) and its classifier,
    /// trained on its example utterances (`*/utterances.tsv`).
    pub fn from_script(
        files: &crate::script::ScriptFiles,
        packs: &DialectPacks,
    ) -> Result<Self, ScriptError> {
        let intents = "mandarin/intents.toml";
        let mut nlu = Self::new(packs, &[(&files.name(intents), files.text(intents))])?;
        let examples: Vec<TrainingExample> = crate::eval::development_sets_of(files)?
            .into_iter()
            .flat_map(|(dialect, rows)| {
                rows.into_iter()
                    .map(|r| TrainingExample {
                        normalized: nlu.normalize(&r.text, dialect),
                        intent: r.intent,
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        nlu.model = Some(IntentModel::train(&examples));
        Ok(nlu)
    }

    /// The built-in packs and phrases without the classifier.
    pub fn phrases_only() -> Self {
        Self::new(
            &DialectPacks::builtin(),
            &[(
                "dialects/mandarin/intents.toml",
                include_str!("../../../dialects/mandarin/intents.toml"),
            )],
        )
        .expect("built-in intent phrases are valid")
    }

    /// Phrases from intent files (name, text); errors name the file and
    /// the line of the intent entry.
    pub fn new(packs: &DialectPacks, intent_files: &[(&str, &str)]) -> Result<Self, ScriptError> {
        let mut phrases = Vec::new();
        for (file, text) in intent_files {
            let f: IntentFile =
                toml::from_str(text).map_err(|e| ScriptError::toml(file, text, &e))?;
            for (i, entry) in f.intent.into_iter().enumerate() {
                let invalid = |reason: String| {
                    ScriptError::new(
                        file,
                        crate::script::line_of_nth(text, "[[intent]]", i),
                        reason,
                    )
                };
                let intent = if entry.name == "neutral" {
                    None
                } else {
                    Some(
                        entry
                            .name
                            .parse::<Intent>()
                            .map_err(|e| invalid(format!("name: {e}")))?,
                    )
                };
                for (p, w) in entry.phrases {
                    let norm = crate::normalize::simplify(&p);
                    if norm.is_empty() {
                        return Err(invalid(format!("intent {}: empty phrase", entry.name)));
                    }
                    phrases.push(Phrase {
                        intent,
                        glyphs: glyphs(&norm),
                        text: norm,
                        weight: w,
                    });
                }
            }
        }
        // Longest first; among equals, the file order.
        phrases.sort_by_key(|p| std::cmp::Reverse(p.glyphs.len()));
        Ok(Nlu {
            normalizer: Normalizer::new(packs),
            phrases,
            model: None,
        })
    }

    /// `text` in standard Mandarin, as the phrases and the classifier see it.
    pub fn normalize(&self, text: &str, dialect: Dialect) -> String {
        self.normalizer.normalize(text, dialect)
    }

    pub fn understand(&self, text: &str, dialect: Dialect, today: NaiveDate) -> NluResult {
        let normalized = self.normalizer.normalize(text, dialect);
        let mut scores = [0f32; 15];
        let mut cues = Vec::new();
        // Phrases are found within a clause: '|' is in no phrase.
        let clauses = self.normalizer.normalize_clauses(text, dialect);
        let mut m = Matchable::new(&clauses.join("|"));
        // What was said exactly first, then homophones in what is left.
        for sound_pass in [false, true] {
            for p in &self.phrases {
                let (count, by_sound) = m.take(&p.glyphs, sound_pass);
                if count == 0 {
                    continue;
                }
                if let Some(intent) = p.intent {
                    scores[intent as usize] += p.weight * count as f32;
                    cues.push(format!(
                        "{intent}:{}{}",
                        p.text,
                        if by_sound { "~" } else { "" }
                    ));
                }
            }
        }
        let date = slots::resolve_date(&normalized, today);
        let mut amount = slots::resolve_amount(&normalized);
        if amount.is_some_and(|a| HOTLINES.contains(&a))
            && cues.iter().any(|c| c.starts_with("complaint:"))
        {
            amount = None;
            cues.push("rule:a hotline number is not an amount".into());
        }
        if amount == Some(100) && NOT_EVEN_ONE.iter().any(|p| normalized.contains(p)) {
            amount = None;
            cues.push("rule:not even one yuan is not an amount".into());
        }
        let callback = slots::resolve_callback(&normalized, today);
        let pays = normalized.chars().any(|c| PAY_VERBS.contains(&c));
        if (date.is_some() || amount.is_some()) && pays && callback.is_none() {
            scores[Intent::PromiseToPay as usize] += 6.0;
            cues.push("rule:date or amount with a paying verb".into());
        }
        if pays
            && !normalized.contains('没')
            && PAST_DAYS.iter().any(|d| normalized.contains(d))
            && normalized.ends_with('了')
        {
            scores[Intent::AlreadyPaid as usize] += 5.0;
            cues.push("rule:a past day with a paying verb".into());
        }
        if callback.is_some() {
            scores[Intent::BusyCallBack as usize] += 3.0;
            cues.push("rule:a clock time to call back".into());
        }
        if is_bare_no(&normalized) {
            // Above the 是 (1) or 对 (2) the phrases found in it.
            scores[Intent::DenyIdentity as usize] += 3.0;
            cues.push(SHORT_NO_CUE.into());
        }
        if cues.is_empty() && SHORT_YES.contains(&normalized.as_str()) {
            scores[Intent::ConfirmIdentity as usize] += 1.0;
            cues.push(SHORT_YES_CUE.into());
        }
        let mut best = Intent::Unclear;
        let mut best_score = 0.0;
        for intent in PRIORITY {
            let s = scores[intent as usize];
            if s > best_score {
                best = intent;
                best_score = s;
            }
        }
        // Nothing in the phrase tables or slot rules spoke: ask the
        // classifier, and take its answer only when it is sure.
        if cues.is_empty() {
            if let Some(p) = self.model.as_ref().and_then(|m| m.predict(&normalized)) {
                let basis = p
                    .evidence
                    .iter()
                    .flat_map(|e| e.chars())
                    .collect::<std::collections::BTreeSet<_>>();
                if p.intent != Intent::Unclear
                    && p.probability >= MODEL_MIN_PROBABILITY
                    && basis.len() >= MODEL_MIN_EVIDENCE_CHARS
                {
                    best = p.intent;
                    cues.push(format!(
                        "model:{} p={:.2} ({})",
                        p.intent,
                        p.probability,
                        p.evidence.join(", ")
                    ));
                }
            }
        }
        // "是我，你哪位": the debtor says it is them and asks who calls; the
        // identity answer is what moves the call on (the opening names the
        // caller again).
        if best == Intent::AskDetails
            && scores[Intent::ConfirmIdentity as usize] >= 4.0
            && cues
                .iter()
                .filter_map(|c| c.strip_prefix("ask_details:"))
                .all(|c| WHO_ASKS.contains(&c.trim_end_matches('~')))
        {
            best = Intent::ConfirmIdentity;
            cues.push("rule:identity confirmed with a question back".into());
        }
        // Small talk that happens to name a day ("今天天气不错") carries no slot.
        let slots = if best == Intent::Unclear {
            Slots::default()
        } else {
            Slots {
                date: date.map(|d| d.format("%Y-%m-%d").to_string()),
                amount: amount.map(format_hundredths),
                callback_time: callback.map(|t| t.format("%Y-%m-%dT%H:%M").to_string()),
            }
        };
        NluResult {
            intent: best,
            slots,
            date,
            amount_hundredths: amount,
            callback,
            normalized,
            cues,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nlu(text: &str, d: Dialect) -> NluResult {
        static NLU: std::sync::OnceLock<Nlu> = std::sync::OnceLock::new();
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        NLU.get_or_init(Nlu::builtin).understand(text, d, today)
    }

    #[test]
    fn intents_with_their_cues() {
        use Dialect::*;
        use Intent::*;
        for (text, d, want) in [
            ("是我，什么事", Mandarin, ConfirmIdentity),
            // Phrases do not run across a clause: not 不是我.
            ("不是，我现在没钱", Mandarin, FinancialHardship),
            ("不是，我现在冇钱", Cantonese, FinancialHardship),
            ("你打错了", Mandarin, DenyIdentity),
            ("我是他老婆，他不在", Mandarin, DenyIdentity),
            // One character is too little to go on, even repeated.
            ("他。", Mandarin, Unclear),
            ("佢，咪，佢，咪。", Cantonese, Unclear),
            ("我明天还三千", Mandarin, PromiseToPay),
            ("我就是不还，你们爱咋咋地", Mandarin, RefuseToPay),
            ("我已经还了啊", Mandarin, AlreadyPaid),
            ("我从来没借过钱", Mandarin, DisputeDebt),
            ("最近失业了，手头紧", Mandarin, FinancialHardship),
            ("能不能分期", Mandarin, RequestInstallment),
            ("转人工", Mandarin, RequestHuman),
            ("我在开会，晚点打", Mandarin, BusyCallBack),
            ("欠了多少钱", Mandarin, AskDetails),
            ("再打我就投诉你们", Mandarin, Complaint),
            ("滚，傻逼", Mandarin, Abusive),
            ("你是机器人吧", Mandarin, AskIfRobot),
            ("今天天气不错", Mandarin, Unclear),
            ("我莫得钱", Sichuanese, FinancialHardship),
            ("要得，我后天还", Sichuanese, PromiseToPay),
            ("我冇借过钱", Cantonese, DisputeDebt),
            ("聽日還你", Cantonese, PromiseToPay),
            ("你哋啲账单我已经换款了", Mandarin, AlreadyPaid),
            // 可不可以 asks; it does not accept.
            ("可唔可以延遲一個月先還", Cantonese, RequestInstallment),
            // 边个平台 is "which platform", not "who".
            ("係邊個平台嘅貸款", Cantonese, AskDetails),
            ("我係同真人傾緊定係電腦", Cantonese, AskIfRobot),
            ("on9，唔好再打嚟", Cantonese, Abusive),
        ] {
            let r = nlu(text, d);
            assert_eq!(r.intent, want, "{text}: {:?} {:?}", r.cues, r.normalized);
        }
    }

    #[test]
    fn rules_about_what_is_not_said() {
        // Exact words beat homophones: 没有钱 is not 没有欠 (dispute).
        let r = nlu("我莫得钱", Dialect::Sichuanese);
        assert_eq!(r.intent, Intent::FinancialHardship, "{:?}", r.cues);
        // A hotline is not an amount; "not even one yuan" is not one yuan.
        let r = nlu("我打12378投诉你们", Dialect::Mandarin);
        assert_eq!(
            (r.intent, r.slots.amount.as_deref()),
            (Intent::Complaint, None)
        );
        let r = nlu("我而家一蚊都冇", Dialect::Cantonese);
        assert_eq!(r.slots.amount, None, "{:?}", r.cues);
        // "Two days ago" is not the 2nd.
        let r = nlu("我前两日已经还晒", Dialect::Cantonese);
        assert_eq!(
            (r.intent, r.slots.date.as_deref()),
            (Intent::AlreadyPaid, None)
        );
        // A past day with a paying verb: already paid; not when it was not.
        let r = nlu("钱我前天就用支付宝还了", Dialect::Sichuanese);
        assert_eq!(r.intent, Intent::AlreadyPaid, "{:?}", r.cues);
        let r = nlu("上个月没还上", Dialect::Mandarin);
        assert!(
            !r.cues.iter().any(|c| c.contains("past day")),
            "{:?}",
            r.cues
        );
        // Identity confirmed, with a question back.
        let r = nlu("是我，你哪位", Dialect::Mandarin);
        assert_eq!(r.intent, Intent::ConfirmIdentity, "{:?}", r.cues);
        assert_eq!(nlu("你哪位", Dialect::Mandarin).intent, Intent::AskDetails);
    }

    #[test]
    fn slots_come_out_resolved() {
        let r = nlu("下个月15号还3500", Dialect::Mandarin);
        assert_eq!(r.slots.date.as_deref(), Some("2026-12-15"));
        assert_eq!(r.slots.amount.as_deref(), Some("3500"));
        let r = nlu("听日先还五百蚊", Dialect::Cantonese);
        assert_eq!(r.intent, Intent::PromiseToPay);
        assert_eq!(r.slots.date.as_deref(), Some("2026-11-25"));
        assert_eq!(r.slots.amount.as_deref(), Some("500"));
        let r = nlu("你明天下午三点再打来", Dialect::Mandarin);
        assert_eq!(r.intent, Intent::BusyCallBack);
        assert_eq!(r.slots.callback_time.as_deref(), Some("2026-11-25T15:00"));
        let r = nlu("好的", Dialect::Mandarin);
        assert_eq!(r.slots, Slots::default());
    }
}
