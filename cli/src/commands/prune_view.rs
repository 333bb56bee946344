//! The human view of a pruner run: totals, the plan by reason and by cache location with the bytes
//! it would free (or freed), the locations and objects the pruner leaves alone, and how the run
//! ended.

use crate::output::{self, Tone, cell};
use cache_sentinel::pruner::PruneReport;
use cache_sentinel::pruner::report::{LocationReport, UnmanagedReport};
use cache_sentinel::pruner::scope::LocationState;

/// Locations listed in the table (the ones with something to delete, the busiest first).
const SHOWN_LOCATIONS: usize = 50;

pub fn render(r: &PruneReport, interrupted: bool, topic: Option<&str>) -> String {
    let mut out = if r.dry_run {
        format!("Prune plan for s3://{}/ (dry run: nothing deleted; --apply to delete)\n", r.bucket)
    } else {
        format!("Prune of s3://{}/\n", r.bucket)
    };
    if let Some(why) = &r.bucket_refused {
        out.push_str(&output::tone(&format!("\nNothing was pruned: {why}.\n"), Tone::Bad));
        return out;
    }
    if let Some(skipped) = &r.skipped {
        out.push_str(&output::tone(&format!("\nNothing was pruned: {skipped}.\n"), Tone::Warn));
        out.push_str("The pruner runs one at a time per bucket; run the command again once that run has ended.\n");
        return out;
    }
    if let Some(resumed) = &r.resumed {
        out.push_str(&format!(
            "Continued the sweep started {} (after {}).\n",
            resumed.started.format("%Y-%m-%d %H:%M UTC"),
            output::count(resumed.runs as usize, "earlier run", "earlier runs")
        ));
    }
    out.push('\n');
    totals(r, &mut out);
    reasons(r, &mut out);
    locations(r, &mut out);
    left_alone(r, &mut out);
    for e in r.errors.iter().take(20) {
        let line =
            format!("Error: {}: {} {} (after {} attempts)\n", e.key.escape_debug(), e.code, e.message, e.attempts);
        out.push_str(&output::tone(&line, Tone::Bad));
    }
    for note in &r.notes {
        out.push_str(&format!("Note: {note}\n"));
    }
    for note in r.locations.values().flat_map(|l| &l.buildkit).take(20) {
        out.push_str(&format!("BuildKit: {note}\n"));
    }
    for (name, note) in r.locations.iter().filter_map(|(n, l)| Some((n, l.kept_per_project.as_ref()?))).take(20) {
        out.push_str(&format!("Shared: {name}: {note}\n"));
    }
    if !r.dry_run || r.last_full_sweep.is_some() {
        out.push_str(&format!("{}\n", r.last_full_sweep_line()));
    }
    ending(r, interrupted, topic, &mut out);
    out
}

fn totals(r: &PruneReport, out: &mut String) {
    let listed = format!("Listed:        {} objects, {}", r.plan.scanned, output::bytes(r.plan.bytes_scanned));
    let in_run = r.locations.values().filter(|l| listed_in_this_run(l)).count();
    out.push_str(&format!("{listed} in {}\n", output::count(in_run, "cache location", "cache locations")));
    let verb = if r.dry_run { "Would delete:  " } else { "Planned:       " };
    out.push_str(&format!("{verb}{} objects, {}\n", r.plan.planned, output::bytes(r.plan.bytes_planned)));
    if !r.dry_run {
        out.push_str(&format!(
            "Deleted:       {} objects, {} freed\n",
            r.outcome.deleted,
            output::bytes(r.outcome.bytes_freed)
        ));
        if r.outcome.failed > 0 {
            out.push_str(&output::tone(&format!("Failed:        {} objects\n", r.outcome.failed), Tone::Bad));
        }
    }
    if let Some(u) = r.unmanaged.as_ref().filter(|u| u.objects > 0) {
        out.push_str(&format!("Not cache:     {} objects, {} (never deleted)\n", u.objects, output::bytes(u.bytes)));
    }
}

/// A location this run listed (part or all of): not one finished by an earlier run of the sweep,
/// nor one the run stopped before reaching.
fn listed_in_this_run(l: &LocationReport) -> bool {
    l.finished || l.plan.scanned > 0 || l.refused.is_some()
}

fn reasons(r: &PruneReport, out: &mut String) {
    if r.plan.by_reason.is_empty() {
        return;
    }
    let mut table = output::table(&["REASON", "OBJECTS", "SIZE"]);
    for (reason, n) in &r.plan.by_reason {
        let bytes = r.plan.bytes_by_reason.get(reason).copied().unwrap_or(0);
        table.add_row(vec![
            cell(reason.as_str(), Tone::Plain),
            cell(n, Tone::Plain),
            cell(output::bytes(bytes), Tone::Plain),
        ]);
    }
    out.push_str(&format!("\n{}\n", table.trim_fmt()));
}

