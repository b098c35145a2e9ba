//! `huikuan.toml` plus environment overrides.
//!
//! Precedence: environment (`DATABASE_URL`, `HUIKUAN_DATA_DIR`,
//! `HUIKUAN_LISTEN`, `HUIKUAN_TOKEN`, `HUIKUAN_CONSOLE_LISTEN`) over the file
//! over defaults.

use anyhow::{bail, Context};
use chrono::NaiveTime;
use huikuan_core::CallingRules;
use huikuan_store::dispatch::DispatchPolicy;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the SQLite database and recordings live.
    pub data_dir: PathBuf,
    /// Empty: SQLite in `data_dir`. Or `postgres://user@host/db`.
    pub database_url: String,
    pub server: ServerConfig,
    pub dispatch: DispatchConfig,
    pub speech: huikuan_speech::SpeechConfig,
    pub dialer: huikuan_dialer::DialerConfig,
    pub console: huikuan_console::ConsoleConfig,
    /// How each campaign's day is planned: rules, strategy, capacity.
    pub planning: huikuan_orchestrator::planning::PlanSettings,
    /// The quality inspection's thresholds and penalties.
    pub qa: huikuan_qa::QaConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Bearer token every gRPC client must present (16 characters or more).
    pub token: String,
    /// TLS certificate and key (PEM) for the gRPC port.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// When set, clients must present a certificate signed by this CA (PEM).
    pub tls_client_ca: Option<PathBuf>,
    /// Allow plaintext gRPC on a non-loopback address.
    pub insecure: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DispatchConfig {
    /// Debtor-local time calls may start from, "HH:MM".
    pub window_start: String,
    /// Debtor-local time from which no call may start, "HH:MM" or "24:00".
    pub window_end: String,
    pub daily_cap: u32,
    pub retry_after_minutes: u64,
    pub max_attempts: i32,
    pub lease_seconds: u64,
    /// A reported promise's date at most this many days after the call.
    pub promise_horizon_days: u32,
    /// A reported callback at most this many days ahead.
    pub callback_horizon_days: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("data"),
            database_url: String::new(),
            server: ServerConfig::default(),
            dispatch: DispatchConfig::default(),
            speech: huikuan_speech::SpeechConfig::default(),
            dialer: huikuan_dialer::DialerConfig::default(),
            console: huikuan_console::ConsoleConfig::default(),
            planning: Default::default(),
            qa: Default::default(),
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            token: String::new(),
            tls_cert: None,
            tls_key: None,
            tls_client_ca: None,
            insecure: false,
        }
    }
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            window_start: "08:00".into(),
            window_end: "21:00".into(),
            daily_cap: 3,
            retry_after_minutes: 120,
            max_attempts: 20,
            lease_seconds: 120,
            promise_horizon_days: 60,
            callback_horizon_days: 30,
        }
    }
}

fn parse_time(field: &str, s: &str) -> anyhow::Result<NaiveTime> {
    if s.trim() == "24:00" {
        return NaiveTime::from_hms_nano_opt(23, 59, 59, 999_999_999).context("end of day");
    }
    NaiveTime::parse_from_str(s.trim(), "%H:%M")
        .with_context(|| format!("dispatch.{field}: '{s}' is not a time in HH:MM form"))
}

