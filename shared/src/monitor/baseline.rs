//! The project's history as plain data: what the last successful build built, and the baseline
//! (median and p90) of recent successful build durations. Fed by `service` from
//! ListBuildsForProject + BatchGetBuilds, tested here with plain builds.

use crate::build::BuildFacts;
use crate::event::BuildStatus;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// Median and 90th percentile of recent successful durations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Baseline {
    pub samples: usize,
    pub median_seconds: u64,
    pub p90_seconds: u64,
}

impl Baseline {
    /// None for no samples. Median: the middle value (mean of the two middle ones for an even
    /// count). p90: nearest rank, the ceil(0.9 n)-th smallest value, so it is always a real duration.
    pub fn from_durations(durations: &[u64]) -> Option<Baseline> {
        if durations.is_empty() {
            return None;
        }
        let mut sorted = durations.to_vec();
        sorted.sort_unstable();
        Some(Baseline { samples: sorted.len(), median_seconds: median(&sorted), p90_seconds: percentile(&sorted, 90) })
    }
}

fn median(sorted: &[u64]) -> u64 {
    let n = sorted.len();
    if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]).div_ceil(2) }
}

fn percentile(sorted: &[u64], p: usize) -> u64 {
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// What the history says about the build being judged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistorySummary {
    /// Successful builds before this one that were looked at (at most the configured count).
    pub successful: usize,
    /// The source version of the latest successful build before this one.
    pub last_success_source: Option<String>,
    pub last_success_id: Option<String>,
    pub baseline: Option<Baseline>,
    /// Median seconds per phase over the same builds (phases that have durations).
    pub phase_medians: BTreeMap<String, u64>,
}

/// The successful builds of `builds` other than `current` with a start, started before `before`
/// when it is known, newest first: a build's history.
pub fn earlier_successes<'a>(
    builds: &'a [BuildFacts],
    current: Option<&str>,
    before: Option<DateTime<Utc>>,
) -> Vec<&'a BuildFacts> {
    let mut ok: Vec<&BuildFacts> = builds
        .iter()
        .filter(|b| b.status == BuildStatus::Succeeded)
        .filter(|b| current.is_none() || b.build_id.as_deref() != current)
        .filter(|b| b.start.is_some())
        .filter(|b| match (before, b.start) {
            (Some(before), Some(start)) => start < before,
            _ => true,
        })
        .collect();
    ok.sort_by_key(|b| std::cmp::Reverse(b.start));
    ok
}

/// Summarises the successful builds of `builds` other than `current`, started before `before`
/// when it is known, newest first, at most `count` of them.
pub fn summarize(
    builds: &[BuildFacts],
    current: Option<&str>,
    before: Option<DateTime<Utc>>,
    count: usize,
) -> HistorySummary {
    let mut ok = earlier_successes(builds, current, before);
    ok.truncate(count);
    // Successful builds are final: their own time (without queueing and provisioning, as the build
    // judged against it) runs to their end, whatever the time is now.
    let durations: Vec<u64> = ok.iter().filter_map(|b| b.end.and_then(|end| b.own_seconds(end))).collect();
    let mut per_phase: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for b in &ok {
        for p in &b.phases {
            if let Some(s) = p.seconds {
                per_phase.entry(p.phase.clone()).or_default().push(s);
            }
        }
    }
    HistorySummary {
        successful: ok.len(),
        last_success_source: ok.first().and_then(|b| b.source_version.clone()),
        last_success_id: ok.first().and_then(|b| b.build_id.clone()),
        baseline: Baseline::from_durations(&durations),
        phase_medians: per_phase
            .into_iter()
            .map(|(k, mut v)| {
                v.sort_unstable();
                (k, median(&v))
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn small_samples() {
        assert_eq!(Baseline::from_durations(&[]), None);
        let one = Baseline::from_durations(&[300]).unwrap();
        assert_eq!((one.samples, one.median_seconds, one.p90_seconds), (1, 300, 300));
        let two = Baseline::from_durations(&[600, 300]).unwrap();
        assert_eq!((two.median_seconds, two.p90_seconds), (450, 600));
        let three = Baseline::from_durations(&[100, 300, 200]).unwrap();
        assert_eq!((three.median_seconds, three.p90_seconds), (200, 300));
    }

    #[test]
    fn nearest_rank_p90() {
        let ten: Vec<u64> = (1..=10).map(|m| m * 60).collect();
        let b = Baseline::from_durations(&ten).unwrap();
        assert_eq!(b.p90_seconds, 540, "9th of 10");
        assert_eq!(b.median_seconds, 330);
        let twenty: Vec<u64> = (1..=20).collect();
        assert_eq!(Baseline::from_durations(&twenty).unwrap().p90_seconds, 18);
        let eleven: Vec<u64> = (1..=11).collect();
        assert_eq!(Baseline::from_durations(&eleven).unwrap().p90_seconds, 10, "ceil(9.9) = 10th");
    }

    fn build(id: &str, status: BuildStatus, start_min: i64, minutes: i64, source: &str) -> BuildFacts {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap();
        let mut b = BuildFacts::new("p", status);
        b.build_id = Some(id.into());
        b.start = Some(t0 + chrono::Duration::minutes(start_min));
        b.end = Some(t0 + chrono::Duration::minutes(start_min + minutes));
        b.source_version = Some(source.into());
        b.phases =
            vec![crate::build::PhaseTime { phase: "BUILD".into(), seconds: Some(minutes as u64 * 30), status: None }];
        b
    }

    #[test]
    fn summary_uses_only_earlier_successes_newest_first() {
        let builds = vec![
            build("p:1", BuildStatus::Succeeded, 0, 10, "aaa"),
            build("p:2", BuildStatus::Failed, 30, 2, "bbb"),
            build("p:3", BuildStatus::Succeeded, 60, 6, "ccc"),
            build("p:4", BuildStatus::Succeeded, 90, 8, "ddd"),
            build("p:5", BuildStatus::Succeeded, 200, 30, "eee"), // the current build
            build("p:6", BuildStatus::Succeeded, 300, 5, "fff"),  // later than the current one
        ];
        let start = builds[4].start;
        let s = summarize(&builds, Some("p:5"), start, 20);
        assert_eq!(s.successful, 3);
        assert_eq!(s.last_success_source.as_deref(), Some("ddd"));
        assert_eq!(s.last_success_id.as_deref(), Some("p:4"));
        let b = s.baseline.unwrap();
        assert_eq!((b.samples, b.median_seconds, b.p90_seconds), (3, 480, 600));
        assert_eq!(s.phase_medians.get("BUILD"), Some(&240));

        let s = summarize(&builds, Some("p:5"), start, 2);
        assert_eq!(s.successful, 2, "count bounds the sample");
        assert_eq!(s.baseline.unwrap().median_seconds, 420);

        let s = summarize(&builds[1..2], None, None, 20);
        assert_eq!((s.successful, s.baseline, s.last_success_source), (0, None, None));
    }
}
