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

string_enum! {
    /// A campaign's plan for one day: made as a `draft`, `approved` by a
    /// manager, `executing` once its first call is dialled, `paused` and
    /// resumed by a manager, `done` when its day is over or a later day's
    /// plan is approved.
    PlanStatus {
        Draft => "draft",
        Approved => "approved",
        Executing => "executing",
        Paused => "paused",
        Done => "done",
    }
}

impl PlanStatus {
    /// Whether calls the plan released are dialled.
    pub fn dispatches(self) -> bool {
        matches!(self, PlanStatus::Approved | PlanStatus::Executing)
    }

    /// Whether a manager may still change the plan's calls.
    pub fn editable(self) -> bool {
        !matches!(self, PlanStatus::Done)
    }

    /// The status `action` leads to from this one, or why it cannot.
    pub fn after(self, action: PlanAction) -> Result<PlanStatus, String> {
        use PlanStatus::*;
        match (action, self) {
            (PlanAction::Approve, Draft) => Ok(Approved),
            (PlanAction::Pause, Approved | Executing) => Ok(Paused),
            (PlanAction::Resume, Paused) => Ok(Approved),
            (action, status) => Err(format!(
                "a plan that is {status} cannot be {}",
                action.done_word()
            )),
        }
    }
}

/// What a manager does to a whole plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanAction {
    Approve,
    Pause,
    Resume,
}

impl PlanAction {
    pub const ALL: [PlanAction; 3] = [PlanAction::Approve, PlanAction::Pause, PlanAction::Resume];

    pub fn as_str(self) -> &'static str {
        match self {
            PlanAction::Approve => "approve",
            PlanAction::Pause => "pause",
            PlanAction::Resume => "resume",
        }
    }

    fn done_word(self) -> &'static str {
        match self {
            PlanAction::Approve => "approved",
            PlanAction::Pause => "paused",
            PlanAction::Resume => "resumed",
        }
    }
}

impl std::str::FromStr for PlanAction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PlanAction::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown plan action '{}': approve, pause or resume",
                    crate::truncate(s, crate::ECHO_CHARS)
                )
            })
    }
}

string_enum! {
    /// One planned call: `planned` until its account's day is over for the
    /// plan (`done`: called as far as the rules allow, or re-planned off
    /// the day), or `excluded` by a manager.
    PlannedCallState {
        Planned => "planned",
        Excluded => "excluded",
        Done => "done",
    }
}

#[cfg(test)]
mod plan_tests {
    use super::*;

    #[test]
    fn a_plan_is_approved_once_paused_and_resumed_and_never_leaves_done() {
        use PlanStatus::*;
        assert_eq!(Draft.after(PlanAction::Approve), Ok(Approved));
        assert!(Approved.after(PlanAction::Approve).is_err());
        assert_eq!(Executing.after(PlanAction::Pause), Ok(Paused));
        assert_eq!(Paused.after(PlanAction::Resume), Ok(Approved));
        assert!(Draft.after(PlanAction::Pause).is_err());
        for a in [PlanAction::Approve, PlanAction::Pause, PlanAction::Resume] {
            let e = Done.after(a).unwrap_err();
            assert!(e.contains("done"), "{e}");
        }
        for a in PlanAction::ALL {
            assert_eq!(a.as_str().parse(), Ok(a));
        }
        assert!("delete".parse::<PlanAction>().is_err());
        assert!(Approved.dispatches() && Executing.dispatches());
        assert!(!Draft.dispatches() && !Paused.dispatches() && !Done.dispatches());
    }
}
