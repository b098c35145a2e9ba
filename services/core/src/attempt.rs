//! Lifecycle states of campaigns, call attempts and promises to pay.

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($s => Ok($name::$variant),)+
                    other => Err(format!("unknown {} '{}'", stringify!($name), crate::truncate(other, crate::ECHO_CHARS))),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum! {
    /// A campaign dispatches calls only while active.
    CampaignStatus { Active => "active", Paused => "paused" }
}

string_enum! {
    /// `queued` -> `leased` -> `completed`; an expired lease goes back to
    /// `queued`; `cancelled` when the contact became uncallable (DNC).
    AttemptStatus {
        Queued => "queued",
        Leased => "leased",
        Completed => "completed",
        Cancelled => "cancelled",
    }
}

string_enum! {
    /// A promise to pay is pending until its date passes: then kept or broken.
    PromiseStatus { Pending => "pending", Kept => "kept", Broken => "broken" }
}

string_enum! {
    /// How an import run stands: `running` while rows arrive, then
    /// `finished`, `cancelled` (stopped by its client or operator; whole
    /// batches were kept) or `interrupted` (its process died).
    ImportState {
        Running => "running",
        Finished => "finished",
        Cancelled => "cancelled",
        Interrupted => "interrupted",
    }
}
