//! Debtor text to the standard Mandarin the intent patterns are written in:
//! Traditional to Simplified, full-width to half-width, punctuation and
//! fillers out, and dialect words replaced by their standard forms from the
//! dialect packs' lexicons (啥子 -> 什么, 莫得 -> 没有, 冇 -> 没有,
//! 聽日 -> 明天). Multi-character dialect words are replaced whatever the
//! call's dialect (debtors mix); single characters only for the call's own
//! dialect, where they cannot be a Mandarin word (系 is "is" in Cantonese
//! but part of 关系 in Mandarin).

use huikuan_core::pack::DialectPacks;
use huikuan_core::Dialect;

/// Hesitation sounds that carry no meaning.
const FILLERS: &[char] = &[
    '呃', '唔', '嗯', '啊', '哦', '噢', '呀', '哎', '诶', '哈', '喔',
];

pub struct Normalizer {
    /// (dialect form, standard form, dialect), longest first.
    lexicon: Vec<(Vec<char>, String, Dialect)>,
}

impl Normalizer {
    pub fn new(packs: &DialectPacks) -> Self {
        let mut lexicon = Vec::new();
        for pack in packs.iter() {
            for (from, to) in &pack.lexicon {
                let from_s: Vec<char> = simplify(from).chars().collect();
                if !from_s.is_empty() {
                    lexicon.push((from_s, to.clone(), pack.dialect));
                }
            }
        }
        lexicon.sort_by_key(|(f, _, _)| std::cmp::Reverse(f.len()));
        Normalizer { lexicon }
    }

    /// The standard-Mandarin form of `text` spoken in `dialect`.
    pub fn normalize(&self, text: &str, dialect: Dialect) -> String {
        let t = simplify(text);
        let chars: Vec<char> = t
            .chars()
            .filter(|c| !c.is_whitespace() && !is_punct(*c))
            .collect();
        let mut out = String::with_capacity(t.len());
        let mut i = 0;
        'outer: while i < chars.len() {
            for (from, to, d) in &self.lexicon {
                if from.len() == 1 && *d != dialect {
                    continue;
                }
                if chars[i..].starts_with(from) {
                    out.push_str(to);
                    i += from.len();
                    continue 'outer;
                }
            }
            let c = chars[i];
            // 嗯/唔 alone or repeated is a filler; 唔 before a verb in
            // Cantonese ("唔还") was already mapped to 不 by the lexicon.
            if !FILLERS.contains(&c) {
                out.push(c);
            }
            i += 1;
        }
        out
    }
}

impl Normalizer {
    /// As [`Normalizer::normalize`], clause by clause: `text` split where
    /// its punctuation ends a clause (，。！？；), each part normalized and
    /// empty ones left out. Phrases are matched within a clause, so
    /// 不是，我现在没钱 is a no and no money, not 不是我.
    pub fn normalize_clauses(&self, text: &str, dialect: Dialect) -> Vec<String> {
        simplify(text)
            .split(|c: char| CLAUSE_ENDS.contains(&c))
            .map(|clause| self.normalize(clause, dialect))
            .filter(|c| !c.is_empty())
            .collect()
    }
}

/// Punctuation that ends a clause (after [`simplify`]: full-width forms
/// are half-width by then). Not '.', which is a decimal point in 3.5.
const CLAUSE_ENDS: &[char] = &[',', '!', '?', ';', '。', '，', '！', '？', '；'];

/// Simplified script, half-width forms, lower case.
pub fn simplify(text: &str) -> String {
    huikuan_core::script::half_width(&huikuan_core::script::to_simplified(text))
        .chars()
        .flat_map(char::to_lowercase)
        .collect()
}

fn is_punct(c: char) -> bool {
    c.is_ascii_punctuation() && c != '%' && c != '.' && c != ':'
        || "，。！？、；：“”‘’（）《》【】…—～·".contains(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(text: &str, d: Dialect) -> String {
        Normalizer::new(&DialectPacks::builtin()).normalize(text, d)
    }

    #[test]
    fn dialect_words_become_standard() {
        assert_eq!(
            n("我莫得钱，晓得不？", Dialect::Sichuanese),
            "我没有钱知道不"
        );
        assert_eq!(n("啥子钱哦", Dialect::Sichuanese), "什么钱");
        assert_eq!(
            n("我而家冇錢，聽日先還", Dialect::Cantonese),
            "我现在没有钱明天先还"
        );
        assert_eq!(n("佢唔喺度", Dialect::Cantonese), "他不在度");
        // Code-switching: a Cantonese word in a Mandarin call.
        assert_eq!(n("嗯，我听日还", Dialect::Mandarin), "我明天还");
        // Single characters stay Mandarin in a Mandarin call.
        assert_eq!(n("我们没关系", Dialect::Mandarin), "我们没关系");
        assert_eq!(n("ＯＫ，好的！", Dialect::Mandarin), "ok好的");
    }

    #[test]
    fn clauses_are_normalized_apart() {
        let packs = huikuan_core::pack::DialectPacks::builtin();
        let norm = Normalizer::new(&packs);
        assert_eq!(
            norm.normalize_clauses("不是，我现在冇钱。", Dialect::Cantonese),
            ["不是", "我现在没有钱"]
        );
        assert_eq!(
            norm.normalize_clauses("嗯，我还3.5千", Dialect::Mandarin),
            ["我还3.5千"]
        );
    }
}
