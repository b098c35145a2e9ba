//! The inspection's rules as data (`dialects/qa.toml` for every dialect,
//! `dialects/DIALECT/qa.toml` for one): the wording a collector must never
//! say by category, the statements a collector must make, rude and
//! agitated wording, and the words that state a debt (said before the
//! debtor is verified, they disclose it to whoever answered).
//!
//! A dialect's file adds to the shared one: its phrases join the category
//! of the same name, and a required statement of the same name is another
//! way of saying it (either counts). Phrases are matched in the text as
//! recognized and in its standard-Mandarin normalisation: exactly, by
//! toneless pinyin (recognition writes homophones) and by loose sound
//! ([`crate::loose`]), as leniently as [`Leniency`] says for what is
//! being looked for. Whatever is wrong in a file is
//! reported as `FILE:LINE: problem`.

use crate::loose::LoosePhrase;
use huikuan_core::Dialect;
use huikuan_dialogue::matcher::{glyphs, Glyph};
use huikuan_dialogue::script::{line_of_key, line_of_nth, ScriptError, ScriptFiles, DIALECTS};
use serde::Deserialize;

/// How leniently phrases are heard: the shortest phrase matched by
/// toneless pinyin, the shortest matched by loose sound, and the shortest
/// in which one syllable may be heard wrong altogether.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Leniency {
    pub sound_from: usize,
    pub loose_from: usize,
    pub one_wrong_from: usize,
}

impl Leniency {
    /// Wording that raises a flag: loose sound only for three characters
    /// or more (two characters alike in loose sound are common in
    /// ordinary talk), one syllable wrong only in five or more.
    pub const FLAG: Leniency = Leniency {
        sound_from: 2,
        loose_from: 3,
        one_wrong_from: 5,
    };
    /// Statements whose absence raises a flag: heard as leniently as can
    /// be, since a statement missed by the recognizer is a false alarm;
    /// names (four characters or more) are what it writes worst.
    pub const STATEMENT: Leniency = Leniency {
        sound_from: 2,
        loose_from: 2,
        one_wrong_from: 4,
    };
}

