//! One collection call as a conversation: the robot's opening, then a
//! reply to every debtor turn, decided by the policy table and rendered in
//! the call's dialect, until the call ends with a structured outcome.

use crate::announce::Announcements;
use crate::intent::Intent;
use crate::lines::Lines;
use crate::nlu::{Nlu, NluResult};
use crate::policy::{Action, Certainty, Policy, Stage};
use crate::script::{ScriptError, ScriptFiles};
use chrono::{Duration, NaiveDate, NaiveDateTime};
use huikuan_core::{Dialect, Disposition, Money};
use serde::{Deserialize, Serialize};
use tera::Context;

/// What the robot may know about the debtor (from the lease).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CallAccount {
    pub name: String,
    /// The lender's name as the debtor knows it.
    pub platform: String,
    pub product: String,
    /// Yuan, decimal string ("3250.50").
    pub overdue_amount: String,
    pub due_date: String,
    pub days_past_due: i32,
}

pub use huikuan_core::call::Outcome;

#[derive(Debug, Clone)]
pub struct Turn {
    pub line: String,
    pub intent: Intent,
    pub cues: Vec<String>,
    pub stage: Stage,
    pub outcome: Option<Outcome>,
}

/// Everything loaded once and shared by all calls: the script's
/// understanding, policy, lines and carrier announcements.
pub struct Engine {
    pub nlu: Nlu,
    pub policy: Policy,
    pub lines: Lines,
    pub announcements: Announcements,
    /// Wording no line may say (`dialects/forbidden.txt`).
    pub forbidden: Vec<String>,
}

impl Engine {
    /// The script compiled into this binary.
    pub fn builtin() -> Engine {
        Engine::from_script(&ScriptFiles::builtin()).expect("the built-in script is valid")
    }

    /// The script in `dir` (laid out as `dialects/`): edited wording
    /// without a rebuild. Whatever is wrong is reported as `FILE:LINE:
    /// problem`, and nothing of a broken script is used.
    pub fn load(dir: &std::path::Path) -> Result<Engine, ScriptError> {
        Engine::from_script(&ScriptFiles::load(dir)?)
    }

