//! The robot's script as data: the files of `dialects/` (the policy, the
//! carrier announcements, the forbidden wording, and per dialect its pack,
//! lexicon, lines, intent phrases and example utterances), compiled into
//! the binary or read from a folder at run time, so edited wording takes
//! effect without a rebuild. Whatever is wrong in them is reported as
//! `FILE:LINE: problem`.

use huikuan_core::Dialect;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Something wrong in a script file: where, and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {problem}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ScriptError {
    pub file: String,
    pub line: Option<usize>,
    pub problem: String,
}

impl ScriptError {
    pub fn new(file: &str, line: Option<usize>, problem: impl Into<String>) -> ScriptError {
        ScriptError {
            file: file.to_string(),
            line,
            problem: problem.into(),
        }
    }

    /// A TOML file that does not parse, or does not fit its schema, at
    /// the line the parser points to.
    pub fn toml(file: &str, text: &str, e: &toml::de::Error) -> ScriptError {
        let line = e.span().map(|s| line_at(text, s.start));
        ScriptError::new(file, line, e.message().to_string())
    }
}

/// The 1-based line of byte offset `at` in `text`.
pub fn line_at(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

/// The 1-based line of the `n`-th (0-based) line that starts with
/// `header` (e.g. the third `[[rule]]`).
pub fn line_of_nth(text: &str, header: &str, n: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with(header))
        .nth(n)
        .map(|(i, _)| i + 1)
}

/// The 1-based line where `key` is given a value (`key = ...`, bare or
/// quoted), at or after line `from`.
pub fn line_of_key(text: &str, key: &str, from: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, l)| {
            let t = l.trim_start();
            let t = t.strip_prefix('"').map_or(t, |r| r);
            t.strip_prefix(key).is_some_and(|rest| {
                let rest = rest.strip_prefix('"').unwrap_or(rest);
                rest.trim_start().starts_with('=')
            })
        })
        .map(|(i, _)| i + 1)
}

/// The dialects with a folder of their own in `dialects/`.
pub const DIALECTS: [Dialect; 3] = [Dialect::Mandarin, Dialect::Sichuanese, Dialect::Cantonese];

macro_rules! files {
    ($($path:literal),+ $(,)?) => {
        /// Every file of a script, relative to its folder.
        pub const FILES: &[&str] = &[$($path),+];

        fn builtin_text(path: &str) -> &'static str {
            match path {
                $($path => include_str!(concat!("../../../dialects/", $path)),)+
                _ => "",
            }
        }
    };
}

files! {
    "policy.toml",
    "announcements.toml",
    "forbidden.txt",
    "qa.toml",
    "mandarin/dialect.toml",
    "mandarin/lexicon.tsv",
    "mandarin/lines.toml",
    "mandarin/intents.toml",
    "mandarin/utterances.tsv",
    "mandarin/qa.toml",
    "sichuanese/dialect.toml",
    "sichuanese/lexicon.tsv",
    "sichuanese/lines.toml",
    "sichuanese/utterances.tsv",
    "sichuanese/qa.toml",
    "cantonese/dialect.toml",
    "cantonese/lexicon.tsv",
    "cantonese/lines.toml",
    "cantonese/utterances.tsv",
    "cantonese/qa.toml",
}

/// The texts of a script's files.
#[derive(Debug, Clone)]
pub struct ScriptFiles {
    /// Where they were read from; none for the built-in ones.
    root: Option<PathBuf>,
    texts: BTreeMap<&'static str, String>,
}

impl ScriptFiles {
    /// The script compiled into this binary.
    pub fn builtin() -> ScriptFiles {
        ScriptFiles {
            root: None,
            texts: FILES
                .iter()
                .map(|f| (*f, builtin_text(f).to_string()))
                .collect(),
        }
    }

    /// The script in `dir` (laid out as `dialects/`); a file missing or
    /// unreadable is an error naming it.
    pub fn load(dir: &Path) -> Result<ScriptFiles, ScriptError> {
        let mut texts = BTreeMap::new();
        for f in FILES {
            let path = dir.join(f);
            let text = std::fs::read_to_string(&path)
                .map_err(|e| ScriptError::new(&path.display().to_string(), None, e.to_string()))?;
            texts.insert(*f, text);
        }
        Ok(ScriptFiles {
            root: Some(dir.to_path_buf()),
            texts,
        })
    }

    /// A file's name as errors give it: its path, or `dialects/...`.
    pub fn name(&self, file: &str) -> String {
        match &self.root {
            Some(root) => root.join(file).display().to_string(),
            None => format!("dialects/{file}"),
        }
    }

    /// A file's text (every file of [`FILES`] is there).
    pub fn text(&self, file: &str) -> &str {
        self.texts.get(file).map(String::as_str).unwrap_or("")
    }

    /// The file of a dialect's folder (`lines.toml` of Cantonese is
    /// `cantonese/lines.toml`).
    pub fn of(dialect: Dialect, file: &str) -> String {
        format!("{}/{file}", dialect.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_found_by_key_and_header() {
        let text = "[a]\nx = 1\n\n[[rule]]\ny = 2\n[[rule]]\n\"z\" = 3\n";
        assert_eq!(line_of_key(text, "x", 1), Some(2));
        assert_eq!(line_of_key(text, "z", 1), Some(7));
        assert_eq!(line_of_nth(text, "[[rule]]", 1), Some(6));
        assert_eq!(line_at(text, 0), 1);
        assert_eq!(line_at(text, 5), 2);
    }

    #[test]
    fn the_builtin_script_has_every_file() {
        let s = ScriptFiles::builtin();
        for f in FILES {
            assert!(!s.text(f).is_empty(), "{f}");
        }
    }
}
