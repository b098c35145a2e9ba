//! What a carrier recording says instead of a person: the early media
//! before answer, or the first seconds after it. Mainland operators play a
//! handful of fixed announcements (in Mandarin, often repeated in English
//! and Cantonese); recognised text is matched against them, homophone
//! errors forgiven, so the dialer can record the right disposition instead
//! of talking to a recording.

use crate::matcher::{glyphs, Matchable};
use crate::normalize::simplify;
use huikuan_core::Disposition;

/// (phrase, disposition), checked in order: the first to match wins.
const ANNOUNCEMENTS: &[(&str, Disposition)] = &[
    ("已关机", Disposition::PoweredOff),
    ("关机", Disposition::PoweredOff),
    ("是空号", Disposition::InvalidNumber),
    ("空号", Disposition::InvalidNumber),
    ("号码不存在", Disposition::InvalidNumber),
    ("已停机", Disposition::InvalidNumber),
    ("停机", Disposition::InvalidNumber),
    ("号码有误", Disposition::InvalidNumber),
    ("查证后再拨", Disposition::InvalidNumber),
    ("正在通话中", Disposition::Busy),
    ("通话中", Disposition::Busy),
    ("用户忙", Disposition::Busy),
    ("无法接通", Disposition::NoAnswer),
    ("暂时无人接听", Disposition::NoAnswer),
    ("无人接听", Disposition::NoAnswer),
    ("不在服务区", Disposition::NoAnswer),
    ("留言", Disposition::Voicemail),
    ("语音信箱", Disposition::Voicemail),
    ("嘀声后", Disposition::Voicemail),
    ("滴声后", Disposition::Voicemail),
    ("秘书", Disposition::Voicemail),
];

/// The disposition a carrier announcement means, or `None` when the text
/// does not sound like one (a person answering).
pub fn classify_announcement(transcript: &str) -> Option<(Disposition, &'static str)> {
    let text: String = simplify(transcript)
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_ascii_punctuation() && !"，。！？、".contains(*c))
        .collect();
    let lower = text.to_lowercase();
    for (phrase, d) in ANNOUNCEMENTS {
        let mut m = Matchable::new(&text);
        if m.take(&glyphs(phrase), true).0 > 0 {
            return Some((*d, phrase));
        }
    }
    // The English versions some operators append.
    for (phrase, d) in [
        ("poweredoff", Disposition::PoweredOff),
        ("doesnotexist", Disposition::InvalidNumber),
        ("isbusy", Disposition::Busy),
        ("cannotbeconnected", Disposition::NoAnswer),
        ("notavailable", Disposition::NoAnswer),
    ] {
        if lower.contains(phrase) {
            return Some((d, phrase));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use Disposition::*;

    #[test]
    fn operator_announcements_map_to_dispositions() {
        let d = |t: &str| classify_announcement(t).map(|(d, _)| d);
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
