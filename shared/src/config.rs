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

/// A boolean without a default: None when unset or blank.
pub fn optional_boolean(env: &dyn Env, name: &'static str) -> Result<Option<bool>, ConfigError> {
    optional(env, name).map(|_| boolean(env, name, false)).transpose()
}

/// `S3_FORCE_PATH_STYLE`: path-style S3 addressing (`true`) or virtual-hosted (`false`); unset = path
/// style exactly when an endpoint is overridden (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`), as
/// emulators need. Read by `aws::Clients`; checked at cold start with [`CommonConfig`].
pub const S3_FORCE_PATH_STYLE: &str = "S3_FORCE_PATH_STYLE";

pub fn s3_force_path_style(env: &dyn Env) -> Result<Option<bool>, ConfigError> {
    optional_boolean(env, S3_FORCE_PATH_STYLE)
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

/// The template's `CacheKeyPrefix` when the stack uses an `ExistingCacheBucket` (its default there):
/// a bucket that already holds other data gets its project caches under a prefix of their own, away
/// from its other folders (the stack's own bucket holds only cache, so there the default is "").
pub const EXISTING_BUCKET_KEY_PREFIX: &str = "codebuild-cache/";

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
        validate_key_prefix(&key_prefix).map_err(|e| ConfigError::new("CACHE_KEY_PREFIX", e))?;
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

/// S3's general purpose bucket naming rules: 3-63 characters of lowercase letters, digits, '-' and
/// '.', a letter or digit first and last, no two adjacent periods, not an IP address, none of the
/// prefixes (`xn--`, `sthree-`, `amzn-s3-demo-`) and suffixes (`-s3alias`, `--ol-s3`, `.mrap`,
/// `--x-s3`, `--table-s3`) S3 reserves.
pub fn validate_bucket_name(name: &str) -> Result<(), String> {
    let ok_len = (3..=63).contains(&name.len());
    let ok_chars = name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    let ok_ends =
        name.starts_with(|c: char| c.is_ascii_alphanumeric()) && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !(ok_len && ok_chars && ok_ends) || name.contains("..") {
        return Err(format!("{name:?} is not a valid S3 bucket name (3-63 lowercase letters, digits, '-' or '.')"));
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(format!("{name:?} is formatted as an IP address, which S3 does not allow as a bucket name"));
    }
    const RESERVED_PREFIXES: [&str; 3] = ["xn--", "sthree-", "amzn-s3-demo-"];
    const RESERVED_SUFFIXES: [&str; 5] = ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"];
    if let Some(p) = RESERVED_PREFIXES.iter().find(|p| name.starts_with(*p)) {
        return Err(format!("{name:?} starts with {p:?}, which S3 reserves"));
    }
    if let Some(x) = RESERVED_SUFFIXES.iter().find(|x| name.ends_with(*x)) {
        return Err(format!("{name:?} ends with {x:?}, which S3 reserves"));
    }
    Ok(())
}

/// The longest `CACHE_KEY_PREFIX`: S3 keys are at most 1,024 bytes, and a project's cache keys add
/// the project name (up to 255) and CodeBuild's own object names below it.
pub const MAX_KEY_PREFIX_BYTES: usize = 512;

/// `CACHE_KEY_PREFIX`: empty, or at most 512 bytes of S3's safe key characters (letters, digits and
/// `!-_.'()/`, the template's AllowedPattern), not starting with '/' or '.', and with no empty,
/// `.` or `..` path segment (a location must be one unambiguous key prefix).
pub fn validate_key_prefix(prefix: &str) -> Result<(), String> {
    if prefix.is_empty() {
        return Ok(());
    }
    if prefix.len() > MAX_KEY_PREFIX_BYTES {
        return Err(format!("is {} bytes long; at most {MAX_KEY_PREFIX_BYTES}", prefix.len()));
    }
    if prefix.starts_with('/') || prefix.starts_with('.') {
        return Err(format!("{prefix:?} must not start with '/' or '.'"));
    }
    if let Some(c) = prefix.chars().find(|c| !(c.is_ascii_alphanumeric() || "!-_.'()/".contains(*c))) {
        return Err(format!("{prefix:?} contains {c:?}; use letters, digits and !-_.'()/ (S3's safe key characters)"));
    }
    let segments: Vec<&str> = prefix.trim_end_matches('/').split('/').collect();
    if segments.iter().any(|s| s.is_empty() || *s == "." || *s == "..") {
        return Err(format!("{prefix:?} has an empty, '.' or '..' path segment"));
    }
    Ok(())
}

/// `NOTIFY_TOPIC_ARN`: a standard SNS topic ARN, `arn:<partition>:sns:<region>:<12-digit account>:<name>`
/// (name 1-256 letters, digits, '-' or '_'). FIFO topics are refused: publishing to one needs a
/// MessageGroupId, which the functions do not send.
pub fn validate_topic_arn(arn: &str) -> Result<(), String> {
    let parts: Vec<&str> = arn.split(':').collect();
    let shape_ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "sns"
        && !parts[3].is_empty()
        && parts[3].chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit());
    if !shape_ok {
        return Err(format!("{arn:?} is not an SNS topic ARN (arn:aws:sns:<region>:<account>:<topic>)"));
    }
    let name = parts[5];
    if name.ends_with(".fifo") {
        return Err(format!(
            "{name:?} is a FIFO topic; use a standard topic (a FIFO topic needs a MessageGroupId on every publish)"
        ));
    }
    let name_ok =
        (1..=256).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !name_ok {
        return Err(format!("{name:?} is not a valid SNS topic name (1-256 letters, digits, '-' or '_')"));
    }
    Ok(())
}

