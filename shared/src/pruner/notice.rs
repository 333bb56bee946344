//! The pruner's summary notice: a pure function of the run's report.

use super::report::PruneReport;
use crate::notify::{Notice, Severity};

/// Whether a run calls for a notice: something was deleted (not in a dry run), something failed, or
/// the run stopped on an error. An ignored event never does.
pub fn worth_notifying(report: &PruneReport) -> bool {
    report.ignored.is_none()
        && ((!report.dry_run && report.outcome.deleted > 0) || report.outcome.failed > 0 || report.stopped_on_error())
}

/// The summary notice of one run.
pub fn summary(report: &PruneReport) -> Notice {
    let severity =
        if report.outcome.failed > 0 || report.stopped_on_error() { Severity::Error } else { Severity::Info };
    let subject = if report.outcome.failed > 0 {
        format!("cache-pruner: {} deletions failed in {}", report.outcome.failed, report.bucket)
    } else {
        format!(
            "cache-pruner freed {} in {} ({} objects)",
            human(report.outcome.bytes_freed),
            report.bucket,
            report.outcome.deleted
        )
    };
    Notice::new(&subject, &body(report), severity)
        .with_attribute("function", "cache-pruner")
        .with_attribute("project", report.project.as_deref().unwrap_or("*"))
        .with_attribute("action", if report.outcome.failed > 0 { "failed" } else { "pruned" })
}

fn body(report: &PruneReport) -> String {
    let scope = report.project.as_deref().unwrap_or("cache root");
    let mut body = format!(
        "cache-pruner pruned s3://{}/{} ({scope}).\n\nScanned:  {} objects, {}\nDeleted:  {} objects, {}\nFailed:   {}\nFinished: {}{}\n",
        report.bucket,
        report.prefix,
        report.plan.scanned,
        human(report.plan.bytes_scanned),
        report.outcome.deleted,
        human(report.outcome.bytes_freed),
        report.outcome.failed,
        report.finished,
        report.stopped.as_deref().map(|s| format!(" (stopped: {s})")).unwrap_or_default()
    );
    if !report.plan.by_reason.is_empty() {
        body.push_str("\nBy reason:\n");
        for (reason, n) in &report.plan.by_reason {
            body.push_str(&format!("  {:<15} {n}\n", reason.as_str()));
        }
    }
    let mut busiest: Vec<_> = report.outcomes.iter().filter(|(_, p)| p.deleted > 0 || p.failed > 0).collect();
    busiest.sort_by_key(|(_, p)| std::cmp::Reverse(p.bytes_freed));
    if !busiest.is_empty() {
        body.push_str("\nProjects:\n");
        for (name, p) in busiest.iter().take(50) {
            body.push_str(&format!(
                "  {name}: {} deleted ({}), {} failed\n",
                p.deleted,
                human(p.bytes_freed),
                p.failed
            ));
        }
    }
    if !report.errors.is_empty() {
        body.push_str("\nErrors (first ones):\n");
        for e in report.errors.iter().take(20) {
            body.push_str(&format!("  {}: {} {} (after {} attempts)\n", e.key, e.code, e.message, e.attempts));
        }
    }
    for note in &report.notes {
        body.push_str(&format!("\nNote: {note}\n"));
    }
    body
}

/// A byte count for people: 1 KiB and up with one decimal.
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pruner::plan::Reason;
    use crate::pruner::report::{DeleteCounts, KeyError};

    /// Compares with a committed file under shared/tests/snapshots/; `UPDATE_SNAPSHOTS=1` rewrites it.
    fn assert_snapshot(name: &str, actual: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots").join(name);
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&path, actual).unwrap();
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
            panic!("missing snapshot {}: run with UPDATE_SNAPSHOTS=1 and review it", path.display())
        });
        assert_eq!(actual, expected, "snapshot {name} differs (UPDATE_SNAPSHOTS=1 rewrites it; review the diff)");
    }

    fn rendered(notice: &Notice) -> String {
        format!("Subject: {}\nAttributes: {:?}\n\n{}", notice.subject(), notice.attributes(), notice.body())
    }

    fn sweep_report() -> PruneReport {
        let mut r = PruneReport::new(
            "scheduled-sweep",
            Some("evt-1".into()),
            false,
            "codebuild-cache-123456789012-ap-south-1".into(),
            String::new(),
        );
        r.finished = true;
        r.plan.scanned = 2504;
        r.plan.bytes_scanned = 7_340_032_000;
        r.plan.planned = 2494;
        r.plan.by_reason.insert(Reason::MaxAge, 2194);
        r.plan.by_reason.insert(Reason::Orphaned, 300);
        r.outcome = DeleteCounts { deleted: 2494, bytes_freed: 6_442_450_944, failed: 0 };
        r.outcomes
            .insert("tts-service-build".into(), DeleteCounts { deleted: 1497, bytes_freed: 5_368_709_120, failed: 0 });
        r.outcomes
            .insert("old-prototype-build".into(), DeleteCounts { deleted: 300, bytes_freed: 314_572_800, failed: 0 });
        r.outcomes.insert("web".into(), DeleteCounts { deleted: 697, bytes_freed: 759_169_024, failed: 0 });
        r.outcomes.insert("idle".into(), DeleteCounts::default());
        r
    }

    #[test]
    fn a_sweep_that_freed_space() {
        let report = sweep_report();
        assert!(worth_notifying(&report));
        assert_snapshot("pruner-sweep-freed.txt", &rendered(&summary(&report)));
    }

    #[test]
    fn a_build_run_with_failed_deletions_and_a_note() {
        let mut r = PruneReport::new("build-state-change", None, false, "my-cache".into(), "tts-service-build/".into());
        r.project = Some("tts-service-build".into());
        r.stopped = Some("error: s3:DeleteObjects failed: access denied".into());
        r.plan.scanned = 12;
        r.plan.bytes_scanned = 1200;
        r.plan.planned = 3;
        r.plan.by_reason.insert(Reason::MaxAge, 3);
        r.outcome = DeleteCounts { deleted: 1, bytes_freed: 100, failed: 2 };
        r.outcomes.insert("tts-service-build".into(), r.outcome);
        r.errors.push(KeyError {
            key: "tts-service-build/a".into(),
            code: "AccessDenied".into(),
            message: "Access Denied".into(),
            attempts: 1,
        });
        r.notes.push("bucket versioning is Enabled: deleting adds delete markers".into());
        assert!(worth_notifying(&r));
        assert_snapshot("pruner-build-failed.txt", &rendered(&summary(&r)));
    }

    #[test]
    fn dry_runs_and_ignored_events_say_nothing() {
        let mut r = sweep_report();
        r.dry_run = true;
        r.outcome = DeleteCounts::default();
        assert!(!worth_notifying(&r));
        let mut r = sweep_report();
        r.ignored = Some("build status FAILED".into());
        assert!(!worth_notifying(&r));
    }

    #[test]
    fn sizes_for_people() {
        assert_eq!(human(0), "0 B");
        assert_eq!(human(1023), "1023 B");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(5 * 1024 * 1024 * 1024), "5.0 GiB");
    }
}
