//! One build judged against its history, the whole of the monitor's judgement in one pure
//! function: the project's earlier successful builds summarised (`baseline::summarize`), the
//! scenario classified (`scenario::classify`), its expected range picked from
//! MONITOR_EXPECTED_TIMES, and the verdict (`judge::judge`). The monitor judges every build with
//! it, and so does the command line's report of recent builds.

use super::MonitorConfig;
use super::baseline::summarize;
use super::cache_standing::CacheStanding;
use super::expected::Range;
use super::judge::{BaselinePolicy, JudgeInput, Kind, Verdict, judge};
use super::like_with_like::scenario_baseline;
use super::log::docker_steps::StepGroup;
use super::log::layer_order::OrderFinding;
use super::scenario::{Scenario, ScenarioInputs, ScenarioJudgement, classify};
use crate::build::BuildFacts;
use chrono::{DateTime, Utc};

/// What a build is judged with, besides itself.
#[derive(Debug, Clone, Copy)]
pub struct BuildContext<'a> {
    /// The project's builds (any order; the build itself and later builds may be among them: only
    /// successful builds that started before it count), or why they could not be read.
    pub history: Result<&'a [BuildFacts], &'a str>,
    /// Whether the build's cache location held nothing when it started; None when not known.
    pub cache_empty: Option<bool>,
    /// The cache location looked at, for the scenario's reason.
    pub cache_location: Option<&'a str>,
    /// The managed S3 cache location (bucket/prefix), for advice.
    pub managed_cache: Option<&'a str>,
    /// For a build off the S3 cache: the likely cause and what the guard did (`cache_standing`).
    pub cache_standing: Option<&'a CacheStanding>,
    /// The Docker build (or stage) of its log that decides, when the log was read and shows one.
    pub docker: Option<&'a StepGroup>,
    /// The Dockerfile lines its log shows defeating the cache (`log::layer_order`).
    pub order: &'a [OrderFinding],
}

impl BuildContext<'_> {
    /// Only the history is known (no look at the cache location).
    pub fn history(history: &[BuildFacts]) -> BuildContext<'_> {
        BuildContext {
            history: Ok(history),
            cache_empty: None,
            cache_location: None,
            managed_cache: None,
            cache_standing: None,
            docker: None,
            order: &[],
        }
    }
}

/// The judgement of one build: the scenario and range it was judged by, and the verdict (None when
/// CodeBuild reports no start time, so there is no duration to judge).
#[derive(Debug, Clone, PartialEq)]
pub struct BuildJudgement {
    pub scenario: ScenarioJudgement,
    pub expected: Range,
    /// The MONITOR_EXPECTED_TIMES key the range came from.
    pub expected_from: String,
    pub verdict: Option<Verdict>,
}

/// Judges `build` as the monitor does, at `now` (a running build's duration runs to it).
pub fn judge_build(
    build: &BuildFacts,
    kind: Kind,
    context: &BuildContext<'_>,
    config: &MonitorConfig,
    now: DateTime<Utc>,
) -> BuildJudgement {
    let mut history =
        context.history.map(|builds| summarize(builds, build.build_id.as_deref(), build.start, config.baseline_builds));
    let variable = config.scenario_variable.as_str();
    let scenario = classify(&ScenarioInputs {
        variable,
        exported: build.exported.get(variable).map(String::as_str).filter(|v| !v.trim().is_empty()),
        source_version: build.source_version.as_deref(),
        history: Some(history.as_ref().map_err(|why| *why)),
        cache_empty: context.cache_empty,
        cache_location: context.cache_location,
        docker: context.docker,
    });
    let (profile, profile_key) = config.expected.for_project(&build.project);
    let mut scenario = scenario;
    let mut expected = scenario.scenario.expected(profile);
    // A running build whose kind of change is not known yet may still be a requirements change:
    // overdue only past the longest range a changed source can have, so that the running figure
    // never contradicts the final one (which the log then decides).
    let running_unknown = kind == Kind::RunningOverdue && scenario.scenario == Scenario::UnknownChange;
    if running_unknown {
        expected = [profile.app, profile.requirements]
            .into_iter()
            .max_by(|a, b| a.high_minutes.total_cmp(&b.high_minutes))
            .unwrap_or(expected);
        scenario.reason.push_str(&format!(
            "; still running, so it is overdue only past {:.0} min, the longest a changed source can take (a requirements change), until it ends and its log tells what changed",
            expected.high_minutes
        ));
    }
    // Like with like: the baseline of earlier builds of this build's own scenario only (none for a
    // running build of unknown kind, whose scenario is not known yet).
    if let (Ok(summary), Ok(builds)) = (history.as_mut(), context.history)
        && !running_unknown
    {
        summary.baseline = scenario_baseline(
            builds,
            build.build_id.as_deref(),
            build.start,
            scenario.scenario,
            variable,
            config.baseline_builds,
        );
    }
    if running_unknown && let Ok(summary) = history.as_mut() {
        summary.baseline = None;
    }
    let verdict = judge(&JudgeInput {
        kind,
        build,
        now,
        expected,
        expected_from: profile_key.to_owned(),
        scenario: scenario.clone(),
        history: history.as_ref().ok(),
        policy: BaselinePolicy { factor: config.baseline_factor, min_samples: config.baseline_min_samples },
        managed_cache: context.managed_cache.map(str::to_owned),
        cache_standing: context.cache_standing.cloned(),
        docker: context.docker,
        order: context.order,
        changed_this_week: context.history.ok().map(|builds| changed_in_week(builds, build)),
        compute_prices: &config.compute_prices,
    });
    BuildJudgement { scenario, expected, expected_from: profile_key.to_owned(), verdict }
}

