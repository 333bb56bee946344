//! The monitor's configuration.

use super::expected::ExpectedTimes;
use crate::config::{CommonConfig, ConfigError, Env, optional, parsed_or};

#[derive(Debug, Clone)]
pub struct MonitorConfig {
    pub common: CommonConfig,
    /// `MONITOR_EXPECTED_TIMES`: JSON of project pattern -> profile (see `expected`); default the seed's.
    pub expected: ExpectedTimes,
    /// `MONITOR_BASELINE_BUILDS`: how many recent successful builds form the baseline (default 20).
    pub baseline_builds: usize,
    /// `MONITOR_BASELINE_FACTOR`: slow when longer than p90 x this (default 1.5).
    pub baseline_factor: f64,
    /// `MONITOR_BASELINE_MIN_SAMPLES`: the baseline counts only with this many builds (default 5).
    pub baseline_min_samples: usize,
    /// `MONITOR_SCENARIO_VARIABLE`: the exported variable naming the scenario (default CACHE_SENTINEL_SCENARIO).
    pub scenario_variable: String,
    /// `MONITOR_SWEEP_LOOKBACK_HOURS`: the sweep looks at builds started this recently (default 6).
    pub sweep_lookback_hours: u32,
}

impl MonitorConfig {
    pub const VARIABLES: &'static [&'static str] = &[
        "MONITOR_EXPECTED_TIMES",
        "MONITOR_BASELINE_BUILDS",
        "MONITOR_BASELINE_FACTOR",
        "MONITOR_BASELINE_MIN_SAMPLES",
        "MONITOR_SCENARIO_VARIABLE",
        "MONITOR_SWEEP_LOOKBACK_HOURS",
    ];
    pub const DEFAULT_SCENARIO_VARIABLE: &'static str = "CACHE_SENTINEL_SCENARIO";

    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let expected = match optional(env, "MONITOR_EXPECTED_TIMES") {
            None => ExpectedTimes::default(),
            Some(raw) => ExpectedTimes::parse_json(&raw).map_err(|e| ConfigError::new("MONITOR_EXPECTED_TIMES", e))?,
        };
        let baseline_builds: usize = parsed_or(env, "MONITOR_BASELINE_BUILDS", 20)?;
        if !(1..=500).contains(&baseline_builds) {
            return Err(ConfigError::new("MONITOR_BASELINE_BUILDS", format!("{baseline_builds} is outside 1-500")));
        }
        let baseline_factor: f64 = parsed_or(env, "MONITOR_BASELINE_FACTOR", 1.5)?;
        if !baseline_factor.is_finite() || baseline_factor < 1.0 {
            return Err(ConfigError::new(
                "MONITOR_BASELINE_FACTOR",
                format!("{baseline_factor} must be a number >= 1 (1.5 = 50% over p90)"),
            ));
        }
        let baseline_min_samples: usize = parsed_or(env, "MONITOR_BASELINE_MIN_SAMPLES", 5)?;
        if baseline_min_samples == 0 {
            return Err(ConfigError::new("MONITOR_BASELINE_MIN_SAMPLES", "must be at least 1"));
        }
        let scenario_variable =
            optional(env, "MONITOR_SCENARIO_VARIABLE").unwrap_or_else(|| Self::DEFAULT_SCENARIO_VARIABLE.to_owned());
        if !scenario_variable.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            || scenario_variable.starts_with(|c: char| c.is_ascii_digit())
        {
            return Err(ConfigError::new(
                "MONITOR_SCENARIO_VARIABLE",
                format!("{scenario_variable:?} is not an environment variable name"),
            ));
        }
        let sweep_lookback_hours: u32 = parsed_or(env, "MONITOR_SWEEP_LOOKBACK_HOURS", 6)?;
        if !(1..=36).contains(&sweep_lookback_hours) {
            return Err(ConfigError::new(
                "MONITOR_SWEEP_LOOKBACK_HOURS",
                format!("{sweep_lookback_hours} is outside 1-36 (CodeBuild builds time out after at most 36 hours)"),
            ));
        }
        Ok(MonitorConfig {
            common: CommonConfig::from_env(env)?,
            expected,
            baseline_builds,
            baseline_factor,
            baseline_min_samples,
            scenario_variable,
            sweep_lookback_hours,
        })
    }

    /// Every variable the monitor reads.
    pub fn variables() -> Vec<&'static str> {
        CommonConfig::VARIABLES.iter().chain(Self::VARIABLES).copied().collect()
    }
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
        assert!(MonitorConfig::variables().contains(&"NOTIFY_TOPIC_ARN"));
    }

    #[test]
    fn bad_values_name_the_variable_and_entry() {
        let err =
            MonitorConfig::from_env(&[("MONITOR_EXPECTED_TIMES", r#"{"tts-*": {"app": "twelve"}}"#)]).unwrap_err();
        assert_eq!(err.variable, "MONITOR_EXPECTED_TIMES");
        assert!(err.to_string().contains("tts-*") && err.to_string().contains("twelve"), "{err}");
        for (var, value) in [
            ("MONITOR_BASELINE_BUILDS", "0"),
            ("MONITOR_BASELINE_FACTOR", "0.5"),
            ("MONITOR_BASELINE_FACTOR", "NaN"),
            ("MONITOR_BASELINE_MIN_SAMPLES", "x"),
            ("MONITOR_SCENARIO_VARIABLE", "BAD NAME"),
            ("MONITOR_SWEEP_LOOKBACK_HOURS", "0"),
        ] {
            let env = [(var, value)];
            assert_eq!(MonitorConfig::from_env(&env).unwrap_err().variable, var, "{var}={value}");
        }
    }
}
