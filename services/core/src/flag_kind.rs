//! The kinds of quality flag an inspection raises: a closed set, each
//! with its name (as the results, the pages and `huikuan qa --json` spell
//! it) and what it means to a supervisor. The inspection (`huikuan-qa`)
//! raises them; the console filters and explains them.

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

macro_rules! flag_kinds {
    ($($variant:ident => $name:literal, $about:literal;)+) => {
        /// The kinds of flag, each with what it means.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum FlagKind { $($variant),+ }

        impl FlagKind {
            pub const ALL: &'static [FlagKind] = &[$(FlagKind::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(FlagKind::$variant => $name),+ }
            }

            /// One sentence for supervisors.
            pub fn about(self) -> &'static str {
                match self { $(FlagKind::$variant => $about),+ }
            }
        }

        impl FromStr for FlagKind {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim() {
                    $($name => Ok(FlagKind::$variant),)+
                    other => Err(format!(
                        "'{}' is not a flag type (one of {})",
                        crate::truncate(other, crate::ECHO_CHARS),
                        [$($name),+].join(", ")
                    )),
                }
            }
        }
    };
}

flag_kinds! {
    ForbiddenWording => "forbidden_wording", "the collector said something collectors must never say (threats, insults, posing as an authority, exaggerated consequences, telling third parties, the debt before identity is verified)";
    MissingDisclosure => "missing_disclosure", "a statement the collector must make was not made (who calls for which lender, the recording notice, a promise read back)";
    RudeAttitude => "rude_attitude", "the collector's wording was rude or contemptuous";
    TalkOver => "talk_over", "both sides spoke at once for long";
    LongSilence => "long_silence", "no one spoke for long in the middle of the call";
    Agitation => "agitation", "a raised voice: pitch and loudness well above the speaker's own level in the call, or agitated wording";
    SpeechRate => "speech_rate", "the collector spoke too fast to follow";
}

impl Serialize for FlagKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl fmt::Display for FlagKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
