//! The pruner's summary notice: a pure function of the run's report.

use super::report::{PruneReport, UnmanagedReport};
use crate::notify::{Notice, Severity};
use std::fmt::Write;

/// Whether a run calls for a notice: something was deleted (not in a dry run), something failed,
/// a location was refused, or the run stopped on an error. An ignored or skipped run never does.
pub fn worth_notifying(report: &PruneReport) -> bool {
    report.ignored.is_none()
        && report.skipped.is_none()
        && ((!report.dry_run && report.outcome.deleted > 0)
            || report.outcome.failed > 0
            || report.stopped_on_error()
            || report.refused().next().is_some()
            || report.bucket_refused.is_some())
}

/// The summary notice of one run.
pub fn summary(report: &PruneReport) -> Notice {
    let failed = report.outcome.failed > 0 || report.refused().next().is_some() || report.bucket_refused.is_some();
    let severity = if failed || report.stopped_on_error() { Severity::Error } else { Severity::Info };
    let subject = if report.bucket_refused.is_some() {
        format!("cache-pruner: cannot prune {}: the bucket is in another region", report.bucket)
    } else if report.outcome.failed > 0 {
        format!("cache-pruner: {} deletions failed in {}", report.outcome.failed, report.bucket)
    } else if let Some((location, _)) = report.refused().next() {
        format!("cache-pruner: could not prune {location}")
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
        .with_attribute("action", if failed { "failed" } else { "pruned" })
}

fn body(report: &PruneReport) -> String {
    if let Some(why) = &report.bucket_refused {
        return format!(
            "cache-pruner did not prune s3://{}: {why}.\n\nNothing was listed or deleted. This is permanent until the configuration changes: every run says so.\n",
            report.bucket
        );
    }
    let scope = match &report.project {
        Some(project) => format!("the cache location of {project}"),
        None => format!("{} cache locations", report.locations.len()),
    };
    let mut body = format!(
        "cache-pruner pruned s3://{} ({scope}).\n\nScanned:  {} objects, {}\nDeleted:  {} objects, {}\nFailed:   {}\nFinished: {}{}\n",
        report.bucket,
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
            let _ = writeln!(body, "  {:<15} {n}", reason.as_str());
        }
    }
    locations(report, &mut body);
    predating(report, &mut body);
    if !report.excluded.is_empty() {
        body.push_str("\nCache locations left alone:\n");
        for e in report.excluded.iter().take(20) {
            let _ = writeln!(body, "  {}: {}", report.location_name(&e.prefix), e.reason);
        }
    }
    if let Some(unmanaged) = report.unmanaged.as_ref().filter(|u| u.objects > 0) {
        unmanaged_lines(unmanaged, &mut body);
    }
    if !report.errors.is_empty() {
        body.push_str("\nErrors (first ones):\n");
        for e in report.errors.iter().take(20) {
            let _ =
                writeln!(body, "  {}: {} {} (after {} attempts)", e.key.escape_debug(), e.code, e.message, e.attempts);
        }
    }
    for note in &report.notes {
        let _ = write!(body, "\nNote: {note}\n");
    }
    if report.trigger != "unhandled" {
        let _ = write!(body, "\n{}\n", report.last_full_sweep_line());
    }
    body
}

/// Objects older than every project that used their location: not its cache, never deleted.
fn predating(report: &PruneReport, body: &mut String) {
    if report.plan.predating == 0 {
        return;
    }
    let _ = writeln!(
        body,
        "\nOlder than their location's projects (not cache, never deleted): {} objects, {}",
        report.plan.predating,
        human(report.plan.bytes_predating)
    );
    for (name, l) in report.locations.iter().filter(|(_, l)| l.plan.predating > 0).take(20) {
        let _ = writeln!(body, "  {name}: {} objects, {}", l.plan.predating, human(l.plan.bytes_predating));
    }
}

