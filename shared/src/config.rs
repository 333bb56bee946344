//! Configuration from environment variables, parsed once at cold start into typed structs.
//!
//! Every reader takes an `Env` (a lookup function), so tests pass a map instead of mutating the
//! process environment. A missing or invalid variable is a [`ConfigError`] naming the variable.

use crate::filter::ProjectFilter;
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// A source of environment variables.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment.
#[derive(Debug, Default, Clone, Copy)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

impl Env for HashMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned()
    }
}

impl<const N: usize> Env for [(&str, &str); N] {
    fn var(&self, name: &str) -> Option<String> {
        self.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }
}

/// A configuration variable that is missing or has a value we cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration error in environment variable {variable}: {reason}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub reason: String,
}

impl ConfigError {
    pub fn new(variable: &'static str, reason: impl fmt::Display) -> Self {
        ConfigError { variable, reason: reason.to_string() }
    }
}

/// The variable's value, or None when unset or blank (blank counts as unset, as SAM passes "").
pub fn optional(env: &dyn Env, name: &'static str) -> Option<String> {
    env.var(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// A parsed value with a default when unset.
pub fn parsed_or<T>(env: &dyn Env, name: &'static str, default: T) -> Result<T, ConfigError>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    Ok(parsed(env, name)?.unwrap_or(default))
}

/// A parsed value, or None when unset.
pub fn parsed<T>(env: &dyn Env, name: &'static str) -> Result<Option<T>, ConfigError>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    optional(env, name)
        .map(|raw| raw.parse::<T>().map_err(|e| ConfigError::new(name, format!("cannot parse {raw:?}: {e}"))))
        .transpose()
}

/// A boolean: true/false, yes/no, 1/0, on/off (any case).
pub fn boolean(env: &dyn Env, name: &'static str, default: bool) -> Result<bool, ConfigError> {
    match optional(env, name).map(|v| v.to_ascii_lowercase()) {
        None => Ok(default),
        Some(v) => match v.as_str() {
            "true" | "yes" | "1" | "on" => Ok(true),
            "false" | "no" | "0" | "off" => Ok(false),
            other => Err(ConfigError::new(name, format!("expected true or false, got {other:?}"))),
        },
    }
}

/// A comma-separated list, blanks dropped.
pub fn list(env: &dyn Env, name: &'static str) -> Vec<String> {
    optional(env, name)
        .map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// A byte size: a plain number of bytes or a number with a unit (KB, MB, GB, TB powers of 1000;
/// KiB, MiB, GiB, TiB powers of 1024).
pub fn byte_size(env: &dyn Env, name: &'static str) -> Result<Option<u64>, ConfigError> {
    optional(env, name).map(|raw| parse_byte_size(&raw).map_err(|e| ConfigError::new(name, e))).transpose()
}

pub fn parse_byte_size(raw: &str) -> Result<u64, String> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(raw.len());
    let (number, unit) = raw.split_at(split);
    let number: f64 = number.parse().map_err(|_| format!("cannot parse size {raw:?}"))?;
    let multiplier: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "unknown size unit {other:?} in {raw:?} (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)"
            ));
        }
    };
    let bytes = number * multiplier;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(format!("size {raw:?} is out of range"));
    }
    Ok(bytes as u64)
}

/// Where the S3 cache of each project lives, shared by the guard (which points projects there),
/// the pruner (which cleans it) and the monitor (which checks for an empty cache).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheLayout {
    /// `CACHE_BUCKET`; None means the conventional `codebuild-cache-<account>-<region>`.
    pub bucket: Option<String>,
    /// `CACHE_KEY_PREFIX`: the root under which project prefixes live ("" = bucket root).
    pub key_prefix: String,
    /// `CACHE_PREFIX_PER_PROJECT`: each project gets `<key_prefix><project>`; false = all share the root.
    pub per_project_prefix: bool,
}

impl CacheLayout {
    pub const VARIABLES: &'static [&'static str] = &["CACHE_BUCKET", "CACHE_KEY_PREFIX", "CACHE_PREFIX_PER_PROJECT"];

    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let bucket = optional(env, "CACHE_BUCKET");
        if let Some(name) = &bucket {
            validate_bucket_name(name).map_err(|e| ConfigError::new("CACHE_BUCKET", e))?;
        }
        let mut key_prefix = optional(env, "CACHE_KEY_PREFIX").unwrap_or_default();
        if key_prefix.starts_with('/') {
            return Err(ConfigError::new("CACHE_KEY_PREFIX", "must not start with '/'"));
        }
        if !key_prefix.is_empty() && !key_prefix.ends_with('/') {
            key_prefix.push('/');
        }
        if key_prefix.starts_with(crate::RESERVED_PREFIX) {
            return Err(ConfigError::new(
                "CACHE_KEY_PREFIX",
                format!("{} is reserved for cache-sentinel's own state", crate::RESERVED_PREFIX),
            ));
        }
        Ok(CacheLayout { bucket, key_prefix, per_project_prefix: boolean(env, "CACHE_PREFIX_PER_PROJECT", true)? })
    }

    /// The bucket name, from configuration or by convention from the account and region.
    pub fn bucket_name(&self, account: &str, region: &str) -> String {
        self.bucket.clone().unwrap_or_else(|| format!("codebuild-cache-{account}-{region}"))
    }

    /// The cache bucket for an event: `CACHE_BUCKET` when set, else the conventional name from the
    /// event's account and the region; None when neither is known.
    pub fn resolve_bucket(&self, account: Option<&str>, region: &str) -> Option<String> {
        match (&self.bucket, account) {
            (Some(bucket), _) => Some(bucket.clone()),
            (None, Some(account)) => Some(self.bucket_name(account, region)),
            (None, None) => None,
        }
    }

    /// The key prefix (without trailing slash) where this project's cache objects live, "" for root.
    pub fn project_prefix(&self, project: &str) -> String {
        let mut prefix = self.key_prefix.clone();
        if self.per_project_prefix {
            prefix.push_str(project);
        }
        prefix.trim_end_matches('/').to_owned()
    }

    /// The CodeBuild cache `location` for a project: `bucket` or `bucket/prefix`.
    pub fn location(&self, bucket: &str, project: &str) -> String {
        let prefix = self.project_prefix(project);
        if prefix.is_empty() { bucket.to_owned() } else { format!("{bucket}/{prefix}") }
    }
}