fn locations(r: &PruneReport, out: &mut String) {
    let mut touched: Vec<(&String, &LocationReport)> = r
        .locations
        .iter()
        .filter(|(_, l)| l.plan.planned > 0 || l.outcome.deleted > 0 || l.outcome.failed > 0)
        .collect();
    touched.sort_by(|a, b| b.1.plan.bytes_planned.cmp(&a.1.plan.bytes_planned).then_with(|| a.0.cmp(b.0)));
    if !touched.is_empty() {
        let mut header = vec!["LOCATION", "PROJECTS", "STATE", "LISTED", "SIZE", "TO DELETE", "TO FREE"];
        if !r.dry_run {
            header.extend(["DELETED", "FREED"]);
        }
        let mut table = output::table(&header);
        for (name, l) in touched.iter().take(SHOWN_LOCATIONS) {
            let projects = if l.projects.is_empty() { "-".to_owned() } else { l.projects.join(", ") };
            let mut row = vec![
                cell(name, Tone::Plain),
                cell(projects, Tone::Plain),
                cell(state(&l.state), if l.state == LocationState::Live { Tone::Plain } else { Tone::Warn }),
                cell(l.plan.scanned, Tone::Plain),
                cell(output::bytes(l.plan.bytes_scanned), Tone::Plain),
                cell(l.plan.planned, Tone::Warn),
                cell(output::bytes(l.plan.bytes_planned), Tone::Warn),
            ];
            if !r.dry_run {
                row.extend([
                    cell(l.outcome.deleted, Tone::Good),
                    cell(output::bytes(l.outcome.bytes_freed), Tone::Good),
                ]);
            }
            table.add_row(row);
        }
        out.push_str(&format!("\n{}\n", table.trim_fmt()));
        if touched.len() > SHOWN_LOCATIONS {
            out.push_str(&format!("... and {} more (--json lists them all)\n", touched.len() - SHOWN_LOCATIONS));
        }
    }
    let quiet = r.locations.values().filter(|l| listed_in_this_run(l)).count().saturating_sub(touched.len());
    if quiet > 0 && touched.is_empty() {
        let line = output::count(quiet, "cache location", "cache locations");
        out.push_str(&format!("\nNothing to delete ({line} listed).\n"));
    } else if quiet > 0 {
        let line = output::count(quiet, "other cache location", "other cache locations");
        out.push_str(&format!("\nNothing to delete in {line}.\n"));
    }
    let not_listed = r.locations.values().filter(|l| !listed_in_this_run(l) && l.refused.is_none()).count();
    if not_listed > 0 {
        let line = output::count(not_listed, "cache location was", "cache locations were");
        if r.resumed.is_some() {
            out.push_str(&format!("\n{line} finished by an earlier run of this sweep.\n"));
        } else {
            out.push_str(&format!("\n{line} not reached before the run stopped (the next run starts there).\n"));
        }
    }
    let mut notes = Vec::new();
    for (name, l) in r.refused() {
        let line = format!("Not pruned: {name}: {}\n", l.refused.as_deref().unwrap_or_default());
        notes.push(output::tone(&line, Tone::Bad));
    }
    for (name, l) in r.locations.iter().filter(|(_, l)| l.over_budget || l.budget_not_applied.is_some()) {
        notes.push(match &l.budget_not_applied {
            Some(why) => format!("Budget not applied to {name}: {why}\n"),
            None => format!("Still over budget: {name} (only its newest or young objects are left)\n"),
        });
    }
    if let Some(note) = &r.total_budget {
        notes.push(format!("Total budget: {note}\n"));
    }
    if !notes.is_empty() {
        out.push('\n');
        notes.iter().for_each(|n| out.push_str(n));
    }
}

/// "live", "missing since 2026-11-12", "orphaned (missing since 2026-11-01)"
fn state(s: &LocationState) -> String {
    match s {
        LocationState::Live => "live".into(),
        LocationState::Missing { missing_since } => format!("missing since {}", missing_since.format("%Y-%m-%d")),
        LocationState::Orphaned { missing_since } => {
            format!("orphaned (missing since {})", missing_since.format("%Y-%m-%d"))
        }
    }
}

/// The cache locations the pruner may not touch, and everything in the bucket that is not cache.
fn left_alone(r: &PruneReport, out: &mut String) {
    if !r.excluded.is_empty() {
        out.push_str("\nCache locations left alone:\n");
        for e in &r.excluded {
            let projects = if e.projects.is_empty() { String::new() } else { format!(" ({})", e.projects.join(", ")) };
            out.push_str(&format!("  {}{projects}: {}\n", r.location_name(&e.prefix), e.reason));
        }
    }
    if let Some(u) = r.unmanaged.as_ref().filter(|u| u.objects > 0) {
        unmanaged(u, out);
    }
}

