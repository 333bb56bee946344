//! The monitor's configuration: each variable is documented once here (field docs) and once in
//! docs/configuration.md, and checked against its range at cold start.

use super::expected::ExpectedTimes;
use crate::aws::logs::LogReadLimits;
use crate::compute::Prices;
use crate::config::{CommonConfig, ConfigError, Env, byte_size, optional, parsed_or};
use crate::guard::config::GuardConfig;

#[derive(Debug, Clone)]
pub struct MonitorConfig {
    pub common: CommonConfig,
    /// `MONITOR_EXPECTED_TIMES`: JSON of project pattern -> profile (`ExpectedTimes::parse_json`),
    /// each range within 1-2160 minutes (CodeBuild's longest timeout); default the seed's figures.
    pub expected: ExpectedTimes,
    /// `MONITOR_BASELINE_BUILDS`: how many recent successful builds form the baseline, 1-100 (default 20).
    pub baseline_builds: usize,
    /// `MONITOR_BASELINE_FACTOR`: slow when longer than p90 x this, 1-10 (default 1.5).
    pub baseline_factor: f64,
    /// `MONITOR_BASELINE_MIN_SAMPLES`: the baseline counts only with this many builds, 1 to
    /// MONITOR_BASELINE_BUILDS (default 5).
    pub baseline_min_samples: usize,
    /// `MONITOR_SCENARIO_VARIABLE`: the exported variable naming the scenario, an environment
    /// variable name of at most 255 characters (default CACHE_SENTINEL_SCENARIO).
    pub scenario_variable: String,
    /// `MONITOR_SWEEP_LOOKBACK_HOURS`: the sweep looks at builds started this recently, 1-36 (default 6).
    pub sweep_lookback_hours: u32,
    /// `MONITOR_INEFFECTIVE_CACHE_BUILDS`: consecutive builds showing the same cache problem before
    /// a "cache not effective" notice, 1-20 (default 3).
    pub ineffective_cache_builds: u32,
    /// `MONITOR_LOG_MAX_PAGES` (1-100, default 20) and `MONITOR_LOG_MAX_BYTES` (64KB-256MB, default
    /// 16MB): how much of a build log is read from its head (one more page is read from its end).
    pub log_limits: LogReadLimits,
    /// `MONITOR_REPEAT_HOURS` (0-168, default 24): a slow-build notice of a project and cause is
    /// sent once per this many hours (24: once a UTC day); the builds held back are counted and the
    /// next notice says how many; a new cause, a build half again as slow as the one reported, or a
    /// build on another cache setting (a heal) is sent at once. 0 sends every slow build.
    pub repeat_hours: u32,
    /// `MONITOR_COMPUTE_PRICES`: JSON of the pricing page's compute names and US dollars a build
    /// minute (`{"general1.xlarge": 0.04}`) over `compute::TABLE`'s us-east-1 on-demand prices,
    /// for another region, a discount, or a price the table does not know (default: none).
    pub compute_prices: Prices,
    /// The guard's `GUARD_IGNORE_TAG` and `GUARD_RELOCATE_CUSTOM_S3` (same defaults, same checks),
    /// so that a slow build off the S3 cache says what the guard does with its project and why.
    pub guard_ignore_tag: String,
    pub guard_relocate_custom_s3: bool,
}