/// Where the lender's name goes in a required statement.
pub const LENDER: &str = "{lender}";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    forbidden: Vec<CategoryEntry>,
    #[serde(default)]
    required: Vec<RequiredEntry>,
    #[serde(default)]
    rude: Phrases,
    #[serde(default)]
    agitated: Phrases,
    #[serde(default)]
    debt: Phrases,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CategoryEntry {
    category: String,
    phrases: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RequiredEntry {
    name: String,
    /// One phrase of each group, in one utterance.
    all_of: Vec<Vec<String>>,
    /// Said within `qa.identity_within_ms` of the collector's first words.
    #[serde(default)]
    at_start: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Phrases {
    phrases: Vec<String>,
}

/// A phrase ready to match.
#[derive(Debug, Clone)]
pub struct Phrase {
    pub text: String,
    pub glyphs: Vec<Glyph>,
    pub loose: LoosePhrase,
}

impl Phrase {
    fn new(text: &str) -> Phrase {
        Phrase {
            text: text.to_string(),
            glyphs: glyphs(text),
            loose: LoosePhrase::new(text),
        }
    }
}

/// Wording of one forbidden category.
#[derive(Debug, Clone)]
pub struct Category {
    pub name: String,
    pub phrases: Vec<Phrase>,
}

/// A statement the collector must make, in any of its wordings; a wording
/// is groups of phrases, one of each said in one utterance.
#[derive(Debug, Clone)]
pub struct Required {
    pub name: String,
    pub wordings: Vec<Vec<Vec<String>>>,
    pub at_start: bool,
}

impl Required {
    /// The wordings with the lender's name put in; without one, a group
    /// that is only the lender's name is left out.
    pub fn wordings_for(&self, lender: Option<&str>) -> Vec<Vec<Vec<Phrase>>> {
        self.wordings
            .iter()
            .map(|groups| {
                groups
                    .iter()
                    .filter_map(|group| {
                        let phrases: Vec<Phrase> = group
                            .iter()
                            .filter_map(|p| match (p.contains(LENDER), lender) {
                                (false, _) => Some(Phrase::new(p)),
                                (true, Some(l)) if !l.trim().is_empty() => {
                                    Some(Phrase::new(&p.replace(LENDER, l.trim())))
                                }
                                (true, _) => None,
                            })
                            .collect();
                        (!phrases.is_empty()).then_some(phrases)
                    })
                    .collect()
            })
            .collect()
    }
}

/// The rules for calls in one dialect.
#[derive(Debug, Clone)]
pub struct QaRules {
    pub dialect: Dialect,
    pub forbidden: Vec<Category>,
    pub required: Vec<Required>,
    pub rude: Vec<Phrase>,
    pub agitated: Vec<Phrase>,
    pub debt: Vec<Phrase>,
}

/// The rules of every dialect.
#[derive(Debug, Clone)]
pub struct QaRuleBook {
    rules: Vec<QaRules>,
}

impl QaRuleBook {
    /// The rules compiled into this binary.
    pub fn builtin() -> QaRuleBook {
        QaRuleBook::from_script(&ScriptFiles::builtin()).expect("the built-in QA rules are valid")
    }

    /// The rules of a script's files (built in or from a folder).
    pub fn from_script(files: &ScriptFiles) -> Result<QaRuleBook, ScriptError> {
        let shared = parse(files, "qa.toml")?;
        let mut rules = Vec::new();
        for d in DIALECTS {
            let own = parse(files, &ScriptFiles::of(d, "qa.toml"))?;
            rules.push(QaRules::merged(d, [&shared, &own]));
        }
        Ok(QaRuleBook { rules })
    }

    pub fn get(&self, dialect: Dialect) -> &QaRules {
        self.rules
            .iter()
            .find(|r| r.dialect == dialect)
            .unwrap_or(&self.rules[0])
    }
}

/// A rules file parsed and checked: no empty phrase, group or category.
fn parse(files: &ScriptFiles, file: &str) -> Result<RulesFile, ScriptError> {
    let (name, text) = (files.name(file), files.text(file));
    let parsed: RulesFile = toml::from_str(text).map_err(|e| ScriptError::toml(&name, text, &e))?;
    let blank = |list: &[String]| list.iter().any(|p| p.trim().is_empty());
    for (i, c) in parsed.forbidden.iter().enumerate() {
        let line = line_of_nth(text, "[[forbidden]]", i);
        if c.category.trim().is_empty() || c.phrases.is_empty() || blank(&c.phrases) {
            return Err(ScriptError::new(
                &name,
                line,
                format!(
                    "forbidden category '{}': needs a name and phrases, none of them empty",
                    c.category
                ),
            ));
        }
    }
    for (i, r) in parsed.required.iter().enumerate() {
        let line = line_of_nth(text, "[[required]]", i);
        if r.name.trim().is_empty()
            || r.all_of.is_empty()
            || r.all_of.iter().any(|g| g.is_empty() || blank(g))
        {
            return Err(ScriptError::new(
                &name,
                line,
                format!(
                    "required statement '{}': needs a name and groups of phrases, none of them empty",
                    r.name
                ),
            ));
        }
    }
    for (key, list) in [
        ("rude", &parsed.rude),
        ("agitated", &parsed.agitated),
        ("debt", &parsed.debt),
    ] {
        if blank(&list.phrases) {
            let line = line_of_nth(text, &format!("[{key}]"), 0)
                .and_then(|l| line_of_key(text, "phrases", l));
            return Err(ScriptError::new(
                &name,
                line,
                format!("[{key}]: a phrase is empty"),
            ));
        }
    }
    Ok(parsed)
}

impl QaRules {
    fn merged(dialect: Dialect, files: [&RulesFile; 2]) -> QaRules {
        let mut rules = QaRules {
            dialect,
            forbidden: Vec::new(),
            required: Vec::new(),
            rude: Vec::new(),
            agitated: Vec::new(),
            debt: Vec::new(),
        };
        for f in files {
            for c in &f.forbidden {
                let phrases = c.phrases.iter().map(|p| Phrase::new(p.trim()));
                match rules.forbidden.iter_mut().find(|x| x.name == c.category) {
                    Some(x) => x.phrases.extend(phrases),
                    None => rules.forbidden.push(Category {
                        name: c.category.clone(),
                        phrases: phrases.collect(),
                    }),
                }
            }
            for r in &f.required {
                let wording: Vec<Vec<String>> = r
                    .all_of
                    .iter()
                    .map(|g| g.iter().map(|p| p.trim().to_string()).collect())
                    .collect();
                match rules.required.iter_mut().find(|x| x.name == r.name) {
                    Some(x) => x.wordings.push(wording),
                    None => rules.required.push(Required {
                        name: r.name.clone(),
                        wordings: vec![wording],
                        at_start: r.at_start,
                    }),
                }
            }
            rules
                .rude
                .extend(f.rude.phrases.iter().map(|p| Phrase::new(p.trim())));
            rules
                .agitated
                .extend(f.agitated.phrases.iter().map(|p| Phrase::new(p.trim())));
            rules
                .debt
                .extend(f.debt.phrases.iter().map(|p| Phrase::new(p.trim())));
        }
        // Longest phrases first: a longer match is taken before a part of it.
        for list in rules.forbidden.iter_mut().map(|c| &mut c.phrases).chain([
            &mut rules.rude,
            &mut rules.agitated,
            &mut rules.debt,
        ]) {
            list.sort_by_key(|p| std::cmp::Reverse(p.glyphs.len()));
        }
        rules
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_builtin_rules_cover_every_dialect_with_the_default_disclosures() {
        let book = QaRuleBook::builtin();
        for d in DIALECTS {
            let r = book.get(d);
            for name in ["identity", "recording_notice"] {
                assert!(r.required.iter().any(|x| x.name == name), "{d:?} {name}");
            }
            for category in [
                "threat",
                "insult",
                "impersonation",
                "exaggeration",
                "third_party",
            ] {
                assert!(
                    r.forbidden.iter().any(|c| c.name == category),
                    "{d:?} {category}"
                );
            }
            assert!(!r.debt.is_empty() && !r.agitated.is_empty() && !r.rude.is_empty());
        }
        // A dialect's own wording joins the shared categories.
        let cantonese = book.get(Dialect::Cantonese);
        let threat = cantonese
            .forbidden
            .iter()
            .find(|c| c.name == "threat")
            .unwrap();
        let mandarin = book.get(Dialect::Mandarin);
        let m_threat = mandarin
            .forbidden
            .iter()
            .find(|c| c.name == "threat")
            .unwrap();
        assert!(threat.phrases.len() > m_threat.phrases.len());
    }

    #[test]
    fn the_lender_is_put_into_the_identity_statement_or_left_out() {
        let r = Required {
            name: "identity".into(),
            wordings: vec![vec![vec!["我是".into()], vec![format!("{LENDER}的")]]],
            at_start: true,
        };
        let with = r.wordings_for(Some("安心借"));
        assert_eq!(with[0][1][0].text, "安心借的");
        let without = r.wordings_for(None);
        assert_eq!(without[0].len(), 1);
    }

    fn files_with(file: &str, text: &str) -> ScriptFiles {
        let dir = std::env::temp_dir().join(format!("huikuan-qa-rules-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for f in huikuan_dialogue::script::FILES {
            let path = dir.join(f);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let body = if *f == file {
                text.to_string()
            } else {
                ScriptFiles::builtin().text(f).to_string()
            };
            std::fs::write(&path, body).unwrap();
        }
        let files = ScriptFiles::load(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        files
    }

    #[test]
    fn a_broken_rules_file_is_named_with_its_line() {
        let bad = "[[forbidden]]\ncategory = \"threat\"\nphrases = [\"坐牢\"]\n\n[[forbidden]]\ncategory = \"insult\"\nphrases = [\"\"]\n";
        let e = QaRuleBook::from_script(&files_with("sichuanese/qa.toml", bad)).unwrap_err();
        assert!(e.file.ends_with("sichuanese/qa.toml"), "{e}");
        assert_eq!(e.line, Some(5), "{e}");
        assert!(e.problem.contains("insult"), "{e}");
        let e = QaRuleBook::from_script(&files_with(
            "qa.toml",
            "[[required]]\nname = \"x\"\nall_of = [[\"a\"]]\nsay = 1\n",
        ))
        .unwrap_err();
        assert!(e.problem.contains("say"), "{e}");
        assert_eq!(e.line, Some(4), "{e}");
    }
}
