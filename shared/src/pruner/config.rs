//! The pruner's configuration: each variable, its default and its range, documented here once (and
//! in docs/configuration.md), checked at cold start; a value out of range names its variable.

use crate::config::{CommonConfig, ConfigError, Env, boolean, byte_size, parsed_or};
use chrono::Duration;

/// The largest `PRUNE_KEEP_NEWEST`: the heap of the N newest is held per location in flight and
/// carried in the state, so N bounds memory and the state's size.
pub const MAX_KEEP_NEWEST: usize = 10_000;
/// Lambda's maximum timeout: a deadline margin at or above it leaves no time to work.
pub const LAMBDA_MAX_TIMEOUT_SECONDS: u64 = 900;

#[derive(Debug, Clone)]
pub struct PrunerConfig {
    pub common: CommonConfig,
    /// `PRUNE_KEEP_NEWEST` (default 3, 1..=10000): the N newest objects of a live cache location are
    /// never deleted, however old.
    pub keep_newest: usize,
    /// `PRUNE_MAX_AGE_DAYS` (default 30, 1..=3650): beyond the N newest, objects older than this are
    /// deleted. At least `PRUNE_MIN_AGE_HOURS`.
    pub max_age: Duration,
    /// `PRUNE_MIN_AGE_HOURS` (default 24, 1..=8760): objects younger than this are never deleted
    /// (builds in flight read and write them).
    pub min_age: Duration,
    /// `PRUNE_PROJECT_BUDGET` (byte size such as `20GiB`, default none, at least 1 byte): per cache
    /// location (a group of projects sharing one), oldest deleted first until under it.
    pub project_budget: Option<u64>,
    /// `PRUNE_TOTAL_BUDGET` (byte size, default none, at least 1 byte): for all managed locations
    /// together, oldest first; applied when one run lists every managed location.
    pub total_budget: Option<u64>,
    /// `PRUNE_ORPHAN_GRACE_DAYS` (default 7, 1..=365): a location no project uses any more is deleted
    /// once it has been seen missing for this long (counted from the first sweep that saw it missing).
    pub orphan_grace: Duration,
    /// `PRUNE_DELETE_ORPHANS` (default true): false keeps orphaned locations under the live rules.
    pub delete_orphans: bool,
    /// `PRUNE_DELETE_ORPHANS_IN_SHARED_BUCKET` (default false): whether orphans are deleted in a
    /// bucket whose policy lets other accounts use it (or that policy cannot be read); their
    /// projects are invisible to this deployment, so a location it stopped using may be theirs.
    pub delete_orphans_in_shared_bucket: bool,
    /// `PRUNE_MAX_DELETES_PER_RUN` (default 100000, 1..=10000000): planning stops at this many
    /// deletions; the sweep continues on the next run.
    pub max_deletes_per_run: usize,
    /// `PRUNE_DELETE_CONCURRENCY` (default 4, 1..=16): DeleteObjects calls (1,000 keys each) in flight.
    pub delete_concurrency: usize,
    /// `PRUNE_LIST_CONCURRENCY` (default 8, 1..=32): cache locations listed at once.
    pub list_concurrency: usize,
    /// `PRUNE_DEADLINE_MARGIN_SECONDS` (default 30, 1..=899): stop listing this long before the
    /// Lambda timeout; must be below the function's timeout (checked at each invocation).
    pub deadline_margin: std::time::Duration,
}

/// A number parsed with a default, refused outside `range` with the variable named.
fn ranged<T>(
    env: &dyn Env,
    name: &'static str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
    T::Err: std::fmt::Display,
{
    let value = parsed_or(env, name, default)?;
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ConfigError::new(
            name,
            format!("{value} is out of range: must be between {} and {}", range.start(), range.end()),
        ))
    }
}

/// A byte size that is unset or at least one byte.
fn budget(env: &dyn Env, name: &'static str) -> Result<Option<u64>, ConfigError> {
    match byte_size(env, name)? {
        Some(0) => Err(ConfigError::new(name, "must be at least 1 byte (leave it empty for no budget)")),
        other => Ok(other),
    }
}

