//! Audit lines the console writes, one function per kind of event so the
//! action names stay a closed, greppable set.

use crate::error::ConsoleError;
use crate::session::CurrentUser;
use crate::Console;

/// The actions the console records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Login,
    LoginFailed,
    LoginLocked,
    Logout,
    Forbidden,
    CsrfRejected,
    AgentState,
    ViewAccount,
    ViewAudit,
    UserAdd,
    UserDisable,
    UserEnable,
    UserPassword,
    UserRole,
    ScreenPop,
    AcceptCall,
    DeclineCall,
    HangupCall,
    Disposition,
    ListenIn,
    /// A call's quality inspection opened.
    ViewInspection,
    /// A call's recording played (its first request).
    PlayRecording,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Login => "login",
            Action::LoginFailed => "login_failed",
            Action::LoginLocked => "login_locked",
            Action::Logout => "logout",
            Action::Forbidden => "forbidden",
            Action::CsrfRejected => "csrf_rejected",
            Action::AgentState => "agent_state",
            Action::ViewAccount => "view_account",
            Action::ViewAudit => "view_audit",
            Action::UserAdd => "user_add",
            Action::UserDisable => "user_disable",
            Action::UserEnable => "user_enable",
            Action::UserPassword => "user_password",
            Action::UserRole => "user_role",
            Action::ScreenPop => "screen_pop",
            Action::AcceptCall => "accept_call",
            Action::DeclineCall => "decline_call",
            Action::HangupCall => "hangup_call",
            Action::Disposition => "disposition",
            Action::ListenIn => "listen_in",
            Action::ViewInspection => "view_inspection",
            Action::PlayRecording => "play_recording",
        }
    }
}

impl Console {
    /// Records what `actor` did; the request fails if the line cannot be
    /// written.
    pub async fn audit(
        &self,
        actor: &str,
        action: Action,
        subject: &str,
        detail: &str,
        remote: &str,
    ) -> Result<(), ConsoleError> {
        self.store()
            .audit(actor, action.as_str(), subject, detail, remote)
            .await?;
        Ok(())
    }

    /// Records what the logged-in user did.
    pub async fn audit_by(
        &self,
        me: &CurrentUser,
        action: Action,
        subject: &str,
        detail: &str,
    ) -> Result<(), ConsoleError> {
        self.audit(&me.user.name, action, subject, detail, &me.remote)
            .await
    }
}
