//! The history limit compares like with like: which scenario each earlier successful build was,
//! from what it shows by itself (the exported `CACHE_SENTINEL_SCENARIO`, else no earlier success =
//! first build, the same source as the success before it = no change, else a change of unknown
//! kind), so that a build is compared only with earlier builds of its own scenario. A run of
//! 6-minute no-change builds says nothing about an app-code change, which takes 8-12.
//!
//! What it cannot see of an earlier build: whether its S3 cache was empty when it started (that
//! would take a listing per build); such a rebuild counts as the scenario its source says.
//!
//! Batch builds: the jobs of one batch build the same commit on other architectures or images, so
//! a sibling's success is no "last success" for the next job. A job is compared only with earlier
//! runs of the same job (`same_job`: its build group's identifier, in other batches), a build that
//! is no batch job only with builds that are none.

use super::baseline::{Baseline, earlier_successes};
use super::scenario::Scenario;
use crate::build::BuildFacts;
use chrono::{DateTime, Utc};

/// The baseline of the earlier successful builds of `scenario`, newest first, at most `count`;
/// None when there are none.
pub fn scenario_baseline(
    builds: &[BuildFacts],
    current: Option<&str>,
    before: Option<DateTime<Utc>>,
    scenario: Scenario,
    variable: &str,
    count: usize,
) -> Option<Baseline> {
    // Oldest first: each build's scenario depends on the successes before it.
    let mut ok = earlier_successes(builds, current, before);
    ok.reverse();
    let mut previous_source: Option<&str> = None;
    let mut seen_success = false;
    let mut durations = vec![];
    for b in &ok {
        let own = own_scenario(b, variable, seen_success, previous_source);
        if own == scenario
            && let Some(seconds) = b.end.and_then(|end| b.own_seconds(end))
        {
            durations.push((b.start, seconds));
        }
        seen_success = true;
        previous_source = b.source_version.as_deref();
    }
    durations.sort_by_key(|(start, _)| std::cmp::Reverse(*start));
    durations.truncate(count);
    Baseline::from_durations(&durations.into_iter().map(|(_, s)| s).collect::<Vec<_>>())
}

fn own_scenario(build: &BuildFacts, variable: &str, seen_success: bool, previous_source: Option<&str>) -> Scenario {
    if let Some(exported) = build.exported.get(variable).and_then(|v| Scenario::from_exported(v)) {
        return exported;
    }
    match (seen_success, build.source_version.as_deref(), previous_source) {
        (false, _, _) => Scenario::First,
        (true, Some(now), Some(before)) if now == before => Scenario::NoChange,
        _ => Scenario::UnknownChange,
    }
}

/// The builds of `history` that `build` may be compared with: never a job of its own batch, and
/// only runs of the same job (the same build group identifier; builds outside batches for a build
/// outside one). A batch job whose identifier is not known (BatchGetBuildBatches refused) is
/// compared with every build outside its own batch: the siblings at least are left out.
pub fn same_job(build: &BuildFacts, history: Vec<BuildFacts>) -> Vec<BuildFacts> {
    history
        .into_iter()
        .filter(|b| build.batch.is_none() || b.batch != build.batch)
        .filter(|b| match (&build.batch, &build.job) {
            (None, _) => b.batch.is_none(),
            (Some(_), Some(job)) => b.batch.is_some() && b.job.as_ref() == Some(job),
            (Some(_), None) => true,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::BuildStatus;
    use chrono::TimeZone;

    fn build(n: i64, minutes: i64, source: &str, exported: Option<&str>) -> BuildFacts {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).unwrap();
        let mut b = BuildFacts::new("tts", BuildStatus::Succeeded);
        b.build_id = Some(format!("tts:{n}"));
        b.start = Some(t0 + chrono::Duration::days(n));
        b.end = b.start.map(|s| s + chrono::Duration::minutes(minutes));
        b.source_version = Some(source.into());
        if let Some(e) = exported {
            b.exported.insert("CACHE_SENTINEL_SCENARIO".into(), e.into());
        }
        b
    }

    #[test]
    fn each_earlier_build_counts_for_its_own_scenario_only() {
        let mut builds = vec![build(0, 25, "a", None)];
        builds.extend((1..=6).map(|n| build(n, 6, "a", None)));
        builds.push(build(7, 10, "b", Some("app")));
        builds.push(build(8, 14, "c", None));
        let base = |scenario| scenario_baseline(&builds, None, None, scenario, "CACHE_SENTINEL_SCENARIO", 20);
        let no_change = base(Scenario::NoChange).unwrap();
        assert_eq!((no_change.samples, no_change.p90_seconds), (6, 360), "six 6-minute rebuilds of the same commit");
        assert_eq!(base(Scenario::App).map(|b| (b.samples, b.p90_seconds)), Some((1, 600)), "the exported one");
        assert_eq!(base(Scenario::First).map(|b| b.samples), Some(1));
        assert_eq!(base(Scenario::UnknownChange).map(|b| b.p90_seconds), Some(840), "c after b: a change");
        assert_eq!(base(Scenario::Requirements), None);
        let before = builds[7].start;
        let until_app = scenario_baseline(&builds, None, before, Scenario::App, "CACHE_SENTINEL_SCENARIO", 20);
        assert_eq!(until_app, None, "only builds that started before the one judged");
    }

    #[test]
    fn a_batch_job_is_compared_with_the_same_job_of_other_batches_only() {
        let job = |n: i64, batch: Option<&str>, id: Option<&str>| {
            let mut b = build(n, 7, "c1", None);
            b.batch = batch.map(str::to_owned);
            b.job = id.map(str::to_owned);
            b
        };
        let history = vec![
            job(1, Some("b1"), Some("amd64")),
            job(2, Some("b1"), Some("arm64")),
            job(3, Some("b2"), Some("amd64")),
            job(4, None, None),
        ];
        let arm = job(5, Some("b2"), Some("arm64"));
        let ids = |kept: Vec<BuildFacts>| kept.into_iter().filter_map(|b| b.build_id).collect::<Vec<_>>();
        assert_eq!(
            ids(same_job(&arm, history.clone())),
            ["tts:2"],
            "the arm64 job of the earlier batch, never its amd64 sibling"
        );
        let plain = job(6, None, None);
        assert_eq!(
            ids(same_job(&plain, history.clone())),
            ["tts:4"],
            "a build outside batches is compared with builds outside them"
        );
        let unknown = job(7, Some("b2"), None);
        assert_eq!(ids(same_job(&unknown, history)), ["tts:1", "tts:2", "tts:4"], "an unknown job: no sibling");
    }
}