/// The builds of a changed source in the 7 days up to `build` (itself included when its source
/// differs from the build before it): with a layer order that reinstalls on any change, each of
/// them reran the install. Builds in the order they started; a build without a source version
/// counts as changed.
pub fn changed_in_week(builds: &[BuildFacts], build: &BuildFacts) -> u32 {
    let Some(end) = build.start else { return 0 };
    let since = end - chrono::Duration::days(7);
    let mut all: Vec<&BuildFacts> = builds
        .iter()
        .filter(|b| b.build_id != build.build_id && b.start.is_some_and(|s| s < end))
        .chain(std::iter::once(build))
        .collect();
    all.sort_by_key(|b| b.start);
    all.windows(2)
        .filter(|w| w[1].start.is_some_and(|s| s > since))
        .filter(|w| w[1].source_version.is_none() || w[1].source_version != w[0].source_version)
        .count() as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::PhaseTime;
    use crate::event::BuildStatus;
    use crate::monitor::scenario::Scenario;
    use chrono::TimeZone;

    fn build(number: u64, status: BuildStatus, minutes: i64, source: &str) -> BuildFacts {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap();
        let mut b = BuildFacts::new("tts", status);
        b.build_id = Some(format!("tts:{number}"));
        b.build_number = Some(number);
        b.start = Some(t0 + chrono::Duration::hours(number as i64));
        b.end = b.start.map(|s| s + chrono::Duration::minutes(minutes));
        b.phases = vec![PhaseTime { phase: "QUEUED".into(), seconds: Some(60), status: None }];
        b.source_version = Some(source.into());
        b
    }

    fn config() -> MonitorConfig {
        MonitorConfig::from_env(&[("MONITOR_BASELINE_MIN_SAMPLES", "2")]).unwrap()
    }

    #[test]
    fn builds_of_a_changed_source_in_the_week_up_to_a_build() {
        // Sources a, a, b, c, c, d one hour apart (build 6 is the one judged); build 1 has nothing
        // before it to differ from.
        let builds: Vec<BuildFacts> = ["a", "a", "b", "c", "c", "d"]
            .iter()
            .enumerate()
            .map(|(i, s)| build(i as u64 + 1, BuildStatus::Succeeded, 10, s))
            .collect();
        assert_eq!(changed_in_week(&builds, &builds[5]), 3, "b, c and d itself");
        assert_eq!(changed_in_week(&builds[..5], &builds[5]), 3, "the history without the build itself");
        assert_eq!(changed_in_week(&builds, &builds[4]), 2, "b and c; d started later");
        // A week later only the builds within 7 days count.
        let mut late = builds[5].clone();
        late.start = late.start.map(|s| s + chrono::Duration::days(7) - chrono::Duration::minutes(150));
        late.build_id = Some("tts:7".into());
        assert_eq!(
            changed_in_week(&builds, &late),
            2,
            "c (build 4) and d (build 6): the late build has d's source, build 3 is out of the week"
        );
        let mut no_start = builds[5].clone();
        no_start.start = None;
        assert_eq!(changed_in_week(&builds, &no_start), 0);
    }

    #[test]
    fn only_earlier_successful_builds_are_its_history() {
        let builds = vec![
            build(1, BuildStatus::Succeeded, 25, "a"),
            build(2, BuildStatus::Failed, 3, "b"),
            build(3, BuildStatus::Succeeded, 13, "a"),
            build(4, BuildStatus::Succeeded, 6, "a"),
        ];
        let now = Utc.with_ymd_and_hms(2026, 11, 21, 0, 0, 0).unwrap();
        let third = judge_build(&builds[2], Kind::FinishedSlow, &BuildContext::history(&builds), &config(), now);
        assert_eq!(third.scenario.scenario, Scenario::NoChange, "same source as build 1, the last success before it");
        assert_eq!(third.expected, Range::new(5.0, 8.0));
        let verdict = third.verdict.expect("a verdict");
        assert_eq!(verdict.judged_seconds, 12 * 60, "13 min less the minute queued");
        assert!(verdict.over_expected && verdict.slow);
        assert_eq!(verdict.baseline, None, "build 1 was a first build, 4 started later: no earlier no-change build");
        let fourth = judge_build(&builds[3], Kind::FinishedSlow, &BuildContext::history(&builds), &config(), now);
        assert_eq!(fourth.verdict.and_then(|v| v.baseline).map(|b| b.samples), Some(1), "build 3 only, of its kind");

        let first = judge_build(&builds[0], Kind::FinishedSlow, &BuildContext::history(&builds), &config(), now);
        assert_eq!(first.scenario.scenario, Scenario::First);
        let unknown = BuildContext { history: Err("throttled"), ..BuildContext::history(&builds) };
        let blind = judge_build(&builds[2], Kind::FinishedSlow, &unknown, &config(), now);
        assert!(blind.scenario.reason.contains("history unavailable (throttled)"), "{}", blind.scenario.reason);
    }

    #[test]
    fn a_running_build_of_unknown_kind_is_overdue_only_past_the_longest_change() {
        let mut builds: Vec<BuildFacts> =
            (1..=6).map(|n| build(n, BuildStatus::Succeeded, 9, &format!("c{n}"))).collect();
        let mut running = build(7, BuildStatus::InProgress, 0, "c7");
        running.end = None;
        builds.push(running.clone());
        let at = |minutes: i64| running.start.unwrap() + chrono::Duration::minutes(minutes);
        let judged = judge_build(&running, Kind::RunningOverdue, &BuildContext::history(&builds), &config(), at(14));
        assert_eq!(judged.scenario.scenario, Scenario::UnknownChange);
        assert_eq!(judged.expected, Range::new(15.0, 20.0), "the requirements range, not the app range");
        let verdict = judged.verdict.expect("a verdict");
        assert!(!verdict.slow && verdict.baseline.is_none(), "no baseline of 9-minute builds lowers it: {verdict:?}");
        assert!(judged.scenario.reason.contains("still running"), "{}", judged.scenario.reason);
        let late = judge_build(&running, Kind::RunningOverdue, &BuildContext::history(&builds), &config(), at(22));
        assert!(late.verdict.expect("a verdict").slow);
        // Finished, the same build is judged by the app range (its log then tells the kind).
        let mut finished = running.clone();
        finished.status = BuildStatus::Succeeded;
        finished.end = Some(at(14));
        let done = judge_build(&finished, Kind::FinishedSlow, &BuildContext::history(&builds), &config(), at(15));
        assert_eq!(done.expected, Range::new(8.0, 12.0));
    }

    #[test]
    fn a_build_without_a_start_has_no_verdict_but_a_scenario() {
        let mut b = build(1, BuildStatus::Succeeded, 5, "a");
        b.start = None;
        let judged = judge_build(&b, Kind::FinishedSlow, &BuildContext::history(&[]), &config(), Utc::now());
        assert_eq!((judged.scenario.scenario, judged.verdict), (Scenario::First, None));
    }
}
