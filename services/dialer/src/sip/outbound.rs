//! Outbound calls through a trunk: the INVITE (caller id, digest
//! credentials, SDP offer) to the trunk's outbound proxy, provisional
//! responses reported as they come (183 with SDP means early media to
//! listen to), CANCEL when the phone rings too long, and the final
//! response turned into an answered call or a disposition.

use super::call::ActiveCall;
use super::limits::{CallLimiter, CallSlot};
use super::status::failure_disposition;
use super::{SipAgent, SipError};
use crate::sdp::{self, AudioSession, Direction};
use huikuan_core::Disposition;
use huikuan_speech::audio::g711::Law;
use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::dialog::{DialogState, DialogStateReceiver};
use rsipstack::dialog::invitation::{InviteAsyncResult, InviteOption};
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::typed::Route;
use rsipstack::sip::{Header, StatusCodeKind, Uri};
use rsipstack::transport::SipAddr;
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::{debug, info};

/// A SIP trunk as configured (`[[dialer.trunks]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrunkConfig {
    pub name: String,
    /// Outbound proxy, host:port (UDP).
    pub proxy: String,
    /// Domain for the Request-URI and From; the proxy host when absent.
    #[serde(default)]
    pub domain: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<String>,
    /// Caller id shown to debtors unless the campaign sets its own.
    pub caller_id: String,
    #[serde(default = "default_concurrent")]
    pub max_concurrent: usize,
    #[serde(default = "default_cps")]
    pub calls_per_second: f64,
    #[serde(default = "default_ring")]
    pub ring_timeout_secs: u64,
    /// "pcmu" or "pcma": which codec we prefer when the peer offers both.
    #[serde(default = "default_codec")]
    pub codec: String,
}

impl TrunkConfig {
    /// A trunk through `proxy` (host:port) presenting `caller_id`, with a
    /// configuration file's defaults for everything else.
    pub fn new(name: &str, proxy: &str, caller_id: &str) -> TrunkConfig {
        TrunkConfig {
            name: name.to_string(),
            proxy: proxy.to_string(),
            domain: None,
            username: None,
            password: None,
            caller_id: caller_id.to_string(),
            max_concurrent: default_concurrent(),
            calls_per_second: default_cps(),
            ring_timeout_secs: default_ring(),
            codec: default_codec(),
        }
    }
}

fn default_concurrent() -> usize {
    10
}
fn default_cps() -> f64 {
    5.0
}
fn default_ring() -> u64 {
    40
}
fn default_codec() -> String {
    "pcmu".into()
}

pub struct Trunk {
    pub config: TrunkConfig,
    agent: Arc<SipAgent>,
    limiter: CallLimiter,
    proxy: SipAddr,
    domain: String,
    law: Law,
}

/// What happened next on an outbound call.
pub enum DialStep {
    /// 180/183; `early_media` when the peer sent SDP (listen to it).
    Progress {
        code: u16,
        early_media: Option<AudioSession>,
    },
    Answered {
        call: ActiveCall,
        remote: AudioSession,
    },
    /// No call: the SIP code (none when the request never got an answer),
    /// the disposition it means and why.
    Failed {
        code: Option<u16>,
        disposition: Disposition,
        reason: String,
    },
}

pub struct DialAttempt {
    agent: Arc<SipAgent>,
    dialog: InviteDialog,
    join: Option<JoinHandle<InviteAsyncResult>>,
    states: Option<DialogStateReceiver>,
    deadline: Instant,
    cancelled: bool,
    local_rtp: SocketAddr,
    law: Law,
    session_id: u64,
    _slot: CallSlot,
}

