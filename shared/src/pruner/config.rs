//! The pruner's configuration.

use crate::config::{CommonConfig, ConfigError, Env, byte_size, parsed_or};
use chrono::Duration;

#[derive(Debug, Clone)]
pub struct PrunerConfig {
    pub common: CommonConfig,
    /// `PRUNE_KEEP_NEWEST` (default 3, at least 1): the newest N objects of a live project are never deleted.
    pub keep_newest: usize,
    /// `PRUNE_MAX_AGE_DAYS` (default 30): objects older than this (and not among the newest N) are deleted.
    pub max_age: Duration,
    /// `PRUNE_MIN_AGE_HOURS` (default 24): objects younger than this are never deleted (builds in flight).
    pub min_age: Duration,
    /// `PRUNE_PROJECT_BUDGET` (byte size, default none): per-project size budget, oldest deleted first.
    pub project_budget: Option<u64>,
    /// `PRUNE_TOTAL_BUDGET` (byte size, default none): budget for the whole cache root, oldest first.
    pub total_budget: Option<u64>,
    /// `PRUNE_ORPHAN_GRACE_DAYS` (default 7): objects of a project that no longer exists are deleted
    /// once older than this.
    pub orphan_grace: Duration,
    /// `PRUNE_MAX_DELETES_PER_RUN` (default 100000): the run stops planning once this many deletions are planned.
    pub max_deletes_per_run: usize,
    /// `PRUNE_DELETE_CONCURRENCY` (default 4, 1..=16): DeleteObjects batches in flight at once.
    pub delete_concurrency: usize,
    /// `PRUNE_DEADLINE_MARGIN_SECONDS` (default 30): stop this long before the Lambda timeout.
    pub deadline_margin: std::time::Duration,
}

impl PrunerConfig {
    pub const VARIABLES: &'static [&'static str] = &[
        "PRUNE_KEEP_NEWEST",
        "PRUNE_MAX_AGE_DAYS",
        "PRUNE_MIN_AGE_HOURS",
        "PRUNE_PROJECT_BUDGET",
        "PRUNE_TOTAL_BUDGET",
        "PRUNE_ORPHAN_GRACE_DAYS",
        "PRUNE_MAX_DELETES_PER_RUN",
        "PRUNE_DELETE_CONCURRENCY",
        "PRUNE_DEADLINE_MARGIN_SECONDS",
    ];

    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let keep_newest: usize = parsed_or(env, "PRUNE_KEEP_NEWEST", 3)?;
        if keep_newest < 1 {
            return Err(ConfigError::new(
                "PRUNE_KEEP_NEWEST",
                "must be at least 1: a live project always keeps its newest cache",
            ));
        }
        let max_age_days: u32 = parsed_or(env, "PRUNE_MAX_AGE_DAYS", 30)?;
        let min_age_hours: u32 = parsed_or(env, "PRUNE_MIN_AGE_HOURS", 24)?;
        let grace_days: u32 = parsed_or(env, "PRUNE_ORPHAN_GRACE_DAYS", 7)?;
        let max_age = Duration::days(max_age_days.into());
        let min_age = Duration::hours(min_age_hours.into());
        if max_age < min_age {
            return Err(ConfigError::new(
                "PRUNE_MAX_AGE_DAYS",
                format!("{max_age_days} days is less than PRUNE_MIN_AGE_HOURS ({min_age_hours} h)"),
            ));
        }
        let max_deletes_per_run: usize = parsed_or(env, "PRUNE_MAX_DELETES_PER_RUN", 100_000)?;
        if max_deletes_per_run < 1 {
            return Err(ConfigError::new(
                "PRUNE_MAX_DELETES_PER_RUN",
                "must be at least 1 (use DRY_RUN=true to delete nothing)",
            ));
        }
        let delete_concurrency: usize = parsed_or(env, "PRUNE_DELETE_CONCURRENCY", 4)?;
        if !(1..=16).contains(&delete_concurrency) {
            return Err(ConfigError::new("PRUNE_DELETE_CONCURRENCY", "must be between 1 and 16"));
        }
        let margin: u64 = parsed_or(env, "PRUNE_DEADLINE_MARGIN_SECONDS", 30)?;
        let project_budget = byte_size(env, "PRUNE_PROJECT_BUDGET")?;
        let total_budget = byte_size(env, "PRUNE_TOTAL_BUDGET")?;
        Ok(PrunerConfig {
            common: CommonConfig::from_env(env)?,
            keep_newest,
            max_age,
            min_age,
            project_budget,
            total_budget,
            orphan_grace: Duration::days(grace_days.into()),
            max_deletes_per_run,
            delete_concurrency,
            deadline_margin: std::time::Duration::from_secs(margin),
        })
    }

    /// Every variable the pruner reads.
    pub fn variables() -> Vec<&'static str> {
        CommonConfig::VARIABLES.iter().chain(Self::VARIABLES).copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_safe() {
        let c = PrunerConfig::from_env(&[("CACHE_BUCKET", "my-cache")]).unwrap();
        assert_eq!(c.keep_newest, 3);
        assert_eq!(c.max_age, Duration::days(30));
        assert_eq!(c.min_age, Duration::hours(24));
        assert_eq!(c.orphan_grace, Duration::days(7));
        assert_eq!((c.project_budget, c.total_budget), (None, None));
        assert_eq!((c.max_deletes_per_run, c.delete_concurrency), (100_000, 4));
        assert_eq!(c.deadline_margin, std::time::Duration::from_secs(30));
        assert!(
            PrunerConfig::variables().contains(&"PRUNE_KEEP_NEWEST")
                && PrunerConfig::variables().contains(&"CACHE_BUCKET")
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (var, value) in [
            ("PRUNE_KEEP_NEWEST", "0"),
            ("PRUNE_KEEP_NEWEST", "-1"),
            ("PRUNE_MAX_AGE_DAYS", "soon"),
            ("PRUNE_PROJECT_BUDGET", "5 parsecs"),
            ("PRUNE_TOTAL_BUDGET", "x"),
            ("PRUNE_DELETE_CONCURRENCY", "0"),
            ("PRUNE_MAX_DELETES_PER_RUN", "0"),
            ("PRUNE_DEADLINE_MARGIN_SECONDS", "-3"),
        ] {
            let err = PrunerConfig::from_env(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable, var, "{var}={value}: {err}");
        }
        let err = PrunerConfig::from_env(&[("PRUNE_MAX_AGE_DAYS", "0"), ("PRUNE_MIN_AGE_HOURS", "2")]).unwrap_err();
        assert_eq!(err.variable, "PRUNE_MAX_AGE_DAYS");
    }

    #[test]
    fn budgets_parse_units() {
        let c = PrunerConfig::from_env(&[("PRUNE_PROJECT_BUDGET", "20GiB"), ("PRUNE_TOTAL_BUDGET", "1TB")]).unwrap();
        assert_eq!(c.project_budget, Some(20 * 1024 * 1024 * 1024));
        assert_eq!(c.total_budget, Some(1_000_000_000_000));
    }
}
