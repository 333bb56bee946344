//! The history limit compares like with like: which scenario each earlier successful build was,
//! from what it shows by itself (the exported `CACHE_SENTINEL_SCENARIO`, else no earlier success =
//! first build, the same source as the success before it = no change, else a change of unknown
//! kind), so that a build is compared only with earlier builds of its own scenario. A run of
//! 6-minute no-change builds says nothing about an app-code change, which takes 8-12.
//!
//! What it cannot see of an earlier build: whether its S3 cache was empty when it started (that
//! would take a listing per build); such a rebuild counts as the scenario its source says.

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
}