impl MonitorConfig {
    pub const VARIABLES: &'static [&'static str] = &[
        "MONITOR_EXPECTED_TIMES",
        "MONITOR_BASELINE_BUILDS",
        "MONITOR_BASELINE_FACTOR",
        "MONITOR_BASELINE_MIN_SAMPLES",
        "MONITOR_SCENARIO_VARIABLE",
        "MONITOR_SWEEP_LOOKBACK_HOURS",
        "MONITOR_INEFFECTIVE_CACHE_BUILDS",
        "MONITOR_LOG_MAX_PAGES",
        "MONITOR_LOG_MAX_BYTES",
        "MONITOR_REPEAT_HOURS",
        "MONITOR_COMPUTE_PRICES",
    ];
    pub const DEFAULT_SCENARIO_VARIABLE: &'static str = "CACHE_SENTINEL_SCENARIO";

    /// The guard's policy with this configuration's guard settings, for saying what the guard does
    /// with a project (a slow build's cache standing, the digest).
    pub fn guard_policy(&self, bucket: &str) -> crate::guard::plan::GuardPolicy {
        crate::guard::plan::GuardPolicy {
            bucket: bucket.to_owned(),
            layout: self.common.layout.clone(),
            projects: self.common.projects.clone(),
            ignore_tag: self.guard_ignore_tag.clone(),
            relocate_custom_s3: self.guard_relocate_custom_s3,
        }
    }

    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let expected = match optional(env, "MONITOR_EXPECTED_TIMES") {
            None => ExpectedTimes::default(),
            Some(raw) => ExpectedTimes::parse_json(&raw).map_err(|e| ConfigError::new("MONITOR_EXPECTED_TIMES", e))?,
        };
        let baseline_builds = in_range(env, "MONITOR_BASELINE_BUILDS", 20usize, 1, 100, "")?;
        let baseline_factor: f64 = parsed_or(env, "MONITOR_BASELINE_FACTOR", 1.5)?;
        if !(1.0..=10.0).contains(&baseline_factor) {
            return Err(ConfigError::new(
                "MONITOR_BASELINE_FACTOR",
                format!("{baseline_factor} is outside 1-10 (1.5 = 50% over p90)"),
            ));
        }
        let baseline_min_samples = in_range(
            env,
            "MONITOR_BASELINE_MIN_SAMPLES",
            5usize.min(baseline_builds),
            1,
            baseline_builds,
            " (at most MONITOR_BASELINE_BUILDS, or the baseline never counts)",
        )?;
        let scenario_variable =
            optional(env, "MONITOR_SCENARIO_VARIABLE").unwrap_or_else(|| Self::DEFAULT_SCENARIO_VARIABLE.to_owned());
        if scenario_variable.len() > 255
            || !scenario_variable.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            || scenario_variable.starts_with(|c: char| c.is_ascii_digit())
        {
            return Err(ConfigError::new(
                "MONITOR_SCENARIO_VARIABLE",
                format!("{scenario_variable:?} is not an environment variable name"),
            ));
        }
        let sweep_lookback_hours = in_range(
            env,
            "MONITOR_SWEEP_LOOKBACK_HOURS",
            6u32,
            1,
            36,
            " (CodeBuild builds time out after at most 36 hours)",
        )?;
        let ineffective_cache_builds = in_range(env, "MONITOR_INEFFECTIVE_CACHE_BUILDS", 3u32, 1, 20, "")?;
        let max_pages = in_range(env, "MONITOR_LOG_MAX_PAGES", 20u32, 1, 100, "")?;
        let max_bytes = byte_size(env, "MONITOR_LOG_MAX_BYTES")?.unwrap_or(16_000_000);
        if !(64_000..=256_000_000).contains(&max_bytes) {
            return Err(ConfigError::new("MONITOR_LOG_MAX_BYTES", format!("{max_bytes} bytes is outside 64KB-256MB")));
        }
        let repeat_hours = in_range(env, "MONITOR_REPEAT_HOURS", 24u32, 0, 168, " (0 sends every slow build)")?;
        let compute_prices = match optional(env, "MONITOR_COMPUTE_PRICES") {
            Some(text) => Prices::parse_json(&text).map_err(|e| ConfigError::new("MONITOR_COMPUTE_PRICES", e))?,
            None => Prices::default(),
        };
        let guard = GuardConfig::from_env(env)?;
        Ok(MonitorConfig {
            common: guard.common,
            expected,
            baseline_builds,
            baseline_factor,
            baseline_min_samples,
            scenario_variable,
            sweep_lookback_hours,
            ineffective_cache_builds,
            log_limits: LogReadLimits { max_pages, max_bytes },
            repeat_hours,
            compute_prices,
            guard_ignore_tag: guard.ignore_tag,
            guard_relocate_custom_s3: guard.relocate_custom_s3,
        })
    }

    /// Every variable the monitor reads.
    pub fn variables() -> Vec<&'static str> {
        CommonConfig::VARIABLES.iter().chain(Self::VARIABLES).chain(GuardConfig::VARIABLES).copied().collect()
    }
}