/// At most this many patterns in `PROJECT_INCLUDE` or `PROJECT_EXCLUDE` (each checked per project).
pub const MAX_PROJECT_PATTERNS: usize = 100;

/// A project name glob: 1-255 characters that can occur in a CodeBuild project name (letters,
/// digits, '-' and '_') or the wildcards `*` and `?`. Anything else could never match a project.
pub fn validate_project_patterns(patterns: &[String]) -> Result<(), String> {
    if patterns.len() > MAX_PROJECT_PATTERNS {
        return Err(format!("{} patterns; at most {MAX_PROJECT_PATTERNS}", patterns.len()));
    }
    for pattern in patterns {
        if pattern.len() > 255 {
            return Err(format!("pattern of {} characters; project names have at most 255", pattern.len()));
        }
        if let Some(c) = pattern.chars().find(|c| !(c.is_ascii_alphanumeric() || "-_*?".contains(*c))) {
            return Err(format!(
                "pattern {pattern:?} contains {c:?}, which no CodeBuild project name has (use letters, digits, '-', '_', '*' and '?')"
            ));
        }
    }
    Ok(())
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
    /// `METRICS`: `off`, `on` (default: each function's figures as CloudWatch metrics by function)
    /// or `per-project` (the monitor's per-build metrics by project too; `crate::metrics`).
    pub metrics: crate::metrics::MetricsMode,
    /// `SECURITY_HUB_FINDINGS`: import findings into the account's own Security Hub (default false).
    pub security_hub: bool,
    /// `NOTIFY_NAME_ORIGIN`: every notice's subject starts with its account and region (default
    /// false; the template sets it on a central topic's publishers and its owner, docs/org.md).
    pub name_origin: bool,
}