/// The busiest locations (by bytes freed), then the refused ones.
fn locations(report: &PruneReport, body: &mut String) {
    let mut busiest: Vec<_> =
        report.locations.iter().filter(|(_, l)| l.outcome.deleted > 0 || l.outcome.failed > 0).collect();
    busiest.sort_by_key(|(_, l)| std::cmp::Reverse(l.outcome.bytes_freed));
    if !busiest.is_empty() {
        body.push_str("\nLocations:\n");
        for (name, l) in busiest.iter().take(50) {
            let projects = if l.projects.is_empty() { "no project".to_owned() } else { l.projects.join(", ") };
            let _ = writeln!(
                body,
                "  {name} ({}, {projects}): {} deleted ({}), {} failed",
                l.state.as_str(),
                l.outcome.deleted,
                human(l.outcome.bytes_freed),
                l.outcome.failed
            );
        }
    }
    let buildkit: Vec<&String> = report.locations.values().flat_map(|l| &l.buildkit).take(20).collect();
    if !buildkit.is_empty() {
        body.push_str("\nBuildKit S3 caches (blobs kept while a kept manifest names them):\n");
        for note in buildkit {
            let _ = writeln!(body, "  {note}");
        }
    }
    let refused: Vec<_> = report.refused().collect();
    if !refused.is_empty() {
        body.push_str("\nNot pruned (the other locations were):\n");
        for (name, l) in refused.iter().take(20) {
            let _ = writeln!(body, "  {name}: {}", l.refused.as_deref().unwrap_or_default());
        }
    }
}

