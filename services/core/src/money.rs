//! Money in yuan, exact to the fen (0.01). Stored as integer fen, never as a
//! float.

use rust_decimal::Decimal;
use std::fmt;
use std::str::FromStr;

/// An amount of renminbi, non-negative, with at most two decimal places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money {
    fen: i64,
}

/// Largest amount accepted on import: 100 million yuan. A consumer loan above
/// that is a data error, not a debt.
const MAX_FEN: i64 = 100_000_000 * 100;

impl Money {
    pub const ZERO: Money = Money { fen: 0 };

    pub fn from_fen(fen: i64) -> Self {
        Money { fen }
    }

    pub fn fen(self) -> i64 {
        self.fen
    }

    pub fn yuan(self) -> Decimal {
        Decimal::new(self.fen, 2)
    }

    pub fn from_decimal(d: Decimal) -> Result<Self, String> {
        if d.is_sign_negative() && !d.is_zero() {
            return Err("must not be negative".into());
        }
        if d.normalize().scale() > 2 {
            return Err("more than two decimal places".into());
        }
        let fen = (d * Decimal::ONE_HUNDRED)
            .trunc()
            .try_into()
            .map_err(|_| "too large".to_string())?;
        if fen > MAX_FEN {
            return Err("larger than 100,000,000 yuan".into());
        }
        Ok(Money { fen })
    }
}

impl FromStr for Money {
    type Err = String;

    /// Parses `3250.5`, `3,250.50`, `¥3250.50`, `￥3250`, `3250元`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        let t = t
            .strip_prefix('¥')
            .or_else(|| t.strip_prefix('￥'))
            .unwrap_or(t);
        let t = t.strip_suffix('元').unwrap_or(t).trim();
        if t.is_empty() {
            return Err("empty amount".into());
        }
        let cleaned: String = t.chars().filter(|c| *c != ',').collect();
        if !cleaned
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '-')
        {
            return Err(format!(
                "'{}' is not an amount in yuan",
                crate::truncate(s, crate::ECHO_CHARS)
            ));
        }
        let d = Decimal::from_str(&cleaned).map_err(|_| {
            format!(
                "'{}' is not an amount in yuan",
                crate::truncate(s, crate::ECHO_CHARS)
            )
        })?;
        Money::from_decimal(d)
    }
}

/// As its text (`"3250.50"`): exact, and what people and other systems read.
impl serde::Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Money {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.fen / 100, self.fen % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_found_in_portfolios() {
        assert_eq!("3250.50".parse::<Money>().unwrap().fen(), 325_050);
        assert_eq!("3,250.5".parse::<Money>().unwrap().fen(), 325_050);
        assert_eq!("¥3250".parse::<Money>().unwrap().fen(), 325_000);
        assert_eq!("￥12元".parse::<Money>().unwrap().fen(), 1_200);
        assert_eq!("0".parse::<Money>().unwrap(), Money::ZERO);
    }

    #[test]
    fn rejects_what_is_not_money() {
        assert!("-5".parse::<Money>().unwrap_err().contains("negative"));
        assert!("1.234"
            .parse::<Money>()
            .unwrap_err()
            .contains("decimal places"));
        assert!("abc".parse::<Money>().is_err());
        assert!("".parse::<Money>().is_err());
        assert!("1e5".parse::<Money>().is_err());
        assert!("200000000".parse::<Money>().is_err());
    }

    #[test]
    fn displays_exactly_two_places() {
        assert_eq!(Money::from_fen(325_050).to_string(), "3250.50");
        assert_eq!(Money::from_fen(7).to_string(), "0.07");
        assert_eq!(Money::from_fen(325_050).yuan().to_string(), "3250.50");
    }
}
