//! Character error rate: Levenshtein distance over characters of the
//! scoring form, divided by the reference length.

use super::normalize::scoring_form;

/// Edit distance between two character sequences.
pub fn edit_distance(a: &[char], b: &[char]) -> usize {
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Errors and reference length of one hypothesis against its reference,
/// both normalised to the scoring form first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CerCount {
    pub errors: usize,
    pub ref_chars: usize,
}

impl CerCount {
    pub fn of(reference: &str, hypothesis: &str) -> CerCount {
        let r: Vec<char> = scoring_form(reference).chars().collect();
        let h: Vec<char> = scoring_form(hypothesis).chars().collect();
        CerCount {
            errors: edit_distance(&r, &h),
            ref_chars: r.len(),
        }
    }

    pub fn rate(&self) -> f64 {
        if self.ref_chars == 0 {
            return if self.errors == 0 { 0.0 } else { 1.0 };
        }
        self.errors as f64 / self.ref_chars as f64
    }

    pub fn add(&mut self, other: CerCount) {
        self.errors += other.errors;
        self.ref_chars += other.ref_chars;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_substitutions_insertions_deletions() {
        let c = |s: &str| s.chars().collect::<Vec<_>>();
        assert_eq!(edit_distance(&c("还款日期"), &c("还款日期")), 0);
        assert_eq!(edit_distance(&c("还款日期"), &c("换款日期")), 1);
        assert_eq!(edit_distance(&c("还款日期"), &c("还款日")), 1);
        assert_eq!(edit_distance(&c("还款"), &c("还款了吗")), 2);
        assert_eq!(edit_distance(&c(""), &c("abc")), 3);
        let n = CerCount::of("我明天还三千元。", "我明天換3000元");
        assert_eq!(n.ref_chars, 7);
        assert_eq!(n.errors, 1);
        assert!((n.rate() - 1.0 / 7.0).abs() < 1e-9);
    }
}