    /// Builds the engine from a script's files, checking them: every file
    /// parses, no line says forbidden wording, and every line the policy
    /// names exists in every dialect.
    pub fn from_script(files: &ScriptFiles) -> Result<Engine, ScriptError> {
        let forbidden: Vec<String> = files
            .text("forbidden.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect();
        let mut packs = Vec::new();
        for d in crate::script::DIALECTS {
            let (toml_file, lex_file) = (
                ScriptFiles::of(d, "dialect.toml"),
                ScriptFiles::of(d, "lexicon.tsv"),
            );
            let pack = huikuan_core::pack::DialectPack::parse(
                &files.name(&toml_file),
                files.text(&toml_file),
                &files.name(&lex_file),
                files.text(&lex_file),
            )
            .map_err(|e| match e {
                huikuan_core::pack::PackError::Invalid { file, reason } => {
                    ScriptError::new(&file, None, reason)
                }
                huikuan_core::pack::PackError::Lexicon { file, line, reason } => {
                    ScriptError::new(&file, Some(line), reason)
                }
            })?;
            for stage in pack.asr.expect.keys() {
                if let Err(why) = Stage::named(stage) {
                    return Err(ScriptError::new(
                        &files.name(&toml_file),
                        crate::script::line_of_key(files.text(&toml_file), stage, 1),
                        format!("asr.expect.{stage}: {why}"),
                    ));
                }
            }
            packs.push(pack);
        }
        let packs = huikuan_core::pack::DialectPacks::from_packs(packs);
        let policy_file = files.name("policy.toml");
        let policy_text = files.text("policy.toml");
        let policy = Policy::parse(&policy_file, policy_text)?;
        let line_files: Vec<(Dialect, String, String)> = crate::script::DIALECTS
            .iter()
            .map(|d| {
                let f = ScriptFiles::of(*d, "lines.toml");
                (*d, files.name(&f), files.text(&f).to_string())
            })
            .collect();
        let lines = Lines::parse_checked(
            &line_files
                .iter()
                .map(|(d, f, t)| (*d, f.as_str(), t.as_str()))
                .collect::<Vec<_>>(),
            &forbidden,
        )?;
        for name in policy
            .lines_used()
            .chain(policy.disclosure.lines.iter().map(String::as_str))
            .chain(["opening", "reprompt_again"])
        {
            for (d, file, _) in &line_files {
                if !lines.has(*d, name) {
                    return Err(ScriptError::new(
                        &policy_file,
                        policy_text
                            .lines()
                            .position(|l| l.contains(&format!("\"{name}\"")))
                            .map(|i| i + 1),
                        format!("line '{name}' is not in {file}"),
                    ));
                }
            }
        }
        Ok(Engine {
            nlu: Nlu::from_script(files, &packs)?,
            policy,
            lines,
            announcements: Announcements::parse(
                &files.name("announcements.toml"),
                files.text("announcements.toml"),
            )?,
            forbidden,
        })
    }

    /// What a turn heard this way means: the NLU's reading, or `unclear`
    /// (nothing to act on) when the recognizer was not sure enough of
    /// the words (`[understanding]` of the policy).
    pub fn understand(
        &self,
        text: &str,
        certainty: Certainty,
        dialect: Dialect,
        today: NaiveDate,
    ) -> NluResult {
        let r = self.nlu.understand(text, dialect, today);
        self.policy.understanding.screen(r, text, certainty)
    }

    /// The first forbidden phrase `text` says, if any.
    pub fn forbidden_in(&self, text: &str) -> Option<&str> {
        self.forbidden
            .iter()
            .find(|w| text.contains(w.as_str()))
            .map(String::as_str)
    }

    pub fn start<'e>(
        &'e self,
        account: CallAccount,
        dialect: Dialect,
        today: NaiveDate,
    ) -> Result<Conversation<'e>, String> {
        let overdue: Money = account
            .overdue_amount
            .parse()
            .map_err(|e| format!("overdue_amount: {e}"))?;
        NaiveDate::parse_from_str(&account.due_date, "%Y-%m-%d")
            .map_err(|e| format!("due_date: '{}': {e}", account.due_date))?;
        Ok(Conversation {
            engine: self,
            account,
            overdue_fen: overdue.fen(),
            dialect,
            today,
            stage: Stage::Identify,
            verified: false,
            disclosed: false,
            turns: 0,
            unclear_in_row: 0,
            silences: 0,
            failed: 0,
            refusals: 0,
            promise_date: None,
            promise_fen: None,
            callback: None,
            outcome: None,
            path: Vec::new(),
        })
    }
}

pub struct Conversation<'e> {
    engine: &'e Engine,
    account: CallAccount,
    overdue_fen: i64,
    dialect: Dialect,
    today: NaiveDate,
    stage: Stage,
    verified: bool,
    disclosed: bool,
    turns: u32,
    unclear_in_row: u32,
    silences: u32,
    failed: u32,
    refusals: u32,
    promise_date: Option<NaiveDate>,
    promise_fen: Option<i64>,
    callback: Option<NaiveDateTime>,
    outcome: Option<Outcome>,
    path: Vec<&'static str>,
}

