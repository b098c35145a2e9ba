//! Phone numbers: mainland China mobile and landline numbers and E.164,
//! normalised to E.164 (`+8613812345678`).

use std::fmt;
use std::str::FromStr;

/// A validated phone number in E.164 form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn e164(&self) -> &str {
        &self.0
    }

    /// The number as dialled inside mainland China (`13812345678`,
    /// `02812345678`), or the E.164 form for other countries.
    pub fn national(&self) -> String {
        match self.0.strip_prefix("+86") {
            Some(rest) if rest.starts_with('1') => rest.to_string(),
            Some(rest) => format!("0{rest}"),
            None => self.0.clone(),
        }
    }

    pub fn is_mobile(&self) -> bool {
        self.0.starts_with("+861")
    }

    /// The number with its middle digits hidden (`+86138****5678`): what a
    /// log line, an error or a person without the right to see it gets.
    pub fn masked(&self) -> String {
        mask(&self.0)
    }
}

/// Hides the middle digits of anything that may be a phone number, as
/// written (`13812345678` -> `138****5678`, `+8613812345678` ->
/// `+86138****5678`): the first three and last four digits stay when there
/// are at least eight, the first and last two of shorter ones, none of
/// four or fewer. Other characters are kept.
pub fn mask(text: &str) -> String {
    let (prefix, rest) = match text.strip_prefix("+86") {
        Some(rest) => ("+86", rest),
        None => ("", text),
    };
    let digits = rest.chars().filter(char::is_ascii_digit).count();
    let (head, tail) = match digits {
        0..=4 => (0, 0),
        5..=7 => (1, 2),
        _ => (3, 4),
    };
    let mut seen = 0;
    let mut out = String::with_capacity(text.len());
    out.push_str(prefix);
    for c in rest.chars() {
        if c.is_ascii_digit() {
            seen += 1;
            out.push(if seen <= head || seen > digits - tail {
                c
            } else {
                '*'
            });
        } else {
            out.push(c);
        }
    }
    out
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn digits_only(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Mainland mobile: 11 digits, `1[3-9]` prefix.
fn is_cn_mobile(n: &str) -> bool {
    n.len() == 11
        && digits_only(n)
        && n.as_bytes()[0] == b'1'
        && (b'3'..=b'9').contains(&n.as_bytes()[1])
}

/// Mainland landline without trunk prefix: area code (2 digits for 10/2x,
/// 3 digits otherwise) then a 7 or 8 digit subscriber number.
fn is_cn_landline(n: &str) -> bool {
    if !digits_only(n) || n.starts_with('0') || (n.starts_with('1') && !n.starts_with("10")) {
        return false;
    }
    let area = if n.starts_with("10") || n.starts_with('2') {
        2
    } else {
        3
    };
    let sub = n.len().saturating_sub(area);
    (7..=8).contains(&sub)
}

impl FromStr for PhoneNumber {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let raw = s.trim();
        if raw.is_empty() {
            return Err("empty phone number".into());
        }
        let compact: String = raw
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '.'))
            .collect();
        let bad = || {
            format!(
                "'{}' is not a mainland mobile/landline or E.164 number",
                mask(&crate::truncate(raw, 40))
            )
        };
        let (intl, rest) = if let Some(r) = compact.strip_prefix('+') {
            (true, r.to_string())
        } else if let Some(r) = compact.strip_prefix("0086") {
            (true, format!("86{r}"))
        } else {
            (false, compact.clone())
        };
        if !digits_only(&rest) {
            return Err(bad());
        }
        if intl {
            if let Some(cn) = rest.strip_prefix("86") {
                if is_cn_mobile(cn) || is_cn_landline(cn) {
                    return Ok(PhoneNumber(format!("+86{cn}")));
                }
                return Err(bad());
            }
            // Other countries: E.164 allows at most 15 digits, no leading 0.
            if (8..=15).contains(&rest.len()) && !rest.starts_with('0') {
                return Ok(PhoneNumber(format!("+{rest}")));
            }
            return Err(bad());
        }
        if is_cn_mobile(&rest) {
            return Ok(PhoneNumber(format!("+86{rest}")));
        }
        if let Some(n) = rest.strip_prefix('0') {
            if is_cn_landline(n) {
                return Ok(PhoneNumber(format!("+86{n}")));
            }
        }
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<String, String> {
        s.parse::<PhoneNumber>().map(|p| p.0)
    }

    #[test]
    fn normalises_mainland_numbers() {
        assert_eq!(p("13812345678").unwrap(), "+8613812345678");
        assert_eq!(p("138 1234 5678").unwrap(), "+8613812345678");
        assert_eq!(p("+86 138-1234-5678").unwrap(), "+8613812345678");
        assert_eq!(p("008613812345678").unwrap(), "+8613812345678");
        assert_eq!(p("028-85123456").unwrap(), "+862885123456");
        assert_eq!(p("010-12345678").unwrap(), "+861012345678");
        assert_eq!(p("0755-2345678").unwrap(), "+867552345678");
        assert_eq!(p("+852 9123 4567").unwrap(), "+85291234567");
    }

    #[test]
    fn rejects_malformed_numbers() {
        for bad in [
            "",
            "12812345678",
            "1381234567",
            "138123456789",
            "abc",
            "+86 12345",
            "0000",
            "+0123456789",
        ] {
            assert!(p(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn national_form_restores_the_trunk_prefix() {
        assert_eq!(
            "028-85123456".parse::<PhoneNumber>().unwrap().national(),
            "02885123456"
        );
        assert_eq!(
            "13812345678".parse::<PhoneNumber>().unwrap().national(),
            "13812345678"
        );
    }
}
