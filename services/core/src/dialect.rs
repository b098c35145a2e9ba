//! The dialects the robot speaks, and the prior a debtor's province gives.

use std::fmt;
use std::str::FromStr;

/// A spoken variety of Chinese the robot can use on a call.
///
/// `Auto` means "decide from the region prior and what the debtor says".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dialect {
    Mandarin,
    Sichuanese,
    Cantonese,
    Auto,
}

impl Dialect {
    pub const ALL: [Dialect; 4] = [
        Self::Mandarin,
        Self::Sichuanese,
        Self::Cantonese,
        Self::Auto,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mandarin => "mandarin",
            Self::Sichuanese => "sichuanese",
            Self::Cantonese => "cantonese",
            Self::Auto => "auto",
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Dialect {
    type Err = String;

    /// Accepts the canonical English names and the common Chinese ones.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "mandarin" | "普通话" | "zh" | "cmn" => Ok(Self::Mandarin),
            "sichuanese" | "川普" | "四川话" | "sichuan" => Ok(Self::Sichuanese),
            "cantonese" | "粤语" | "廣東話" | "广东话" | "yue" => Ok(Self::Cantonese),
            "auto" | "" => Ok(Self::Auto),
            other => Err(format!(
                "unknown dialect '{}' (expected mandarin, sichuanese, cantonese or auto)",
                crate::truncate(other, crate::ECHO_CHARS)
            )),
        }
    }
}
