//! Every metric the functions emit, in one place: its name, unit, the dimensions it is published
//! with, and what it means. The emitters take these definitions (never a bare name) and the
//! dashboard test checks each metric `template.yaml`'s dashboard shows against this list.
//!
//! Cost (CloudWatch pricing page, us-east-1, read 2026-12-04: custom metrics $0.30 a metric a month
//! for the first 10,000): each name and dimension combination is one metric. With `METRICS=on`
//! that is one per name below, 17 in all (about $5.10 a month); `METRICS=per-project` adds one
//! per project for each of the monitor's per-build metrics, 9 a project (about $2.70 a project a
//! month). A metric with no data in a month is not billed.

use serde::Serialize;

/// The namespace of every metric.
pub const NAMESPACE: &str = "CacheSentinel";
/// The dimension every metric has: the function's name.
pub const FUNCTION: &str = "Function";
/// The monitor's per-build metrics also have it under `METRICS=per-project`.
pub const PROJECT: &str = "Project";

/// CloudWatch's units (`StandardUnit`) the specification accepts.
pub const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct MetricDef {
    /// The function that emits it (the `Function` dimension's value).
    pub function: &'static str,
    pub name: &'static str,
    pub unit: &'static str,
    /// Published by project too under `METRICS=per-project`.
    pub per_project: bool,
    pub what: &'static str,
}

const fn def(
    function: &'static str,
    name: &'static str,
    unit: &'static str,
    per_project: bool,
    what: &'static str,
) -> MetricDef {
    MetricDef { function, name, unit, per_project, what }
}

const MONITOR: &str = "build-time-monitor";
const GUARD: &str = "cache-guard";
const PRUNER: &str = "cache-pruner";

// build-time-monitor, per finished build (minutes as plain numbers: CloudWatch has no minute unit).
pub const BUILD_OWN_MINUTES: MetricDef =
    def(MONITOR, "BuildOwnMinutes", "None", true, "the build's own time (without queueing and provisioning), minutes");
pub const EXPECTED_LOW_MINUTES: MetricDef =
    def(MONITOR, "ExpectedLowMinutes", "None", true, "the lower bound of the range its scenario expects, minutes");
pub const EXPECTED_HIGH_MINUTES: MetricDef =
    def(MONITOR, "ExpectedHighMinutes", "None", true, "the upper bound of the range its scenario expects, minutes");
pub const MINUTES_OVER_RANGE: MetricDef =
    def(MONITOR, "MinutesOverRange", "None", true, "minutes of its own time beyond the upper bound (0 within)");
pub const SLOW_BUILDS: MetricDef = def(MONITOR, "SlowBuilds", "Count", true, "1 for a slow build, 0 otherwise");
pub const QUEUED_MINUTES: MetricDef = def(MONITOR, "QueuedMinutes", "None", true, "minutes it waited in the queue");
pub const DOCKER_STEPS_REUSED: MetricDef = def(
    MONITOR,
    "DockerStepsReused",
    "Percent",
    true,
    "share of the Docker steps taken from a cache (only builds whose log shows a Docker build)",
);
pub const CACHE_RESTORED: MetricDef = def(
    MONITOR,
    "CacheRestored",
    "Count",
    true,
    "1 when the log shows the S3 cache restored, 0 when not (S3 builds whose log was read)",
);
pub const CACHE_UPLOADED: MetricDef = def(
    MONITOR,
    "CacheUploaded",
    "Count",
    true,
    "1 when the cache location got a new object after the build started, 0 when it did not (succeeded S3 builds)",
);

// cache-guard, per invocation.
pub const HEALS: MetricDef =
    def(GUARD, "Heals", "Count", false, "projects healed to the S3 cache (or that would be, in a dry run)");
pub const REFUSALS: MetricDef =
    def(GUARD, "Refusals", "Count", false, "heals refused (a bucket, role access, a loop, an owner...)");
pub const KEPT: MetricDef =
    def(GUARD, "Kept", "Count", false, "projects left on LOCAL because LOCAL is right for them (fleet, Docker server)");

// cache-pruner, per run.
pub const BYTES_DELETED: MetricDef =
    def(PRUNER, "BytesDeleted", "Bytes", false, "bytes of stale cache deleted (planned, in a dry run)");
pub const OBJECTS_DELETED: MetricDef =
    def(PRUNER, "ObjectsDeleted", "Count", false, "stale cache objects deleted (planned, in a dry run)");
pub const BYTES_LISTED: MetricDef =
    def(PRUNER, "BucketBytesListed", "Bytes", false, "bytes of cache objects listed in the run's cache locations");
pub const UNMANAGED_BYTES: MetricDef =
    def(PRUNER, "UnmanagedBytes", "Bytes", false, "bytes in the bucket outside every cache location (never deleted)");
pub const ORPHANED_LOCATIONS: MetricDef =
    def(PRUNER, "OrphanedLocations", "Count", false, "cache locations no project uses any more");

/// Every metric, for the dashboard test and the docs.
pub const CATALOGUE: &[&MetricDef] = &[
    &BUILD_OWN_MINUTES,
    &EXPECTED_LOW_MINUTES,
    &EXPECTED_HIGH_MINUTES,
    &MINUTES_OVER_RANGE,
    &SLOW_BUILDS,
    &QUEUED_MINUTES,
    &DOCKER_STEPS_REUSED,
    &CACHE_RESTORED,
    &CACHE_UPLOADED,
    &HEALS,
    &REFUSALS,
    &KEPT,
    &BYTES_DELETED,
    &OBJECTS_DELETED,
    &BYTES_LISTED,
    &UNMANAGED_BYTES,
    &ORPHANED_LOCATIONS,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_units_are_cloudwatchs_and_the_count_is_what_the_docs_price() {
        let mut names: Vec<_> = CATALOGUE.iter().map(|d| d.name).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), CATALOGUE.len(), "a name twice");
        assert!(CATALOGUE.iter().all(|d| UNITS.contains(&d.unit)));
        assert_eq!(CATALOGUE.len(), 17, "the module doc prices this count");
        assert_eq!(CATALOGUE.iter().filter(|d| d.per_project).count(), 9, "the module doc prices this count a project");
    }
}