/// An integer variable within `low..=high`.
fn in_range<T>(env: &dyn Env, name: &'static str, default: T, low: T, high: T, why: &str) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + Copy + std::fmt::Display,
    T::Err: std::fmt::Display,
{
    let value = parsed_or(env, name, default)?;
    if value < low || value > high {
        return Err(ConfigError::new(name, format!("{value} is outside {low}-{high}{why}")));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = MonitorConfig::from_env(&[("CACHE_BUCKET", "b-1")]).unwrap();
        assert_eq!(
            (c.baseline_builds, c.baseline_factor, c.baseline_min_samples, c.sweep_lookback_hours),
            (20, 1.5, 5, 6)
        );
        assert_eq!(c.scenario_variable, "CACHE_SENTINEL_SCENARIO");
        assert_eq!(c.expected, ExpectedTimes::default());
        assert_eq!(c.ineffective_cache_builds, 3);
        assert_eq!(c.log_limits, LogReadLimits { max_pages: 20, max_bytes: 16_000_000 });
        assert!(MonitorConfig::variables().contains(&"NOTIFY_TOPIC_ARN"));
    }

    #[test]
    fn bad_values_name_the_variable_and_entry() {
        let err =
            MonitorConfig::from_env(&[("MONITOR_EXPECTED_TIMES", r#"{"tts-*": {"app": "twelve"}}"#)]).unwrap_err();
        assert_eq!(err.variable, "MONITOR_EXPECTED_TIMES");
        assert!(err.to_string().contains("tts-*") && err.to_string().contains("twelve"), "{err}");
        for (var, value) in [
            ("MONITOR_EXPECTED_TIMES", r#"{"*": {"app": "0.001"}}"#),
            ("MONITOR_EXPECTED_TIMES", r#"{"*": {"first": "20-3000"}}"#),
            ("MONITOR_BASELINE_BUILDS", "0"),
            ("MONITOR_BASELINE_BUILDS", "101"),
            ("MONITOR_BASELINE_FACTOR", "0.5"),
            ("MONITOR_BASELINE_FACTOR", "11"),
            ("MONITOR_BASELINE_FACTOR", "NaN"),
            ("MONITOR_BASELINE_MIN_SAMPLES", "x"),
            ("MONITOR_BASELINE_MIN_SAMPLES", "0"),
            ("MONITOR_BASELINE_MIN_SAMPLES", "21"),
            ("MONITOR_SCENARIO_VARIABLE", "BAD NAME"),
            ("MONITOR_SWEEP_LOOKBACK_HOURS", "0"),
            ("MONITOR_SWEEP_LOOKBACK_HOURS", "37"),
            ("MONITOR_INEFFECTIVE_CACHE_BUILDS", "0"),
            ("MONITOR_INEFFECTIVE_CACHE_BUILDS", "21"),
            ("MONITOR_LOG_MAX_PAGES", "0"),
            ("MONITOR_LOG_MAX_PAGES", "101"),
            ("MONITOR_LOG_MAX_BYTES", "1KB"),
            ("MONITOR_LOG_MAX_BYTES", "1GB"),
            ("MONITOR_LOG_MAX_BYTES", "lots"),
        ] {
            let env = [(var, value)];
            assert_eq!(MonitorConfig::from_env(&env).unwrap_err().variable, var, "{var}={value}");
        }
        let err = MonitorConfig::from_env(&[("MONITOR_EXPECTED_TIMES", r#"{"*": {"app": "0.001"}}"#)]).unwrap_err();
        assert!(err.to_string().contains("MONITOR_EXPECTED_TIMES") && err.to_string().contains("0.001"), "{err}");
        let small = MonitorConfig::from_env(&[("MONITOR_BASELINE_BUILDS", "3")]).unwrap();
        assert_eq!(small.baseline_min_samples, 3, "the default minimum follows a smaller baseline");
    }
}