impl PrunerConfig {
    pub const VARIABLES: &'static [&'static str] = &[
        "PRUNE_KEEP_NEWEST",
        "PRUNE_MAX_AGE_DAYS",
        "PRUNE_MIN_AGE_HOURS",
        "PRUNE_PROJECT_BUDGET",
        "PRUNE_TOTAL_BUDGET",
        "PRUNE_ORPHAN_GRACE_DAYS",
        "PRUNE_DELETE_ORPHANS",
        "PRUNE_DELETE_ORPHANS_IN_SHARED_BUCKET",
        "PRUNE_MAX_DELETES_PER_RUN",
        "PRUNE_DELETE_CONCURRENCY",
        "PRUNE_LIST_CONCURRENCY",
        "PRUNE_DEADLINE_MARGIN_SECONDS",
    ];

    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let common = CommonConfig::from_env(env)?;
        if !common.layout.per_project_prefix && common.projects != Default::default() {
            let variable = if crate::config::optional(env, "PROJECT_INCLUDE").is_some() {
                "PROJECT_INCLUDE"
            } else {
                "PROJECT_EXCLUDE"
            };
            return Err(ConfigError::new(
                variable,
                "cannot be used with CACHE_PREFIX_PER_PROJECT=false: all projects share one cache location, so the pruner cannot prune some of them and not the others",
            ));
        }
        let max_age_days: u32 = ranged(env, "PRUNE_MAX_AGE_DAYS", 30, 1..=3650)?;
        let min_age_hours: u32 = ranged(env, "PRUNE_MIN_AGE_HOURS", 24, 1..=8760)?;
        if i64::from(max_age_days) * 24 < i64::from(min_age_hours) {
            return Err(ConfigError::new(
                "PRUNE_MAX_AGE_DAYS",
                format!("{max_age_days} days is less than PRUNE_MIN_AGE_HOURS ({min_age_hours} h)"),
            ));
        }
        let grace_days: u32 = ranged(env, "PRUNE_ORPHAN_GRACE_DAYS", 7, 1..=365)?;
        let margin: u64 = ranged(env, "PRUNE_DEADLINE_MARGIN_SECONDS", 30, 1..=LAMBDA_MAX_TIMEOUT_SECONDS - 1)?;
        Ok(PrunerConfig {
            keep_newest: ranged(env, "PRUNE_KEEP_NEWEST", 3, 1..=MAX_KEEP_NEWEST)?,
            max_age: Duration::days(max_age_days.into()),
            min_age: Duration::hours(min_age_hours.into()),
            project_budget: budget(env, "PRUNE_PROJECT_BUDGET")?,
            total_budget: budget(env, "PRUNE_TOTAL_BUDGET")?,
            orphan_grace: Duration::days(grace_days.into()),
            delete_orphans: boolean(env, "PRUNE_DELETE_ORPHANS", true)?,
            delete_orphans_in_shared_bucket: boolean(env, "PRUNE_DELETE_ORPHANS_IN_SHARED_BUCKET", false)?,
            max_deletes_per_run: ranged(env, "PRUNE_MAX_DELETES_PER_RUN", 100_000, 1..=10_000_000)?,
            delete_concurrency: ranged(env, "PRUNE_DELETE_CONCURRENCY", 4, 1..=16)?,
            list_concurrency: ranged(env, "PRUNE_LIST_CONCURRENCY", 8, 1..=32)?,
            deadline_margin: std::time::Duration::from_secs(margin),
            common,
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
        assert!(c.delete_orphans);
        assert_eq!((c.project_budget, c.total_budget), (None, None));
        assert_eq!((c.max_deletes_per_run, c.delete_concurrency, c.list_concurrency), (100_000, 4, 8));
        assert_eq!(c.deadline_margin, std::time::Duration::from_secs(30));
        assert!(
            PrunerConfig::variables().contains(&"PRUNE_KEEP_NEWEST")
                && PrunerConfig::variables().contains(&"CACHE_BUCKET")
        );
    }

    #[test]
    fn values_out_of_range_name_the_variable() {
        for (var, value) in [
            ("PRUNE_KEEP_NEWEST", "0"),
            ("PRUNE_KEEP_NEWEST", "-1"),
            ("PRUNE_KEEP_NEWEST", "10001"),
            ("PRUNE_KEEP_NEWEST", "1000000000"),
            ("PRUNE_MAX_AGE_DAYS", "soon"),
            ("PRUNE_MAX_AGE_DAYS", "0"),
            ("PRUNE_MAX_AGE_DAYS", "3651"),
            ("PRUNE_MIN_AGE_HOURS", "0"),
            ("PRUNE_MIN_AGE_HOURS", "8761"),
            ("PRUNE_PROJECT_BUDGET", "5 parsecs"),
            ("PRUNE_PROJECT_BUDGET", "0"),
            ("PRUNE_TOTAL_BUDGET", "x"),
            ("PRUNE_TOTAL_BUDGET", "0GiB"),
            ("PRUNE_ORPHAN_GRACE_DAYS", "0"),
            ("PRUNE_ORPHAN_GRACE_DAYS", "366"),
            ("PRUNE_DELETE_ORPHANS", "sometimes"),
            ("PRUNE_DELETE_CONCURRENCY", "0"),
            ("PRUNE_DELETE_CONCURRENCY", "17"),
            ("PRUNE_LIST_CONCURRENCY", "0"),
            ("PRUNE_LIST_CONCURRENCY", "33"),
            ("PRUNE_MAX_DELETES_PER_RUN", "0"),
            ("PRUNE_MAX_DELETES_PER_RUN", "10000001"),
            ("PRUNE_DEADLINE_MARGIN_SECONDS", "-3"),
            ("PRUNE_DEADLINE_MARGIN_SECONDS", "0"),
            ("PRUNE_DEADLINE_MARGIN_SECONDS", "900"),
            ("PRUNE_DEADLINE_MARGIN_SECONDS", "3600"),
        ] {
            let err = PrunerConfig::from_env(&[(var, value)]).unwrap_err();
            assert_eq!(err.variable, var, "{var}={value}: {err}");
            assert!(err.to_string().contains(var), "{err}");
        }
        let err = PrunerConfig::from_env(&[("PRUNE_MAX_AGE_DAYS", "1"), ("PRUNE_MIN_AGE_HOURS", "25")]).unwrap_err();
        assert_eq!(err.variable, "PRUNE_MAX_AGE_DAYS");
    }

    #[test]
    fn a_project_filter_on_a_shared_location_is_refused() {
        let err =
            PrunerConfig::from_env(&[("CACHE_PREFIX_PER_PROJECT", "false"), ("PROJECT_INCLUDE", "tts-*")]).unwrap_err();
        assert_eq!(err.variable, "PROJECT_INCLUDE");
        assert!(err.reason.contains("CACHE_PREFIX_PER_PROJECT=false"), "{err}");
        let err = PrunerConfig::from_env(&[("CACHE_PREFIX_PER_PROJECT", "false"), ("PROJECT_EXCLUDE", "legacy-*")])
            .unwrap_err();
        assert_eq!(err.variable, "PROJECT_EXCLUDE");
        assert!(PrunerConfig::from_env(&[("CACHE_PREFIX_PER_PROJECT", "false")]).is_ok());
        assert!(PrunerConfig::from_env(&[("PROJECT_INCLUDE", "tts-*")]).is_ok());
    }

    #[test]
    fn budgets_parse_units() {
        let c = PrunerConfig::from_env(&[("PRUNE_PROJECT_BUDGET", "20GiB"), ("PRUNE_TOTAL_BUDGET", "1TB")]).unwrap();
        assert_eq!(c.project_budget, Some(20 * 1024 * 1024 * 1024));
        assert_eq!(c.total_budget, Some(1_000_000_000_000));
    }
}
