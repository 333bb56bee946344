//! Configuration for one run: the Lambdas' variables from the environment with the command line
//! layered on top (a flag is an override of its variable), the AWS session, and the clock.

use crate::args::Global;
use crate::failure::CliError;
use cache_sentinel::aws::Clients;
use cache_sentinel::aws::session::{self, SessionOptions};
use cache_sentinel::clock::{Clock, FixedClock, SystemClock};
use cache_sentinel::config::{ConfigError, Env, ProcessEnv};
use cache_sentinel::guard::GuardConfig;
use cache_sentinel::monitor::MonitorConfig;
use cache_sentinel::pruner::PrunerConfig;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The process environment with overrides on top; each override remembers the flag that set it.
#[derive(Debug, Clone, Default)]
pub struct LayeredEnv {
    overrides: BTreeMap<&'static str, (String, &'static str)>,
}

impl Env for LayeredEnv {
    fn var(&self, name: &str) -> Option<String> {
        match self.overrides.get(name) {
            Some((value, _)) => Some(value.clone()),
            None => ProcessEnv.var(name),
        }
    }
}

/// Every variable any of the functions reads, so `--set` takes exactly those.
pub fn known_variables() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = GuardConfig::variables()
        .into_iter()
        .chain(PrunerConfig::variables())
        .chain(MonitorConfig::variables())
        .collect();
    all.sort_unstable();
    all.dedup();
    all
}

impl LayeredEnv {
    /// The environment with `--bucket` and every `--set` on top.
    pub fn from_flags(global: &Global) -> Result<Self, CliError> {
        let mut env = LayeredEnv::default();
        let known = known_variables();
        for raw in &global.set {
            let (name, value) = raw.split_once('=').ok_or_else(|| CliError::MalformedSet(raw.clone()))?;
            let name = known
                .iter()
                .find(|k| **k == name.trim())
                .ok_or_else(|| CliError::UnknownVariable { name: name.trim().to_owned(), known: known.join(", ") })?;
            env.set(name, value, "--set");
        }
        if let Some(bucket) = &global.bucket {
            env.set("CACHE_BUCKET", bucket, "--bucket");
        }
        Ok(env)
    }

    pub fn set(&mut self, name: &'static str, value: &str, flag: &'static str) {
        self.overrides.insert(name, (value.to_owned(), flag));
    }

    /// `--project` globs replace PROJECT_INCLUDE (PROJECT_EXCLUDE still applies).
    pub fn with_projects(mut self, patterns: &[String]) -> Self {
        if !patterns.is_empty() {
            self.set("PROJECT_INCLUDE", &patterns.join(","), "--project");
        }
        self
    }

    /// A configuration error, with the flag that set the variable when a flag did.
    pub fn error(&self, error: ConfigError) -> CliError {
        let flag = self.overrides.get(error.variable).map(|(_, flag)| *flag);
        CliError::Config { error, flag }
    }

    pub fn guard(&self) -> Result<GuardConfig, CliError> {
        GuardConfig::from_env(self).map_err(|e| self.error(e))
    }

    pub fn pruner(&self) -> Result<PrunerConfig, CliError> {
        PrunerConfig::from_env(self).map_err(|e| self.error(e))
    }

    pub fn monitor(&self) -> Result<MonitorConfig, CliError> {
        MonitorConfig::from_env(self).map_err(|e| self.error(e))
    }
}

/// The clock: `--now` when given (replays, reproducible output), else the system clock.
pub fn clock(global: &Global) -> Result<Arc<dyn Clock>, CliError> {
    match &global.now {
        None => Ok(Arc::new(SystemClock)),
        Some(raw) => chrono::DateTime::parse_from_rfc3339(raw)
            .map(|t| Arc::new(FixedClock(t.with_timezone(&chrono::Utc))) as Arc<dyn Clock>)
            .map_err(|_| CliError::InvalidNow(raw.clone())),
    }
}

/// Clients from the standard chain with `--profile` and `--region` on top, credentials checked.
pub async fn clients(global: &Global) -> Result<Clients, CliError> {
    Ok(Clients::from_sdk_config(sdk(global).await?))
}

/// The session itself (the cross-account audit derives one per account and region from it).
pub async fn sdk(global: &Global) -> Result<aws_config::SdkConfig, CliError> {
    let options = SessionOptions { profile: global.profile.clone(), region: global.region.clone() };
    Ok(session::load(&options).await?)
}

/// The account, needed only to name the conventional bucket when CACHE_BUCKET is unset.
pub async fn account_if_needed(env: &LayeredEnv, clients: &Clients) -> Result<Option<String>, CliError> {
    if cache_sentinel::config::optional(env, "CACHE_BUCKET").is_some() {
        return Ok(None);
    }
    Ok(Some(cache_sentinel::aws::sts::caller_account(&clients.sdk).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn global(args: &[&str]) -> Global {
        let mut argv = vec!["cache-sentinel"];
        argv.extend_from_slice(args);
        argv.push("audit");
        crate::args::Cli::parse_from(argv).global
    }

    #[test]
    fn flags_override_their_variables_and_are_named_in_errors() {
        let env = LayeredEnv::from_flags(&global(&["--set", "PRUNE_KEEP_NEWEST=0", "--bucket", "my-cache"])).unwrap();
        assert_eq!(env.var("CACHE_BUCKET").as_deref(), Some("my-cache"));
        let err = env.pruner().unwrap_err().to_string();
        assert!(err.contains("PRUNE_KEEP_NEWEST") && err.ends_with("(set by --set)"), "{err}");
        let env = env.with_projects(&["tts-*".into(), "web".into()]);
        assert_eq!(env.var("PROJECT_INCLUDE").as_deref(), Some("tts-*,web"));
    }

    #[test]
    fn set_takes_only_known_variables() {
        let err = LayeredEnv::from_flags(&global(&["--set", "PRUNE_KEEP=3"])).unwrap_err();
        assert!(matches!(err, CliError::UnknownVariable { ref name, .. } if name == "PRUNE_KEEP"), "{err}");
        let err = LayeredEnv::from_flags(&global(&["--set", "PRUNE_KEEP_NEWEST"])).unwrap_err();
        assert!(matches!(err, CliError::MalformedSet(_)), "{err}");
        assert!(known_variables().contains(&"MONITOR_EXPECTED_TIMES"));
    }

    #[test]
    fn the_clock_can_be_fixed() {
        let fixed = clock(&global(&["--now", "2026-11-20T09:00:00Z"])).unwrap();
        assert_eq!(fixed.now().to_rfc3339(), "2026-11-20T09:00:00+00:00");
        assert!(matches!(clock(&global(&["--now", "yesterday"])), Err(CliError::InvalidNow(_))));
    }
}