impl<'e> Conversation<'e> {
    /// The engine (script) this conversation follows.
    pub fn engine(&self) -> &'e Engine {
        self.engine
    }

    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    pub fn stage(&self) -> Stage {
        self.stage
    }

    /// What the debtor's next turn is expected to be, for the recognizer:
    /// the stage's likely answers and the names in play.
    pub fn expectation(&self) -> huikuan_core::pack::Expectation {
        huikuan_core::pack::Expectation {
            stage: Some(self.stage.as_str().to_string()),
            words: vec![self.account.name.clone(), self.account.platform.clone()],
        }
    }

    fn min_fen(&self) -> i64 {
        let share = self.engine.policy.limits.min_amount_share;
        let raw = (self.overdue_fen as f64 * share).ceil() as i64;
        (raw + 99) / 100 * 100
    }

    fn latest_date(&self) -> NaiveDate {
        self.today + Duration::days(self.engine.policy.limits.latest_days)
    }

    fn context(&self) -> Context {
        let mut c = Context::new();
        c.insert("name", &self.account.name);
        c.insert("platform", &self.account.platform);
        c.insert("today", &self.today.to_string());
        if self.verified {
            c.insert("product", &self.account.product);
            c.insert("amount", &self.overdue_fen);
            c.insert("due_date", &self.account.due_date);
            c.insert("days_past_due", &self.account.days_past_due);
            c.insert("min_amount", &self.min_fen());
            c.insert("latest_date", &self.latest_date().to_string());
            if let Some(d) = self.promise_date {
                c.insert("promise_date", &d.to_string());
            }
            if let Some(f) = self.promise_fen {
                c.insert("promise_amount", &f);
            }
        }
        if let Some(t) = self.callback {
            c.insert("callback_time", &t.format("%Y-%m-%dT%H:%M").to_string());
        }
        c
    }

    fn say(&mut self, name: &str) -> String {
        if self.engine.policy.discloses(name) {
            if !self.verified {
                // Never reached by the policy; refuse rather than disclose.
                return self.say("ask_identity_again");
            }
            self.disclosed = true;
        }
        match self
            .engine
            .lines
            .render(self.dialect, name, &self.context())
        {
            Ok(s) => s,
            Err(e) => {
                // A broken template must not end the call in silence.
                tracing_fallback(name, &e);
                self.engine
                    .lines
                    .render(self.dialect, "reprompt", &self.context())
                    .unwrap_or_default()
            }
        }
    }

    /// The first line: recording notice and the identity question.
    pub fn opening(&mut self) -> String {
        self.say("opening")
    }

    fn end(&mut self, disposition: Disposition, line: &str, handoff: Option<&str>) -> String {
        let text = self.say(line);
        let keep_promise = disposition == Disposition::PromiseToPay;
        self.outcome = Some(Outcome {
            disposition,
            promise_date: self.promise_date.filter(|_| keep_promise),
            promise_amount: self
                .promise_fen
                .map(Money::from_fen)
                .filter(|_| keep_promise),
            callback_time: self
                .callback
                .filter(|_| disposition == Disposition::CallbackRequested),
            handoff_reason: handoff.map(str::to_string),
            identity_verified: self.verified,
            debt_disclosed: self.disclosed,
            turns: self.turns,
            summary: format!(
                "{} after {} turns: {}",
                disposition.as_str(),
                self.turns,
                self.path.join(" > ")
            ),
        });
        text
    }

    fn repeat_question(&mut self) -> String {
        match self.stage {
            Stage::Identify => self.say("ask_identity_again"),
            Stage::Pay => self.say("ask_date"),
            Stage::Confirm => self.say("confirm"),
            Stage::Callback => self.say("callback_ask"),
        }
    }

    fn negotiate(&mut self, r: &NluResult) -> String {
        self.stage = Stage::Pay;
        if let Some(d) = r.date {
            self.promise_date = Some(d);
        }
        if let Some(h) = r.amount_hundredths {
            // More than is overdue is a promise of all of it: the read-back
            // says the overdue amount, and that is what is recorded (a
            // promise above the debt is refused when reported).
            self.promise_fen = Some((h as i64).min(self.overdue_fen));
        }
        let Some(date) = self.promise_date else {
            return self.say("ask_date");
        };
        if date > self.latest_date() || date < self.today {
            let line = self.say("date_too_late");
            self.promise_date = None;
            return line;
        }
        let Some(fen) = self.promise_fen else {
            return self.say("ask_amount");
        };
        if fen < self.min_fen() {
            let line = self.say("amount_too_low");
            self.promise_fen = None;
            return line;
        }
        self.stage = Stage::Confirm;
        self.say("confirm")
    }

    /// The robot's reply to one typed (certain) debtor turn.
    pub fn reply(&mut self, text: &str) -> Turn {
        self.reply_heard(text, Certainty::TYPED)
    }

    /// The robot's reply to one debtor turn heard on the line: words it
    /// was not sure of are not acted on (asked again instead).
    pub fn reply_heard(&mut self, text: &str, certainty: Certainty) -> Turn {
        let r = self
            .engine
            .understand(text, certainty, self.dialect, self.today);
        self.turn(r)
    }

    /// One debtor turn, understood as `r`: its reply (none once the call
    /// has an outcome).
    fn turn(&mut self, r: NluResult) -> Turn {
        self.path.push(r.intent.as_str());
        let line = if self.outcome.is_some() {
            String::new()
        } else {
            self.turns += 1;
            self.decide(&r)
        };
        Turn {
            line,
            intent: r.intent,
            cues: r.cues,
            stage: self.stage,
            outcome: self.outcome.clone(),
        }
    }

    /// The robot's reply to a key the debtor pressed. At a stage with a
    /// key menu (policy `[keys]`) the key means its intent, for certain,
    /// and is a turn like a spoken one; any other key, or a key at a
    /// stage without a menu, is no turn at all (`None`): the robot goes
    /// on as if nothing was pressed.
    pub fn reply_key(&mut self, key: char) -> Option<Turn> {
        if self.outcome.is_some() {
            return None;
        }
        let intent = self.engine.policy.keys(self.stage)?.meaning(key)?;
        Some(self.turn(NluResult {
            intent,
            cues: vec![format!("key:{key}")],
            ..NluResult::unclear(format!("[key {key}]"))
        }))
    }

    /// The debtor said nothing for the silence timeout: ask whether they
    /// hear us, and after `max_silences` in a row end the call politely.
    /// A turn with words resets the count.
    pub fn silence(&mut self) -> Turn {
        self.path.push("silence");
        self.silences += 1;
        let line = if self.outcome.is_some() {
            String::new()
        } else if self.silences > self.engine.policy.limits.max_silences {
            let d = if self.turns == 0 {
                Disposition::NoAnswer
            } else {
                Disposition::Dropped
            };
            self.end(d, "silence_close", None)
        } else {
            self.say("silence_prompt")
        };
        Turn {
            line,
            intent: Intent::Unclear,
            cues: vec!["silence".into()],
            stage: self.stage,
            outcome: self.outcome.clone(),
        }
    }

    /// The call ended without the robot closing it (the debtor hung up,
    /// the line dropped, the maximum call length): the outcome as things
    /// stand. An outcome already reached is kept.
    pub fn interrupted(&mut self, why: &str) -> Outcome {
        if self.outcome.is_none() {
            self.path.push("interrupted");
            let _ = self.end(Disposition::Dropped, "turn_limit_close", None);
            if let Some(o) = self.outcome.as_mut() {
                o.summary = format!("{} ({why})", o.summary);
            }
        }
        self.outcome.clone().expect("set above")
    }

    fn decide(&mut self, r: &NluResult) -> String {
        self.silences = 0;
        let limits = &self.engine.policy.limits;
        if self.turns > limits.max_turns {
            return self.end(Disposition::Failed, "turn_limit_close", None);
        }
        if r.intent == Intent::Unclear {
            self.failed += 1;
        } else {
            self.unclear_in_row = 0;
        }
        if self.failed > limits.max_failed_turns {
            return self.end(Disposition::HandedToAgent, "handoff", Some("failed_turns"));
        }
        if answers_when_or_how_much(self.stage, r) {
            return self.negotiate(r);
        }
        let Some(rule) = self.engine.policy.rule(self.stage, r.intent).cloned() else {
            self.failed += 1;
            return self.repeat_question();
        };
        let line = rule.line.clone().unwrap_or_default();
        match rule.action {
            Action::Say => {
                if r.intent != Intent::Unclear && self.stage == Stage::Identify {
                    self.failed += 1;
                }
                self.say(&line)
            }
            Action::SayThenRepeat => {
                let first = self.say(&line);
                format!("{first}{}", self.repeat_question())
            }
            Action::Verify => {
                // Identity needs words that say so, not a bare "好".
                if r.cues.iter().all(|c| c == crate::nlu::SHORT_YES_CUE) {
                    self.failed += 1;
                    return self.say("ask_identity_again");
                }
                self.verified = true;
                if self.overdue_fen >= limits.high_balance_yuan * 100 {
                    return self.end(Disposition::HandedToAgent, "handoff", Some("high_balance"));
                }
                self.stage = Stage::Pay;
                self.say("disclose")
            }
            Action::Negotiate => self.negotiate(r),
            Action::Renegotiate => {
                self.promise_date = None;
                self.promise_fen = None;
                self.stage = Stage::Pay;
                self.say(&line)
            }
            Action::Accept => {
                if self.promise_date.is_some() && self.promise_fen.is_some() {
                    self.end(Disposition::PromiseToPay, "closing_promise", None)
                } else {
                    self.negotiate(r)
                }
            }
            Action::OfferPart => {
                self.stage = Stage::Pay;
                self.promise_fen = None;
                self.say(&line)
            }
            Action::PersuadeThenClose => {
                self.refusals += 1;
                if self.refusals >= 2 {
                    self.end(Disposition::Refused, "refused_close", None)
                } else {
                    self.stage = Stage::Pay;
                    self.say(&line)
                }
            }
            Action::Callback => {
                if let Some(t) = r.callback {
                    self.callback = Some(t);
                    self.end(Disposition::CallbackRequested, "callback_close", None)
                } else if self.stage == Stage::Callback {
                    self.end(
                        Disposition::CallbackRequested,
                        "callback_close_untimed",
                        None,
                    )
                } else {
                    self.stage = Stage::Callback;
                    self.say("callback_ask")
                }
            }
            Action::Reprompt => {
                self.unclear_in_row += 1;
                // At a yes/no question the keys are offered as well.
                let keys = self.engine.policy.keys(self.stage);
                if self.unclear_in_row > limits.max_unclear {
                    self.end(Disposition::Failed, "unclear_close", None)
                } else if self.unclear_in_row == 1 {
                    let line = keys.map_or("reprompt", |k| k.offer.as_str());
                    self.say(line)
                } else {
                    // Asked again in other words, not the same line twice.
                    let line = keys.map_or("reprompt_again", |k| k.offer_again.as_str());
                    self.say(line)
                }
            }
            Action::Close(d) => {
                let d: Disposition = d.parse().unwrap_or(Disposition::Failed);
                self.end(d, &line, None)
            }
            Action::Handoff(reason) => {
                self.end(Disposition::HandedToAgent, "handoff", Some(&reason))
            }
        }
    }
}

/// Whether a turn, at `stage`, gives the terms of a payment: a date or an
/// amount while paying or confirming is an answer to "when / how much",
/// whatever else the turn sounded like.
pub(crate) fn answers_when_or_how_much(stage: Stage, r: &NluResult) -> bool {
    let has_terms = r.date.is_some() || r.amount_hundredths.is_some();
    let answers = matches!(
        r.intent,
        Intent::Unclear | Intent::ConfirmIdentity | Intent::PromiseToPay | Intent::DenyIdentity
    );
    has_terms && r.callback.is_none() && matches!(stage, Stage::Pay | Stage::Confirm) && answers
}

fn tracing_fallback(name: &str, err: &str) {
    tracing::error!(line = name, error = err, "robot line failed to render");
}
