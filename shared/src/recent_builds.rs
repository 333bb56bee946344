//! A project's recent builds, each judged as the monitor judges builds, by the monitor's own
//! `judge_build` (its scenario from the exported variable or the history before it, the scenario's
//! expected range, the baseline of the successful builds before it), and the baseline the next
//! build will be judged by. Plain data for `cache-sentinel report` and the audit's "last build".

use crate::aws::codebuild::{CodeBuildProjects, build_facts};
use crate::build::BuildFacts;
use crate::compute::price_of;
use crate::error::AwsError;
use crate::event::BuildStatus;
use crate::monitor::MonitorConfig;
use crate::monitor::baseline::{Baseline, summarize};
use crate::monitor::expected::Range;
use crate::monitor::judge::Kind;
use crate::monitor::judge_build::{BuildContext, judge_build};
use crate::monitor::scenario::Scenario;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Builds read beyond the ones shown, so the oldest shown build still has a history to be judged
/// against (failed and stopped builds are in the list too, hence twice the baseline).
pub fn history_margin(config: &MonitorConfig) -> usize {
    (config.baseline_builds * 2).clamp(10, 200)
}

/// One build and its judgement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuildRow {
    pub build_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_number: Option<u64>,
    pub status: BuildStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<DateTime<Utc>>,
    /// Start to end (to now while it runs); None when CodeBuild reports no start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u64>,
    /// The build's own time, judged against the ranges: the duration net of QUEUED and PROVISIONING.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub judged_seconds: Option<u64>,
    /// The QUEUED phase: waiting for capacity, not the build's own time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queued_seconds: Option<u64>,
    pub scenario: Scenario,
    pub scenario_reason: String,
    pub expected: Range,
    /// The MONITOR_EXPECTED_TIMES key the range came from.
    pub expected_from: String,
    /// Longer than the scenario's upper bound.
    pub over_expected: bool,
    /// Longer than p90 x MONITOR_BASELINE_FACTOR of the successful builds before it.
    pub over_baseline: bool,
    pub slow: bool,
    pub summary: String,
    /// Its CloudWatch Logs group and stream, for `recent_logs` (None: no log to read).
    #[serde(skip)]
    pub log: Option<(String, String)>,
    /// What its log shows, when read (`recent_logs`, the command line's `report --logs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_log: Option<crate::recent_logs::LogFindings>,
    /// Its environment and compute type, which price its minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compute_type: Option<String>,
    /// Minutes of its own time beyond its range's upper bound (0 within it; `minutes_over`).
    pub minutes_over_range: f64,
    /// What those minutes cost at its compute type's price a minute (`crate::compute`); None when
    /// none were over or the price is not known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cost_over_usd: Option<f64>,
}

/// A project's recent builds, newest first, and the baseline the monitor judges its next build by.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProjectBuilds {
    pub project: String,
    pub builds: Vec<BuildRow>,
    /// p50 (median) and p90 of the last MONITOR_BASELINE_BUILDS successful builds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Baseline>,
    /// How many of the shown builds took longer than their scenario's range.
    pub over_expected: usize,
}

/// Judges the newest `show` of `builds` (any order) against the builds before each of them.
pub fn judge_recent(
    project: &str,
    builds: &[BuildFacts],
    show: usize,
    config: &MonitorConfig,
    now: DateTime<Utc>,
) -> ProjectBuilds {
    let mut newest_first: Vec<&BuildFacts> = builds.iter().filter(|b| b.project == project).collect();
    // Newest first by build number (CodeBuild's order), by start time when numbers are missing.
    newest_first.sort_by_key(|b| std::cmp::Reverse((b.build_number, b.start)));
    let rows: Vec<BuildRow> =
        newest_first.iter().take(show).filter_map(|b| judge_one(b, builds, config, now)).collect();
    let current = summarize(builds, None, None, config.baseline_builds);
    ProjectBuilds {
        project: project.to_owned(),
        over_expected: rows.iter().filter(|r| r.over_expected).count(),
        builds: rows,
        baseline: current.baseline,
    }
}

/// One build judged as the monitor would: None when it has no id.
fn judge_one(build: &BuildFacts, all: &[BuildFacts], config: &MonitorConfig, now: DateTime<Utc>) -> Option<BuildRow> {
    let build_id = build.build_id.clone()?;
    let kind = if build.status.is_final() { Kind::FinishedSlow } else { Kind::RunningOverdue };
    // Whether the cache was empty when this build started is not known afterwards. A batch job is
    // never judged against its own batch's siblings (their identifiers are not read here).
    let history = crate::monitor::like_with_like::same_job(build, all.to_vec());
    let judged = judge_build(build, kind, &BuildContext::history(&history), config, now);
    let verdict = judged.verdict.as_ref();
    let mut row = BuildRow {
        build_id,
        build_number: build.build_number,
        status: build.status.clone(),
        start: build.start,
        duration_seconds: verdict.map(|v| v.duration_seconds),
        judged_seconds: verdict.map(|v| v.judged_seconds),
        queued_seconds: build.phase_seconds("QUEUED"),
        scenario: judged.scenario.scenario,
        scenario_reason: judged.scenario.reason,
        expected: judged.expected,
        expected_from: judged.expected_from,
        over_expected: verdict.is_some_and(|v| v.over_expected),
        over_baseline: verdict.is_some_and(|v| v.over_baseline),
        slow: verdict.is_some_and(|v| v.slow),
        summary: verdict.map_or_else(|| "no start time reported: not judged".into(), |v| v.summary.clone()),
        log: crate::monitor::evidence::LogAccess::source(build.logs.as_ref()).ok(),
        from_log: None,
        environment_type: build.environment_type.clone(),
        compute_type: build.compute_type.clone(),
        minutes_over_range: 0.0,
        cost_over_usd: None,
    };
    row.minutes_over_range = minutes_over(&row);
    if row.minutes_over_range > 0.0 {
        let price = price_of(row.environment_type.as_deref(), row.compute_type.as_deref(), &config.compute_prices);
        row.cost_over_usd = price.ok().map(|p| p.usd_per_minute * row.minutes_over_range);
    }
    Some(row)
}