impl Trunk {
    pub fn new(config: TrunkConfig, agent: Arc<SipAgent>) -> Result<Trunk, SipError> {
        let err = |field: &'static str, reason: String| SipError::Config {
            trunk: config.name.clone(),
            field,
            reason,
        };
        let proxy_addr: SocketAddr = config
            .proxy
            .parse()
            .map_err(|e| err("proxy", format!("'{}': {e} (want host:port)", config.proxy)))?;
        let law = match config.codec.to_ascii_lowercase().as_str() {
            "pcmu" => Law::Ulaw,
            "pcma" => Law::Alaw,
            other => return Err(err("codec", format!("'{other}': want pcmu or pcma"))),
        };
        if config.caller_id.trim().is_empty() {
            return Err(err("caller_id", "empty".into()));
        }
        if config.password.is_some() != config.username.is_some() {
            return Err(err("username", "username and password go together".into()));
        }
        let domain = config
            .domain
            .clone()
            .unwrap_or_else(|| proxy_addr.ip().to_string());
        Ok(Trunk {
            limiter: CallLimiter::new(config.max_concurrent, config.calls_per_second),
            proxy: SipAddr::from(proxy_addr),
            domain,
            law,
            config,
            agent,
        })
    }

    /// The address our RTP should use: the one the SIP agent listens on.
    pub fn local_ip(&self) -> std::net::IpAddr {
        self.agent.local_addr().ip()
    }

    pub fn limiter(&self) -> &CallLimiter {
        &self.limiter
    }

    fn uri(&self, user: &str, host: &str) -> Result<Uri, SipError> {
        Uri::try_from(format!("sip:{user}@{host}").as_str())
            .map_err(|e| SipError::Stack(format!("bad SIP URI for '{user}': {e}")))
    }

    /// Places a call to `number` (waits for a free line and CPS slot),
    /// offering media at `local_rtp`.
    pub async fn dial(
        &self,
        number: &str,
        caller_id: Option<&str>,
        local_rtp: SocketAddr,
    ) -> Result<DialAttempt, SipError> {
        let number: String = number
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '+')
            .collect();
        if number.is_empty() {
            return Err(SipError::Stack("number has no digits".into()));
        }
        let slot = self.limiter.acquire().await;
        let caller = caller_id.unwrap_or(&self.config.caller_id);
        let session_id: u64 = rand::random::<u32>() as u64;
        let offer = sdp::build(session_id, 1, local_rtp, None, Direction::SendRecv);
        let local = self.agent.local_addr();
        let credential = match (&self.config.username, &self.config.password) {
            (Some(u), Some(p)) => Some(Credential {
                username: u.clone(),
                password: p.clone(),
                realm: None,
                auth_username: None,
            }),
            _ => None,
        };
        let caller_uri = self.uri(caller, &self.domain)?;
        let opt = InviteOption {
            callee: self.uri(&number, &self.domain)?,
            caller: caller_uri.clone(),
            destination: Some(self.proxy.clone()),
            content_type: Some("application/sdp".into()),
            offer: Some(offer.into_bytes()),
            contact: self.uri(caller, &local.to_string())?,
            credential,
            headers: Some(vec![Header::Other(
                "P-Asserted-Identity".into(),
                format!("<{caller_uri}>"),
            )]),
            // The proxy as a preloaded loose route: CANCEL and in-dialog
            // requests follow the INVITE through it.
            route_set: vec![Route {
                display_name: None,
                uri: Uri::try_from(format!("sip:{};lr", self.config.proxy).as_str())
                    .map_err(|e| SipError::Stack(format!("proxy route: {e}")))?,
                params: vec![],
            }],
            call_id: Some(call_id(local.ip())),
            ..Default::default()
        };
        let (sender, states) = self.agent.dialogs.new_dialog_state_channel();
        let (dialog, join) = self.agent.dialogs.do_invite_async(opt, sender)?;
        info!(
            trunk = %self.config.name,
            number = %huikuan_core::phone::mask(&number),
            call_id = %dialog.id().call_id,
            "INVITE sent"
        );
        Ok(DialAttempt {
            agent: self.agent.clone(),
            dialog,
            join: Some(join),
            states: Some(states),
            deadline: Instant::now() + Duration::from_secs(self.config.ring_timeout_secs),
            cancelled: false,
            local_rtp,
            law: self.law,
            session_id,
            _slot: slot,
        })
    }
}

impl DialAttempt {
    pub fn call_id(&self) -> String {
        self.dialog.id().call_id
    }

    /// Gives up on the call (e.g. early media was a carrier announcement):
    /// CANCEL now, and the next step reports how it ended.
    pub async fn cancel(&mut self) {
        if !self.cancelled {
            self.cancelled = true;
            if let Err(e) = self.dialog.cancel().await {
                debug!(error = %e, "cancel");
            }
        }
    }