impl Config {
    /// Loads `path` (or `./huikuan.toml` when present), then applies the
    /// environment.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Config> {
        let default_path = Path::new("huikuan.toml");
        let mut config = match path {
            Some(p) => Self::from_file(p)?,
            None if default_path.exists() => Self::from_file(default_path)?,
            None => Config::default(),
        };
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let Some(v) = env("HUIKUAN_DATA_DIR") {
            config.data_dir = v.into();
        }
        if let Some(v) = env("DATABASE_URL") {
            config.database_url = v;
        }
        if let Some(v) = env("HUIKUAN_LISTEN") {
            config.server.listen = v
                .parse()
                .with_context(|| format!("HUIKUAN_LISTEN: '{v}' is not host:port"))?;
        }
        if let Some(v) = env("HUIKUAN_TOKEN") {
            config.server.token = v;
        }
        if let Some(v) = env("HUIKUAN_CONSOLE_LISTEN") {
            config.console.listen = v
                .parse()
                .with_context(|| format!("HUIKUAN_CONSOLE_LISTEN: '{v}' is not host:port"))?;
        }
        if config.console.centre_time_zone.is_none() {
            config.console.centre_time_zone = Some(config.planning.centre_time_zone.clone());
        }
        config.policy()?;
        config.console.validate()?;
        config.qa.validate().map_err(anyhow::Error::msg)?;
        Ok(config)
    }

    fn from_file(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("config {}", path.display()))
    }

    pub fn database_url(&self) -> anyhow::Result<String> {
        if !self.database_url.is_empty() {
            if !(self.database_url.starts_with("postgres://")
                || self.database_url.starts_with("postgresql://")
                || self.database_url.starts_with("sqlite:"))
            {
                bail!(
                    "database_url: '{}' must be a postgres:// or sqlite: URL",
                    self.database_url
                );
            }
            return Ok(self.database_url.clone());
        }
        huikuan_store::sqlite_url_for_dir(&self.data_dir)
            .with_context(|| format!("creating data directory {}", self.data_dir.display()))
    }

    /// The robot's script: the folder in `speech.dialects_dir` when set
    /// (edited wording without a rebuild), else the built-in one.
    pub fn dialogue_engine(&self) -> anyhow::Result<huikuan_dialogue::Engine> {
        match &self.speech.dialects_dir {
            Some(dir) => huikuan_dialogue::Engine::load(dir)
                .map_err(|e| anyhow::anyhow!("speech.dialects_dir: {e}")),
            None => Ok(huikuan_dialogue::Engine::builtin()),
        }
    }

    /// The quality inspection's rules: from `speech.dialects_dir` when
    /// set, else the built-in ones.
    pub fn qa_rules(&self) -> anyhow::Result<huikuan_qa::QaRuleBook> {
        match &self.speech.dialects_dir {
            Some(dir) => huikuan_dialogue::ScriptFiles::load(dir)
                .and_then(|files| huikuan_qa::QaRuleBook::from_script(&files))
                .map_err(|e| anyhow::anyhow!("speech.dialects_dir: {e}")),
            None => Ok(huikuan_qa::QaRuleBook::builtin()),
        }
    }

    /// The gRPC port's TLS, when configured.
    pub fn server_tls(&self) -> anyhow::Result<Option<huikuan_orchestrator::tls::ServerTls>> {
        let s = &self.server;
        match (&s.tls_cert, &s.tls_key) {
            (Some(cert), Some(key)) => Ok(Some(huikuan_orchestrator::tls::ServerTls::from_files(
                cert,
                key,
                s.tls_client_ca.as_deref(),
            )?)),
            (None, None) if s.tls_client_ca.is_some() => {
                bail!("server.tls_client_ca: needs server.tls_cert and server.tls_key")
            }
            (None, None) => Ok(None),
            _ => bail!("server.tls_cert and server.tls_key go together"),
        }
    }

    /// Where call recordings are kept: `dialer.recordings`, under the data
    /// directory unless absolute, made absolute.
    pub fn recordings_dir(&self) -> PathBuf {
        let dir = if self.dialer.recordings.is_absolute() {
            self.dialer.recordings.clone()
        } else {
            self.data_dir.join(&self.dialer.recordings)
        };
        std::path::absolute(&dir).unwrap_or(dir)
    }

    pub fn policy(&self) -> anyhow::Result<DispatchPolicy> {
        let d = &self.dispatch;
        let rules = CallingRules {
            window_start: parse_time("window_start", &d.window_start)?,
            window_end: parse_time("window_end", &d.window_end)?,
            daily_cap: d.daily_cap,
        };
        rules
            .validate()
            .map_err(|e| anyhow::anyhow!("dispatch: {e}"))?;
        if d.lease_seconds == 0 {
            bail!("dispatch.lease_seconds: must be at least 1");
        }
        let outcome = huikuan_core::OutcomeLimits {
            promise_horizon_days: d.promise_horizon_days,
            callback_horizon_days: d.callback_horizon_days,
            ..huikuan_core::OutcomeLimits::default()
        };
        outcome
            .validate()
            .map_err(|e| anyhow::anyhow!("dispatch: {e}"))?;
        Ok(DispatchPolicy {
            rules,
            retry_after: Duration::from_secs(d.retry_after_minutes * 60),
            max_attempts: d.max_attempts,
            outcome,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_values_are_validated_with_their_names() {
        let bad: Result<Config, _> = toml::from_str("[dispatch]\nwindow_start = \"8am\"\n");
        let err = bad.unwrap().policy().unwrap_err().to_string();
        assert!(err.contains("dispatch.window_start"), "{err}");
        let unknown = toml::from_str::<Config>("[server]\nport = 1\n")
            .unwrap_err()
            .to_string();
        assert!(unknown.contains("port"), "{unknown}");
        let inverted: Config =
            toml::from_str("[dispatch]\nwindow_start = \"21:00\"\nwindow_end = \"08:00\"\n")
                .unwrap();
        assert!(inverted.policy().is_err());
        let all_day: Config =
            toml::from_str("[dispatch]\nwindow_start = \"00:00\"\nwindow_end = \"24:00\"\n")
                .unwrap();
        assert!(all_day.policy().is_ok());
    }
}