/// The minutes a build ran over its range (0 for one within it or not judged).
fn minutes_over(build: &BuildRow) -> f64 {
    match (build.over_expected, build.judged_seconds) {
        (true, Some(own)) => (own as f64 / 60.0 - build.expected.high_minutes).max(0.0),
        _ => 0.0,
    }
}

/// Reads a project's newest `show` builds plus the history they are judged against
/// (ListBuildsForProject, BatchGetBuilds by 100) and judges them.
pub async fn read_recent(
    codebuild: &CodeBuildProjects,
    project: &str,
    show: usize,
    config: &MonitorConfig,
    now: DateTime<Utc>,
) -> Result<ProjectBuilds, AwsError> {
    let ids = codebuild.recent_build_ids(project, show + history_margin(config)).await?;
    let builds: Vec<BuildFacts> = codebuild.get_builds(&ids).await?.iter().map(build_facts).collect();
    Ok(judge_recent(project, &builds, show, config, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::PhaseTime;
    use chrono::TimeZone;

    fn build(number: u64, status: BuildStatus, minutes: i64, scenario: Option<&str>, source: &str) -> BuildFacts {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap();
        let mut b = BuildFacts::new("tts", status);
        b.build_id = Some(format!("tts:{number}"));
        b.build_number = Some(number);
        b.start = Some(t0 + chrono::Duration::hours(number as i64));
        b.end = b.start.map(|s| s + chrono::Duration::minutes(minutes));
        b.phases = vec![PhaseTime { phase: "QUEUED".into(), seconds: Some(30), status: None }];
        b.source_version = Some(source.into());
        if let Some(s) = scenario {
            b.exported.insert("CACHE_SENTINEL_SCENARIO".into(), s.into());
        }
        b
    }

    fn config() -> MonitorConfig {
        MonitorConfig::from_env(&[("MONITOR_BASELINE_MIN_SAMPLES", "2")]).unwrap()
    }

    #[test]
    fn each_build_is_judged_against_the_builds_before_it() {
        let builds = vec![
            build(1, BuildStatus::Succeeded, 25, None, "a"),
            build(2, BuildStatus::Succeeded, 6, None, "a"),
            build(3, BuildStatus::Succeeded, 14, Some("app"), "b"),
            build(4, BuildStatus::Failed, 2, None, "c"),
            build(5, BuildStatus::Succeeded, 18, Some("requirements"), "d"),
        ];
        let now = Utc.with_ymd_and_hms(2026, 11, 21, 0, 0, 0).unwrap();
        let report = judge_recent("tts", &builds, 4, &config(), now);
        let numbers: Vec<_> = report.builds.iter().map(|r| r.build_number.unwrap()).collect();
        assert_eq!(numbers, vec![5, 4, 3, 2], "newest first, at most 4");
        let by = |n: u64| report.builds.iter().find(|r| r.build_number == Some(n)).unwrap();
        assert_eq!(by(2).scenario, Scenario::NoChange, "same source as build 1");
        assert!(!by(2).over_expected);
        assert_eq!(by(3).scenario, Scenario::App);
        assert!(by(3).over_expected, "14 min is over 8-12");
        assert_eq!(by(5).scenario, Scenario::Requirements);
        assert!(!by(5).over_expected, "18 min is within 15-20");
        assert_eq!(by(5).queued_seconds, Some(30));
        assert_eq!(report.over_expected, 1);
        let baseline = report.baseline.unwrap();
        // The baseline is made of the builds' own time, net of their 30 s in QUEUED, as the monitor judges.
        assert_eq!((baseline.samples, baseline.median_seconds), (4, 930), "the 4 successful builds");
    }

    #[test]
    fn the_first_build_and_a_running_one() {
        let mut running = build(2, BuildStatus::InProgress, 0, None, "b");
        running.end = None;
        let builds = vec![build(1, BuildStatus::Succeeded, 27, None, "a"), running];
        let at = |minutes| builds[1].start.unwrap() + chrono::Duration::minutes(minutes);
        let report = judge_recent("tts", &builds, 10, &config(), at(22));
        assert_eq!(report.builds[0].duration_seconds, Some(22 * 60), "running: to now");
        assert!(report.builds[0].over_expected, "22 min running, over the 15-20 any changed source may take");
        let early = judge_recent("tts", &builds, 10, &config(), at(14));
        assert!(!early.builds[0].over_expected, "14 min running: it may still be a requirements change");
        assert_eq!(report.builds[1].scenario, Scenario::First);
        assert!(!report.builds[1].over_expected, "27 min is within 20-28 for a first build");
    }
}
