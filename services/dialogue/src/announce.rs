//! What a carrier recording says instead of a person: the early media
//! before answer, or the first seconds after it. Mainland operators play a
//! handful of fixed announcements (in Mandarin, often repeated in English
//! and Cantonese); recognised text is matched against them, homophone
//! errors forgiven, so the dialer can record the right disposition instead
//! of talking to a recording.

use crate::normalize::simplify;
use crate::script::{line_of_nth, ScriptError};
use huikuan_core::matcher::{glyphs, Matchable};
use huikuan_core::Disposition;
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    phrase: String,
    disposition: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AnnouncementsFile {
    announcement: Vec<Entry>,
    #[serde(default)]
    english: Vec<Entry>,
}

/// The announcements of `dialects/announcements.toml`: (phrase,
/// disposition), checked in order, the first to match wins.
#[derive(Debug, Clone)]
pub struct Announcements {
    chinese: Vec<(String, Disposition)>,
    english: Vec<(String, Disposition)>,
}

impl Announcements {
    pub fn builtin() -> Announcements {
        Announcements::parse(
            "dialects/announcements.toml",
            include_str!("../../../dialects/announcements.toml"),
        )
        .expect("built-in announcements are valid")
    }

    /// Errors name the file and the line of the entry.
    pub fn parse(file: &str, text: &str) -> Result<Announcements, ScriptError> {
        let f: AnnouncementsFile =
            toml::from_str(text).map_err(|e| ScriptError::toml(file, text, &e))?;
        let read = |entries: Vec<Entry>, header: &str| {
            entries
                .into_iter()
                .enumerate()
                .map(|(i, e)| {
                    let at = line_of_nth(text, header, i);
                    if e.phrase.trim().is_empty() {
                        return Err(ScriptError::new(file, at, "phrase: empty"));
                    }
                    let d = e
                        .disposition
                        .parse::<Disposition>()
                        .map_err(|why| ScriptError::new(file, at, format!("disposition: {why}")))?;
                    Ok((e.phrase, d))
                })
                .collect::<Result<Vec<_>, ScriptError>>()
        };
        Ok(Announcements {
            chinese: read(f.announcement, "[[announcement]]")?,
            english: read(f.english, "[[english]]")?
                .into_iter()
                .map(|(p, d)| (p.to_lowercase().replace([' ', '-'], ""), d))
                .collect(),
        })
    }

    /// The disposition a carrier announcement means, and the phrase that
    /// said so, or `None` when the text does not sound like one (a person
    /// answering).
    pub fn classify(&self, transcript: &str) -> Option<(Disposition, &str)> {
        let text: String = simplify(transcript)
            .chars()
            .filter(|c| {
                !c.is_whitespace() && !c.is_ascii_punctuation() && !"，。！？、".contains(*c)
            })
            .collect();
        for (phrase, d) in &self.chinese {
            let mut m = Matchable::new(&text);
            if m.take(&glyphs(phrase), true).0 > 0 {
                return Some((*d, phrase));
            }
        }
        let lower = text.to_lowercase();
        self.english
            .iter()
            .find(|(phrase, _)| lower.contains(phrase.as_str()))
            .map(|(phrase, d)| (*d, phrase.as_str()))
    }
}

/// The built-in announcements' verdict on `transcript` (see
/// [`Announcements::classify`]).
pub fn classify_announcement(transcript: &str) -> Option<Disposition> {
    static BUILTIN: std::sync::OnceLock<Announcements> = std::sync::OnceLock::new();
    BUILTIN
        .get_or_init(Announcements::builtin)
        .classify(transcript)
        .map(|(d, _)| d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Disposition::*;

    #[test]
    fn operator_announcements_map_to_dispositions() {
        let d = |t: &str| classify_announcement(t);
        assert_eq!(d("您好，您拨打的电话已关机。"), Some(PoweredOff));
        assert_eq!(d("您拨打的号码是空号，请查证后再拨"), Some(InvalidNumber));
        assert_eq!(d("您拨打的电话已停机"), Some(InvalidNumber));
        assert_eq!(d("您拨打的用户正在通话中，请稍后再拨"), Some(Busy));
        assert_eq!(d("您拨打的电话暂时无法接通，请稍后再拨"), Some(NoAnswer));
        assert_eq!(d("您拨打的用户暂时无人接听"), Some(NoAnswer));
        assert_eq!(d("您拨打的电话不在服务区"), Some(NoAnswer));
        assert_eq!(d("请在嘀声后留言"), Some(Voicemail));
        assert_eq!(d("The number you dialed is powered off"), Some(PoweredOff));
        // Recognition errors: 关鸡 for 关机, 孔号 for 空号.
        assert_eq!(d("您拨打的电话已关鸡"), Some(PoweredOff));
        assert_eq!(d("您拨打的号码是孔号"), Some(InvalidNumber));
        // A person.
        assert_eq!(d("喂，你好，哪位"), None);
        assert_eq!(d("是我，什么事"), None);
    }
}
