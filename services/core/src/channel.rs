//! Who makes a planned call: a closed set, with what each means for the
//! dialers beside it.

use std::fmt;
use std::str::FromStr;

macro_rules! channels {
    ($($variant:ident => $name:literal, dialled: $dialled:literal, $doc:literal;)+) => {
        /// Who makes a planned call.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Channel { $(#[doc = $doc] $variant),+ }

        impl Channel {
            pub const ALL: [Channel; [$($name),+].len()] = [$(Channel::$variant),+];
            /// The names, in [`Channel::ALL`]'s order.
            pub const NAMES: [&'static str; [$($name),+].len()] = [$($name),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Channel::$variant => $name),+ }
            }

            /// The dialers place the call (the robot's, and the agents'
            /// through the ACD); otherwise its team calls on its own.
            pub fn is_dialled(self) -> bool {
                match self { $(Channel::$variant => $dialled),+ }
            }
        }
    };
}

channels! {
    Robot => "robot", dialled: true, "The robot talks to the debtor.";
    Agent => "agent", dialled: true, "An agent with the debtor's dialect, through the ACD: the robot only greets.";
    Specialist => "specialist", dialled: false, "The specialist team (hardship, disputes), outside the dialler.";
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Channel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Channel::ALL
            .into_iter()
            .find(|c| c.as_str() == s.trim())
            .ok_or_else(|| {
                format!(
                    "'{}' is not one of {}",
                    crate::truncate(s, crate::ECHO_CHARS),
                    Channel::NAMES.join(", ")
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_reads_back_from_its_name_and_only_the_specialists_are_not_dialled() {
        for c in Channel::ALL {
            assert_eq!(c.as_str().parse::<Channel>(), Ok(c));
            assert_eq!(c.is_dialled(), c != Channel::Specialist);
        }
        let e = "robots".parse::<Channel>().unwrap_err();
        assert!(e.contains("robot, agent, specialist"), "{e}");
    }
}