/// S3 bucket naming rules (the general-purpose bucket subset that matters for a cache bucket).
pub fn validate_bucket_name(name: &str) -> Result<(), String> {
    let ok_len = (3..=63).contains(&name.len());
    let ok_chars = name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    let ok_ends =
        name.starts_with(|c: char| c.is_ascii_alphanumeric()) && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if ok_len && ok_chars && ok_ends && !name.contains("..") {
        Ok(())
    } else {
        Err(format!("{name:?} is not a valid S3 bucket name (3-63 lowercase letters, digits, '-' or '.')"))
    }
}

/// Settings every function shares: cache layout, notifications, dry run, project scope.
#[derive(Debug, Clone)]
pub struct CommonConfig {
    pub layout: CacheLayout,
    /// `NOTIFY_TOPIC_ARN`: SNS topic for notices; none configured = log only.
    pub topic_arn: Option<String>,
    /// `DRY_RUN`: plan and report, change nothing.
    pub dry_run: bool,
    /// `PROJECT_INCLUDE` / `PROJECT_EXCLUDE`: which projects this deployment looks after.
    pub projects: ProjectFilter,
}

impl CommonConfig {
    pub const VARIABLES: &'static [&'static str] = &[
        "CACHE_BUCKET",
        "CACHE_KEY_PREFIX",
        "CACHE_PREFIX_PER_PROJECT",
        "NOTIFY_TOPIC_ARN",
        "DRY_RUN",
        "PROJECT_INCLUDE",
        "PROJECT_EXCLUDE",
    ];

    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let topic_arn = optional(env, "NOTIFY_TOPIC_ARN");
        if let Some(arn) = &topic_arn
            && (!arn.starts_with("arn:") || arn.split(':').count() < 6)
        {
            return Err(ConfigError::new("NOTIFY_TOPIC_ARN", format!("{arn:?} is not an SNS topic ARN")));
        }
        Ok(CommonConfig {
            layout: CacheLayout::from_env(env)?,
            topic_arn,
            dry_run: boolean(env, "DRY_RUN", false)?,
            projects: ProjectFilter::new(list(env, "PROJECT_INCLUDE"), list(env, "PROJECT_EXCLUDE"))
                .map_err(|(var, e)| ConfigError::new(var, e))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_defaults_to_per_project_prefix_at_bucket_root() {
        let layout = CacheLayout::from_env(&[("CACHE_BUCKET", "my-cache")]).unwrap();
        assert_eq!(layout.location("my-cache", "tts-service-build"), "my-cache/tts-service-build");
        assert_eq!(layout.bucket_name("1", "r"), "my-cache");
    }

    #[test]
    fn layout_without_prefix_is_the_bare_bucket_as_in_the_seed() {
        let layout = CacheLayout::from_env(&[("CACHE_PREFIX_PER_PROJECT", "false")]).unwrap();
        let bucket = layout.bucket_name("144631843160", "ap-south-1");
        assert_eq!(bucket, "codebuild-cache-144631843160-ap-south-1");
        assert_eq!(layout.location(&bucket, "tts-service-build"), bucket);
    }

    #[test]
    fn layout_with_root_prefix() {
        let layout = CacheLayout::from_env(&[("CACHE_KEY_PREFIX", "codebuild")]).unwrap();
        assert_eq!(layout.location("b", "p"), "b/codebuild/p");
        assert_eq!(layout.project_prefix("p"), "codebuild/p");
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = CacheLayout::from_env(&[("CACHE_BUCKET", "Not_A_Bucket")]).unwrap_err();
        assert_eq!(err.variable, "CACHE_BUCKET");
        let err = CommonConfig::from_env(&[("DRY_RUN", "maybe")]).unwrap_err();
        assert_eq!(err.variable, "DRY_RUN");
        assert!(err.to_string().contains("DRY_RUN"), "{err}");
        let err = CommonConfig::from_env(&[("NOTIFY_TOPIC_ARN", "my-topic")]).unwrap_err();
        assert_eq!(err.variable, "NOTIFY_TOPIC_ARN");
        let err = CacheLayout::from_env(&[("CACHE_KEY_PREFIX", ".cache-sentinel/x")]).unwrap_err();
        assert_eq!(err.variable, "CACHE_KEY_PREFIX");
    }

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_byte_size("1024").unwrap(), 1024);
        assert_eq!(parse_byte_size("50GiB").unwrap(), 50 * 1024 * 1024 * 1024);
        assert_eq!(parse_byte_size("2 GB").unwrap(), 2_000_000_000);
        assert!(parse_byte_size("5 parsecs").is_err());
        assert!(parse_byte_size("").is_err());
    }

    #[test]
    fn blank_counts_as_unset() {
        assert_eq!(optional(&[("X", "  ")], "X"), None);
        assert!(boolean(&[("DRY_RUN", "")], "DRY_RUN", true).unwrap());
    }
}