fn unmanaged_lines(unmanaged: &UnmanagedReport, body: &mut String) {
    let _ = writeln!(
        body,
        "\nNot cache (never deleted): {} objects, {} under {} top-level prefixes{}:",
        unmanaged.objects,
        human(unmanaged.bytes),
        unmanaged.prefixes,
        if unmanaged.complete { "" } else { " (counted so far)" }
    );
    for p in &unmanaged.top_prefixes {
        let name = if p.prefix.is_empty() { "(bucket root)" } else { p.prefix.as_str() };
        let _ = writeln!(body, "  {name}: {} objects, {}", p.objects, human(p.bytes));
    }
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
pub(crate) mod tests {
    use super::*;
    use crate::pruner::plan::Reason;
    use crate::pruner::report::{DeleteCounts, KeyError, LocationReport, PrefixCount};
    use crate::pruner::scope::{ExcludedLocation, LocationState};
    use crate::snapshots::{assert_snapshot, notice_text};
    use chrono::TimeZone;

    fn location(
        report: &mut PruneReport,
        prefix: &str,
        state: LocationState,
        projects: &[&str],
        outcome: DeleteCounts,
    ) {
        let line = LocationReport {
            prefix: prefix.into(),
            state,
            projects: projects.iter().map(|p| (*p).to_owned()).collect(),
            namespaces: vec![],
            plan: Default::default(),
            outcome,
            finished: true,
            refused: None,
            over_budget: false,
            budget_not_applied: None,
            buildkit: vec![],
            kept_per_project: None,
        };
        report.locations.insert(report.location_name(prefix), line);
    }

    pub(crate) fn sweep_report() -> PruneReport {
        let mut r = PruneReport::new(
            "scheduled-sweep",
            Some("evt-1".into()),
            false,
            "codebuild-cache-123456789012-ap-south-1".into(),
        );
        r.finished = true;
        r.plan.scanned = 2504;
        r.plan.bytes_scanned = 7_340_032_000;
        r.plan.planned = 2494;
        r.plan.by_reason.insert(Reason::MaxAge, 2194);
        r.plan.by_reason.insert(Reason::Orphaned, 300);
        r.outcome = DeleteCounts { deleted: 2494, bytes_freed: 6_442_450_944, failed: 0 };
        let since = chrono::Utc.with_ymd_and_hms(2026, 11, 1, 3, 0, 0).unwrap();
        let counts = |deleted, bytes_freed| DeleteCounts { deleted, bytes_freed, failed: 0 };
        location(&mut r, "tts-service-build", LocationState::Live, &["tts-service-build"], counts(1497, 5_368_709_120));
        location(
            &mut r,
            "old-prototype-build",
            LocationState::Orphaned { missing_since: since },
            &[],
            counts(300, 314_572_800),
        );
        location(&mut r, "team-cache/web", LocationState::Live, &["web-a", "web-b"], counts(697, 759_169_024));
        location(&mut r, "idle", LocationState::Live, &["idle"], DeleteCounts::default());
        // Archives older than the location's first project: kept, and said.
        let web = r.location_name("team-cache/web");
        let plan = &mut r.locations.get_mut(&web).unwrap().plan;
        (plan.predating, plan.bytes_predating) = (12, 1_610_612_736);
        (r.plan.predating, r.plan.bytes_predating) = (12, 1_610_612_736);
        r.excluded.push(ExcludedLocation {
            prefix: "legacy".into(),
            reason: "used by projects out of scope (PROJECT_INCLUDE/EXCLUDE): legacy-x".into(),
            projects: vec!["legacy-x".into()],
        });
        r.unmanaged = Some(UnmanagedReport {
            objects: 42,
            bytes: 3_221_225_472,
            prefixes: 3,
            top_prefixes: vec![
                PrefixCount { prefix: "releases/".into(), objects: 30, bytes: 3_000_000_000 },
                PrefixCount { prefix: "tf.backups/".into(), objects: 11, bytes: 221_225_000 },
                PrefixCount { prefix: "".into(), objects: 1, bytes: 472 },
            ],
            complete: true,
            undecodable: 0,
        });
        r
    }

    #[test]
    fn a_sweep_that_freed_space_and_left_the_rest_alone() {
        let report = sweep_report();
        assert!(worth_notifying(&report));
        assert_snapshot("pruner-sweep-freed.txt", &notice_text(&summary(&report)));
    }

    #[test]
    fn a_build_run_with_failed_deletions_and_a_note() {
        let mut r = PruneReport::new("build-state-change", None, false, "my-cache".into());
        r.project = Some("tts-service-build".into());
        r.stopped = Some("error: s3:DeleteObjects failed: access denied".into());
        r.plan.scanned = 12;
        r.plan.bytes_scanned = 1200;
        r.plan.planned = 3;
        r.plan.by_reason.insert(Reason::MaxAge, 3);
        r.outcome = DeleteCounts { deleted: 1, bytes_freed: 100, failed: 2 };
        let outcome = r.outcome;
        location(&mut r, "tts-service-build", LocationState::Live, &["tts-service-build"], outcome);
        r.errors.push(KeyError::new("tts-service-build/a\u{1}", "AccessDenied", "Access Denied", 1));
        r.notes.push("bucket versioning is Enabled: deleting adds delete markers".into());
        assert!(worth_notifying(&r));
        assert_snapshot("pruner-build-failed.txt", &notice_text(&summary(&r)));
    }

    #[test]
    fn a_refused_location_is_named_while_the_others_were_pruned() {
        let mut r = sweep_report();
        r.unmanaged = None;
        r.excluded.clear();
        if let Some(line) = r.locations.values_mut().find(|l| l.prefix == "idle") {
            line.refused = Some(
                "s3:ListObjectsV2 failed: access denied (missing IAM permission?): AccessDenied: Access Denied".into(),
            );
        }
        let notice = summary(&r);
        assert!(notice.subject().contains("could not prune"), "{}", notice.subject());
        assert_snapshot("pruner-sweep-refused.txt", &notice_text(&notice));
    }

    #[test]
    fn dry_runs_ignored_events_and_skipped_runs_say_nothing() {
        let mut r = sweep_report();
        r.dry_run = true;
        r.outcome = DeleteCounts::default();
        assert!(!worth_notifying(&r));
        let mut r = sweep_report();
        r.ignored = Some("build status FAILED".into());
        assert!(!worth_notifying(&r));
        let mut r = sweep_report();
        r.skipped = Some("another sweep holds the lease".into());
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
