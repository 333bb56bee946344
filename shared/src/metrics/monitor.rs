//! build-time-monitor's metrics: one line per finished, successful build it judged (its own time
//! against its expected range, slow or not, the queue, what the cache and Docker did), from the
//! report it returns. Running builds (the sweep), builds whose figures were refused and a
//! redelivered event of a build already notified emit none (EventBridge delivers at least once: a
//! redelivered event of a build within its time is counted again, which the marker-less path
//! cannot tell).

use super::MetricsMode;
use super::catalogue::*;
use super::emf::MetricLine;
use crate::event::BuildStatus;
use crate::monitor::evidence::Upload;
use crate::monitor::report::{BuildOutcome, MonitorReport, Outcome};

pub fn lines(report: &MonitorReport, mode: MetricsMode, timestamp_ms: i64) -> Vec<MetricLine> {
    if mode == MetricsMode::Off {
        return vec![];
    }
    report.builds.iter().filter_map(|b| line(b, mode, timestamp_ms)).collect()
}

fn flag(yes: bool) -> f64 {
    if yes { 1.0 } else { 0.0 }
}

fn line(build: &BuildOutcome, mode: MetricsMode, timestamp_ms: i64) -> Option<MetricLine> {
    // A redelivered event of a build already notified was counted by its first delivery.
    if build.status != BuildStatus::Succeeded || matches!(build.outcome, Outcome::Refused | Outcome::AlreadyNotified) {
        return None;
    }
    let verdict = build.verdict.as_ref()?;
    let minutes = |seconds: u64| (seconds as f64 / 60.0 * 10.0).round() / 10.0;
    let own = minutes(verdict.judged_seconds);
    let over = (verdict.judged_seconds as f64 / 60.0 - verdict.expected.high_minutes).max(0.0);
    let mut line = MetricLine::new(timestamp_ms)
        .dimension(FUNCTION, "build-time-monitor")
        .dimension(PROJECT, &build.project)
        .dimension_set(&[FUNCTION]);
    if mode == MetricsMode::PerProject {
        line = line.dimension_set(&[FUNCTION, PROJECT]);
    }
    line = line
        .metric(&BUILD_OWN_MINUTES, own)
        .metric(&EXPECTED_LOW_MINUTES, verdict.expected.low_minutes)
        .metric(&EXPECTED_HIGH_MINUTES, verdict.expected.high_minutes)
        .metric(&MINUTES_OVER_RANGE, (over * 10.0).round() / 10.0)
        .metric(&SLOW_BUILDS, flag(verdict.slow))
        .metric(&QUEUED_MINUTES, minutes(verdict.queued_seconds))
        .property("BuildId", build.build_id.clone().unwrap_or_default())
        .property("Scenario", verdict.scenario.scenario.as_str());
    if let Some(evidence) = &build.evidence {
        let found = evidence.found.as_ref();
        if let Some(docker) = found.and_then(|f| f.docker.as_ref()) {
            let group = &docker.decisive;
            if group.count() > 0 {
                line = line.metric(&DOCKER_STEPS_REUSED, f64::from(group.reused()) * 100.0 / f64::from(group.count()));
            }
        }
        // Only a build on the S3 cache (a location) whose log was read says whether it restored.
        if evidence.location.is_some()
            && let Some(found) = found
        {
            line = line.metric(&CACHE_RESTORED, flag(found.restored));
        }
        match evidence.upload {
            Upload::Written => line = line.metric(&CACHE_UPLOADED, 1.0),
            Upload::NothingNew => line = line.metric(&CACHE_UPLOADED, 0.0),
            _ => {}
        }
    }
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::emf::tests::assert_valid_emf;
    use crate::monitor::judge::Kind;
    use crate::monitor::render::tests::{history, sample_build, sample_evidence, verdict_with};
    use crate::monitor::report::MonitorReport;

    /// The sample build (events/build-succeeded.json, its log events/logs/buildkit-partly-cached.log)
    /// judged as the monitor judges it.
    fn report() -> MonitorReport {
        let build = sample_build();
        let evidence = sample_evidence(&build);
        let docker = evidence.found.as_ref().and_then(|f| f.docker.as_ref()).map(|d| &d.decisive);
        let verdict = verdict_with(&build, Kind::FinishedSlow, &history(), docker);
        let mut outcome = BuildOutcome::new(
            &build.project,
            build.build_id.clone(),
            build.status.clone(),
            Outcome::Notified,
            "slow".into(),
        );
        outcome.verdict = Some(verdict);
        outcome.evidence = Some(evidence);
        MonitorReport {
            trigger: "build-state-change",
            event_id: None,
            dry_run: false,
            sweep: None,
            builds: vec![outcome],
            digest: None,
            refused: None,
            findings: None,
        }
    }

    #[test]
    fn the_sample_builds_line_carries_its_figures() {
        let emitted = lines(&report(), MetricsMode::On, 1_764_000_000_000);
        assert_eq!(emitted.len(), 1);
        let json = emitted[0].to_json();
        assert_valid_emf(&json);
        // 32 min 56 s of its own against a requirements change's 15-20 min: 12.9 over, slow.
        assert_eq!(json["BuildOwnMinutes"].as_f64(), Some(32.9));
        assert_eq!(
            (json["ExpectedLowMinutes"].as_f64(), json["ExpectedHighMinutes"].as_f64()),
            (Some(15.0), Some(20.0))
        );
        assert_eq!(json["MinutesOverRange"].as_f64(), Some(12.9));
        assert_eq!(json["SlowBuilds"].as_f64(), Some(1.0));
        assert_eq!(json["QueuedMinutes"].as_f64(), Some(0.0), "2 s queued");
        // The log: 4 of 20 Docker steps cached, the S3 cache restored; a new object after the start.
        assert_eq!(json["DockerStepsReused"].as_f64(), Some(20.0));
        assert_eq!((json["CacheRestored"].as_f64(), json["CacheUploaded"].as_f64()), (Some(1.0), Some(1.0)));
        assert_eq!(json["Function"], "build-time-monitor");
        assert_eq!(json["Project"], "tts-service-build", "a property under METRICS=on");
        assert_eq!(json["Scenario"], "requirements");
        assert_eq!(json["_aws"]["CloudWatchMetrics"][0]["Dimensions"], serde_json::json!([["Function"]]));
        let per_project = lines(&report(), MetricsMode::PerProject, 1)[0].to_json();
        assert_eq!(
            per_project["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            serde_json::json!([["Function"], ["Function", "Project"]])
        );
        assert!(lines(&report(), MetricsMode::Off, 1).is_empty());
    }

    #[test]
    fn running_failed_and_refused_builds_emit_nothing() {
        for (status, outcome) in [
            (BuildStatus::InProgress, Outcome::Notified),
            (BuildStatus::Failed, Outcome::Unsuccessful),
            (BuildStatus::Succeeded, Outcome::Refused),
            (BuildStatus::Succeeded, Outcome::AlreadyNotified),
        ] {
            let mut r = report();
            r.builds[0].status = status.clone();
            r.builds[0].outcome = outcome;
            assert!(lines(&r, MetricsMode::On, 1).is_empty(), "{status:?} {outcome:?}");
        }
        let mut r = report();
        r.builds[0].verdict = None;
        assert!(lines(&r, MetricsMode::On, 1).is_empty(), "not judged");
    }
}
