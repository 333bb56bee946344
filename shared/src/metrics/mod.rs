//! The numbers people look at: each function's figures as CloudWatch metrics in Embedded Metric
//! Format (EMF), one JSON log line per invocation or build, which CloudWatch Logs turns into
//! metrics with no PutMetricData call and no added latency.
//!
//! `emf` is the format itself (AWS's specification: the `_aws` block, its limits), `catalogue`
//! every metric the code emits (name, unit, dimensions, what it means: the dashboard in
//! `template.yaml` is checked against it), `monitor`, `guard` and `pruner` the figures of each
//! function's report (pure); `emit` writes the lines to stdout, which Lambda sends to the
//! function's log stream. The per-project dimension and its price: docs/monitor.md ("Metrics").

pub mod catalogue;
pub mod emf;
pub mod guard;
pub mod monitor;
pub mod pruner;

use emf::MetricLine;

/// `METRICS`: `off` (no metric lines), `on` (each metric by function; default) or `per-project`
/// (the monitor's per-build metrics also by project: one more metric per project and name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MetricsMode {
    Off,
    #[default]
    On,
    PerProject,
}

impl MetricsMode {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "off" | "false" => Ok(MetricsMode::Off),
            "on" | "true" => Ok(MetricsMode::On),
            "per-project" => Ok(MetricsMode::PerProject),
            other => Err(format!("{other:?} is not off, on or per-project")),
        }
    }
}

/// Milliseconds since the epoch, for a line's `Timestamp` (the functions' edge: the library takes
/// the time as a parameter).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Writes each line to stdout, where Lambda's runtime sends it to the function's log stream and
/// CloudWatch extracts the metrics. The command line never calls it.
pub fn emit(lines: &[MetricLine]) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for line in lines {
        // A metric line lost to a closed stdout must never fail the invocation.
        let _ = writeln!(out, "{}", line.to_json());
    }
}