impl CommonConfig {
    /// The variables the template sets for every function. `S3_FORCE_PATH_STYLE` is checked here too
    /// but not listed: it is for emulators and S3-compatible endpoints, and the template never sets it.
    pub const VARIABLES: &'static [&'static str] = &[
        "CACHE_BUCKET",
        "CACHE_KEY_PREFIX",
        "CACHE_PREFIX_PER_PROJECT",
        "NOTIFY_TOPIC_ARN",
        "DRY_RUN",
        "PROJECT_INCLUDE",
        "PROJECT_EXCLUDE",
        "METRICS",
        "SECURITY_HUB_FINDINGS",
        "NOTIFY_NAME_ORIGIN",
    ];

    /// Also checks `S3_FORCE_PATH_STYLE` (read by `aws::Clients`), so that a bad value stops the
    /// function at cold start like any other.
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let topic_arn = optional(env, "NOTIFY_TOPIC_ARN");
        if let Some(arn) = &topic_arn {
            validate_topic_arn(arn).map_err(|e| ConfigError::new("NOTIFY_TOPIC_ARN", e))?;
        }
        let include = list(env, "PROJECT_INCLUDE");
        validate_project_patterns(&include).map_err(|e| ConfigError::new("PROJECT_INCLUDE", e))?;
        let exclude = list(env, "PROJECT_EXCLUDE");
        validate_project_patterns(&exclude).map_err(|e| ConfigError::new("PROJECT_EXCLUDE", e))?;
        s3_force_path_style(env)?;
        Ok(CommonConfig {
            layout: CacheLayout::from_env(env)?,
            topic_arn,
            dry_run: boolean(env, "DRY_RUN", false)?,
            projects: ProjectFilter::new(include, exclude).map_err(|(var, e)| ConfigError::new(var, e))?,
            metrics: match optional(env, "METRICS") {
                Some(text) => crate::metrics::MetricsMode::parse(&text).map_err(|e| ConfigError::new("METRICS", e))?,
                None => crate::metrics::MetricsMode::default(),
            },
            security_hub: boolean(env, "SECURITY_HUB_FINDINGS", false)?,
            name_origin: boolean(env, "NOTIFY_NAME_ORIGIN", false)?,
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
    fn every_common_variable_out_of_its_range_is_refused_naming_it() {
        let long_prefix = "a".repeat(MAX_KEY_PREFIX_BYTES + 1);
        let many_patterns = vec!["p*"; MAX_PROJECT_PATTERNS + 1].join(",");
        let cases: &[(&str, &str)] = &[
            ("CACHE_BUCKET", "ab"),
            ("CACHE_BUCKET", "my..cache"),
            ("CACHE_BUCKET", "192.168.10.20"),
            ("CACHE_BUCKET", "xn--cache"),
            ("CACHE_BUCKET", "cache-s3alias"),
            ("CACHE_BUCKET", "cache-"),
            ("CACHE_KEY_PREFIX", "/codebuild"),
            ("CACHE_KEY_PREFIX", ".hidden/"),
            ("CACHE_KEY_PREFIX", "code build/"),
            ("CACHE_KEY_PREFIX", "a//b"),
            ("CACHE_KEY_PREFIX", "a/../b"),
            ("CACHE_KEY_PREFIX", "caf\u{e9}/"),
            ("CACHE_KEY_PREFIX", &long_prefix),
            ("CACHE_PREFIX_PER_PROJECT", "per-project"),
            ("NOTIFY_TOPIC_ARN", "arn:aws:sqs:ap-south-1:123456789012:q"),
            ("NOTIFY_TOPIC_ARN", "arn:aws:sns:ap-south-1:1234:t"),
            ("NOTIFY_TOPIC_ARN", "arn:aws:sns:ap-south-1:123456789012:t.fifo"),
            ("NOTIFY_TOPIC_ARN", "arn:aws:sns:ap-south-1:123456789012:my topic"),
            ("DRY_RUN", "2"),
            ("PROJECT_INCLUDE", "tts.*"),
            ("PROJECT_INCLUDE", &many_patterns),
            ("PROJECT_EXCLUDE", "team/a"),
            ("S3_FORCE_PATH_STYLE", "virtual"),
        ];
        for (variable, value) in cases {
            let err =
                CommonConfig::from_env(&[(*variable, *value)]).expect_err(&format!("{variable}={value:?} accepted"));
            assert_eq!(err.variable, *variable, "{variable}={value:?}: {err}");
            assert!(err.to_string().contains(variable), "{err}");
        }
    }

    #[test]
    fn values_inside_the_ranges_are_accepted() {
        let config = CommonConfig::from_env(&[
            ("CACHE_BUCKET", "codebuild-cache-123456789012-ap-south-1"),
            ("CACHE_KEY_PREFIX", "team-a/codebuild"),
            ("NOTIFY_TOPIC_ARN", "arn:aws-us-gov:sns:us-gov-west-1:123456789012:cache_sentinel-1"),
            ("PROJECT_INCLUDE", "tts-*, 2024_build-??"),
            ("S3_FORCE_PATH_STYLE", "false"),
        ])
        .unwrap();
        assert_eq!(config.layout.key_prefix, "team-a/codebuild/");
        assert_eq!(s3_force_path_style(&[("S3_FORCE_PATH_STYLE", "TRUE")]).unwrap(), Some(true));
        assert_eq!(s3_force_path_style(&[("S3_FORCE_PATH_STYLE", " ")]).unwrap(), None);
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
