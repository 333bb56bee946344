//! Turning what the location runs and the deleter did into the report and the next state.

use super::budget::BudgetOutcome;
use super::delete::DeleteOutcome;
use super::report::{LocationReport, PrefixCount, PruneReport, REPORTED_PREFIXES, UnmanagedReport};
use super::rest::Unmanaged;
use super::scope::{ExcludedLocation, ManagedLocation, Scope};
use super::task::{Ending, LocationRun};

/// Adds a report line for each managed location (nothing planned yet).
pub fn add_locations(report: &mut PruneReport, locations: &[ManagedLocation]) {
    for m in locations {
        let line = LocationReport {
            prefix: m.prefix.clone(),
            state: m.state,
            projects: m.projects.clone(),
            namespaces: m.namespaces.clone(),
            plan: Default::default(),
            outcome: Default::default(),
            finished: false,
            refused: None,
            over_budget: false,
            budget_not_applied: None,
            buildkit: vec![],
            kept_per_project: None,
        };
        report.locations.insert(report.location_name(&m.prefix), line);
    }
}

/// Says, for each shared location, how its N newest were kept (`writers`).
pub fn record_writers(report: &mut PruneReport, scope: &Scope, keep: usize) {
    for m in scope.shared_locations() {
        let note = scope.writers_of(&m.prefix).map(|w| w.note(keep));
        if let Some(line) = report.location_mut(&m.prefix) {
            line.kept_per_project = note;
        }
    }
}

/// Records a location run in its report line; a limit that stopped it becomes the run's `stopped`.
pub fn record_run(report: &mut PruneReport, prefix: &str, run: &LocationRun) {
    report.plan.add(&run.summary);
    let mut stopped = None;
    if let Some(line) = report.location_mut(prefix) {
        line.plan.add(&run.summary);
        match &run.ending {
            Ending::Finished(f) => {
                line.finished = true;
                line.over_budget = f.over_budget;
                line.budget_not_applied = f.budget_not_applied.clone();
                line.buildkit = f.buildkit.clone();
            }
            Ending::Stopped { why, .. } => stopped = Some(why.clone()),
            Ending::Failed { error, .. } if Ending::transient(error) => stopped = Some(format!("error: {error}")),
            Ending::Failed { error, .. } => line.refused = Some(error.to_string()),
        }
    }
    if report.stopped.is_none() {
        report.stopped = stopped;
    }
}

/// What the deleter achieved, per location and in total.
pub fn record_deletes(report: &mut PruneReport, outcome: DeleteOutcome) {
    for (prefix, counts) in outcome.by_location {
        report.outcome.add(counts);
        if let Some(line) = report.location_mut(&prefix) {
            line.outcome.add(counts);
        }
    }
    report.errors.extend(outcome.errors);
    report.deletions = outcome.sample;
    report.deleted_one_by_one = outcome.singles;
    if outcome.single_count > 0 {
        report.notes.push(format!(
            "{} keys were deleted one by one (DeleteObjects cannot carry them, or rejected their batch as malformed)",
            outcome.single_count
        ));
    }
}

/// The total budget's outcome.
pub fn record_budget(report: &mut PruneReport, budget: BudgetOutcome) {
    report.total_bytes_after = budget.bytes_after;
    report.total_budget = budget.note;
}

/// The unmanaged objects, the largest prefixes first.
pub fn record_unmanaged(report: &mut PruneReport, unmanaged: Unmanaged, complete: bool) {
    let mut top: Vec<PrefixCount> = unmanaged
        .by_prefix
        .into_iter()
        .map(|(prefix, (objects, bytes))| PrefixCount { prefix, objects, bytes })
        .collect();
    let objects = top.iter().map(|p| p.objects).sum();
    let bytes = top.iter().map(|p| p.bytes).sum();
    let prefixes = top.len() as u64;
    top.sort_by(|a, b| b.bytes.cmp(&a.bytes).then_with(|| a.prefix.cmp(&b.prefix)));
    top.truncate(REPORTED_PREFIXES);
    report.unmanaged = Some(UnmanagedReport {
        objects,
        bytes,
        prefixes,
        top_prefixes: top,
        complete,
        undecodable: unmanaged.undecodable,
    });
}

/// A managed location left alone by this run (the bucket root in a bucket that holds more than
/// cache): its line moves to the locations left alone, with why.
pub fn leave_alone(report: &mut PruneReport, prefix: &str, reason: String) {
    let name = report.location_name(prefix);
    let projects = report.locations.remove(&name).map(|l| l.projects).unwrap_or_default();
    report.excluded.retain(|e| e.prefix != prefix);
    report.excluded.push(ExcludedLocation { prefix: prefix.to_owned(), reason, projects });
}

/// The excluded locations, as the report lists them.
pub fn record_excluded(report: &mut PruneReport, scope: &Scope) {
    report.excluded = scope.excluded().to_vec();
}