fn unmanaged(u: &UnmanagedReport, out: &mut String) {
    let partial =
        if u.complete { "" } else { "; this run did not list all of the bucket, so these counts are partial" };
    out.push_str(&format!(
        "\nNot cache (no CodeBuild project's cache location; never deleted): {} objects, {} under {}{partial}\n",
        u.objects,
        output::bytes(u.bytes),
        output::count(u.prefixes as usize, "top-level prefix", "top-level prefixes")
    ));
    let mut table = output::table(&["PREFIX", "OBJECTS", "SIZE"]);
    for p in &u.top_prefixes {
        let prefix = if p.prefix.is_empty() { "(bucket root)".to_owned() } else { p.prefix.clone() };
        table.add_row(vec![
            cell(prefix, Tone::Plain),
            cell(p.objects, Tone::Plain),
            cell(output::bytes(p.bytes), Tone::Plain),
        ]);
    }
    out.push_str(&format!("{}\n", table.trim_fmt()));
    if u.prefixes as usize > u.top_prefixes.len() {
        out.push_str(&format!("... and {} smaller prefixes\n", u.prefixes as usize - u.top_prefixes.len()));
    }
    if u.undecodable > 0 {
        out.push_str(&format!("{} keys S3 listed could not be decoded (left alone)\n", u.undecodable));
    }
}

fn ending(r: &PruneReport, interrupted: bool, topic: Option<&str>, out: &mut String) {
    if interrupted {
        let line = if r.dry_run {
            "\nInterrupted: the plan above covers what was listed before Ctrl-C (a dry run saves nothing).\n"
        } else {
            "\nInterrupted: the resume state is saved; run the same command (or let the scheduled sweep run) to continue.\n"
        };
        out.push_str(&output::tone(line, Tone::Warn));
    } else if let Some(why) = r.stopped.as_deref().filter(|_| !r.finished && r.stopped_on_error()) {
        out.push_str(&output::tone(&format!("\nStopped by an {why}\n"), Tone::Bad));
    } else if let Some(why) = r.stopped.as_deref().filter(|_| !r.finished) {
        let next =
            if r.dry_run { "a dry run saves nothing" } else { "the resume state is saved and the next run continues" };
        out.push_str(&format!("\nStopped before the end of the listing ({why}): {next}.\n"));
    }
    if !r.dry_run {
        match topic {
            Some(topic) if r.notified => out.push_str(&format!("Notice: published to {topic}\n")),
            Some(_) => {}
            None => out.push_str("Notice: none (NOTIFY_TOPIC_ARN is not set)\n"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cache_sentinel::pruner::report::Resumed;
    use chrono::TimeZone;

    fn location(prefix: &str, scanned: u64, finished: bool) -> LocationReport {
        let mut l = LocationReport {
            prefix: prefix.into(),
            state: LocationState::Live,
            projects: vec![prefix.into()],
            namespaces: vec![],
            plan: Default::default(),
            outcome: Default::default(),
            finished,
            refused: None,
            over_budget: false,
            budget_not_applied: None,
            buildkit: vec![],
            kept_per_project: None,
        };
        l.plan.scanned = scanned;
        l
    }

    /// One location listed by this run, two not: finished earlier (a resumed sweep) or not reached.
    fn report(resumed: bool) -> PruneReport {
        let mut r = PruneReport::new("scheduled", None, false, "b".into());
        r.plan.scanned = 3000;
        r.locations.insert("b/web".into(), location("web", 3000, true));
        r.locations.insert("b/api".into(), location("api", 0, false));
        r.locations.insert("b/tts".into(), location("tts", 0, false));
        r.resumed =
            resumed.then(|| Resumed { started: chrono::Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap(), runs: 1 });
        r
    }

    #[test]
    fn locations_not_listed_by_this_run_are_told_apart_from_those_with_nothing_to_delete() {
        let resumed = render(&report(true), false, None);
        assert!(resumed.contains("in 1 cache location\n"), "{resumed}");
        assert!(resumed.contains("Nothing to delete (1 cache location listed)."), "{resumed}");
        assert!(resumed.contains("2 cache locations were finished by an earlier run of this sweep."), "{resumed}");
        let stopped = render(&report(false), true, None);
        assert!(stopped.contains("2 cache locations were not reached before the run stopped"), "{stopped}");
        assert!(!stopped.contains("earlier run"), "{stopped}");
    }
}