    /// The next thing that happens. After `Answered` or `Failed` the
    /// attempt is over (further calls report `Failed`). Cancel-safe: a
    /// `select!` may drop this future and call it again.
    pub async fn next(&mut self) -> DialStep {
        enum Got {
            Early(u16, Vec<u8>),
            Done(Result<InviteAsyncResult, tokio::task::JoinError>),
            Closed,
            Timeout,
        }
        loop {
            let got = {
                let (Some(join), Some(states)) = (self.join.as_mut(), self.states.as_mut()) else {
                    return DialStep::Failed {
                        code: None,
                        disposition: Disposition::Failed,
                        reason: "attempt already finished".into(),
                    };
                };
                let deadline = self.deadline;
                let cancelled = self.cancelled;
                tokio::select! {
                    // States first: a 183 queued before the 200 is still reported.
                    biased;
                    s = states.recv() => match s {
                        Some(DialogState::Early(_, resp)) => Got::Early(resp.status_code.code(), resp.body),
                        Some(_) => continue,
                        // The dialog dropped its sender; the join result follows.
                        None => Got::Closed,
                    },
                    r = join => Got::Done(r),
                    _ = tokio::time::sleep_until(deadline), if !cancelled => Got::Timeout,
                }
            };
            match got {
                Got::Early(code, body) => {
                    let early_media = if body.is_empty() {
                        None
                    } else {
                        sdp::parse(&body, Some(self.law)).ok()
                    };
                    return DialStep::Progress { code, early_media };
                }
                Got::Done(r) => {
                    self.join = None;
                    let states = self.states.take().expect("present until done");
                    return self.final_step(r, states);
                }
                Got::Closed => {
                    let r = match self.join.as_mut() {
                        Some(j) => j.await,
                        None => continue,
                    };
                    self.join = None;
                    let states = self.states.take().expect("present until done");
                    return self.final_step(r, states);
                }
                Got::Timeout => {
                    info!(call_id = %self.call_id(), "ring timeout: CANCEL");
                    self.cancel().await;
                }
            }
        }
    }

    fn final_step(
        &mut self,
        r: Result<InviteAsyncResult, tokio::task::JoinError>,
        states: DialogStateReceiver,
    ) -> DialStep {
        let failed = |code: Option<u16>, disposition, reason: String| DialStep::Failed {
            code,
            disposition,
            reason,
        };
        let resp = match r {
            Ok(Ok((_, Some(resp)))) => resp,
            Ok(Ok((_, None))) => {
                let d = if self.cancelled {
                    Disposition::NoAnswer
                } else {
                    Disposition::Failed
                };
                return failed(None, d, "no final response".into());
            }
            Ok(Err(e)) => {
                let d = if self.cancelled {
                    Disposition::NoAnswer
                } else {
                    Disposition::Failed
                };
                return failed(None, d, format!("INVITE failed: {e}"));
            }
            Err(e) => return failed(None, Disposition::Failed, format!("INVITE task: {e}")),
        };
        let code = resp.status_code.code();
        if resp.status_code.kind() != StatusCodeKind::Successful {
            return failed(
                Some(code),
                failure_disposition(code, self.cancelled),
                format!("{} {}", code, resp.status_code),
            );
        }
        let mut call = ActiveCall {
            agent: self.agent.clone(),
            dialog: self.dialog.clone(),
            states,
            local_rtp: self.local_rtp,
            law: self.law,
            sdp_session: self.session_id,
            sdp_version: 1,
            ended: false,
        };
        match sdp::parse(&resp.body, Some(self.law)) {
            Ok(remote) => DialStep::Answered { call, remote },
            Err(e) => {
                // Answered without usable media: hang up at once.
                let reason = format!("answered with unusable SDP: {e}");
                tokio::spawn(async move { call.hangup().await });
                failed(Some(code), Disposition::Failed, reason)
            }
        }
    }
}

impl Drop for DialAttempt {
    fn drop(&mut self) {
        if self.join.is_some() && !self.cancelled {
            let dialog = self.dialog.clone();
            tokio::spawn(async move {
                let _ = dialog.cancel().await;
            });
        }
    }
}

/// A new Call-ID: 128 random bits at this agent's own address (never a
/// third party's domain, which the SIP library would put there).
fn call_id(host: std::net::IpAddr) -> String {
    let host = match host {
        std::net::IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    };
    format!("{:032x}@{host}", rand::random::<u128>())
}
