//! The scheduled sweep: every managed cache location of the bucket, each an independent run listed
//! concurrently, plus the rest of the bucket (root keys, unmanaged folders), under one lease; a sweep
//! too large for one invocation resumes where each location stopped.

use super::budget::TotalBudget;
use super::calls::ApiCalls;
use super::delete::DELETE_BATCH;
use super::deployment::Deployment;
use super::keeper::LEASE_LOST;
use super::lease::RunKind;
use super::locations::{Discovered, ScopeInputs, discover};
use super::outcome;
use super::plan::RunQuota;
use super::report::{PruneReport, Resumed};
use super::rest::{RestRun, RestTask};
use super::scope::{LocationState, Scope};
use super::service::{CachePruner, PruneError, Turn};
use super::state::{Loaded, PrunerState, StateStore, SweepProgress, state_of};
use super::task::{Ending, LocationRun, LocationTask, Progress, Shared, send};
use crate::error::AwsError;
use futures::StreamExt;
use std::sync::Arc;
use tracing::{error, info, warn};

/// What one sweep run needs.
pub struct SweepRun<'a> {
    pub pruner: &'a CachePruner,
    pub deployment: &'a Deployment,
    pub limits: super::RunLimits,
    pub calls: Arc<ApiCalls>,
}

/// The work left in a sweep, and what the run learned.
struct Work {
    progress: SweepProgress,
    resumed: bool,
}

impl SweepRun<'_> {
    /// Takes the lease (or reports that another run has it), sweeps, gives the lease back.
    pub async fn run(self, report: &mut PruneReport) -> Result<(), PruneError> {
        let Turn::Ours(lease) =
            Box::pin(self.pruner.take_lease(self.deployment, RunKind::Sweep, &self.limits, &self.calls, report))
                .await?
        else {
            return Ok(());
        };
        let (result, lease) =
            self.pruner.kept(self.deployment, lease, &self.limits, &self.calls, Box::pin(self.leased(report))).await;
        self.pruner.give_back(self.deployment, lease, &self.calls).await;
        result
    }

    async fn leased(&self, report: &mut PruneReport) -> Result<(), PruneError> {
        let bucket = self.deployment.bucket.as_str();
        let store = StateStore::new(self.pruner.s3.clone(), self.deployment);
        self.calls.add("s3:GetObject", 1);
        let loaded = store.load().await.map_err(PruneError::State)?;
        if let Loaded::Unreadable(why) = &loaded {
            warn!(action = "state", reason = %why, "pruner state unusable: the sweep starts over");
            report.notes.push(format!("state {} unusable ({why}): the sweep started over", store.key()));
        }
        let projects = self.pruner.all_projects(&self.calls).await.map_err(PruneError::Discovery)?;
        let state = state_of(&loaded, &projects, self.deployment, self.pruner.clock.now(), report);
        let now = self.pruner.clock.now();
        let config = &self.pruner.config;
        let sharing = self.pruner.sharing(self.deployment, &self.calls).await;
        let opted_in = config.delete_orphans_in_shared_bucket;
        report.notes.extend(sharing.note(&self.deployment.name(), config.delete_orphans, opted_in));
        let discovered = discover(&ScopeInputs {
            bucket,
            key_prefix: &config.common.layout.key_prefix,
            filter: &config.common.projects,
            projects: &projects,
            known: &state.locations,
            now,
            grace: config.orphan_grace,
            delete_orphans: config.delete_orphans && sharing.allows_orphan_deletion(opted_in),
        });
        let versioning = self.pruner.versioning(bucket, &self.calls).await;
        if versioning == "Enabled" || versioning == "Suspended" {
            report.notes.push(format!(
                "bucket versioning is {versioning}: deleting adds delete markers and the old versions keep their storage until a lifecycle rule with NoncurrentVersionExpiration (and ExpiredObjectDeleteMarker) removes them"
            ));
        }
        report.versioning = Some(versioning);
        let work = self.work(&state, &discovered.scope, report);
        let Discovered { mut scope, known } = discovered;
        // Only for the locations this run still lists (a resumed sweep has finished some).
        let progress = &work.progress;
        let listed =
            |prefix: &str| if prefix.is_empty() { !progress.rest_done } else { !progress.done.contains(prefix) };
        Box::pin(self.pruner.read_writers(&mut scope, bucket, &self.calls, listed)).await;
        let scope = Arc::new(scope);
        outcome::add_locations(report, scope.managed());
        outcome::record_writers(report, &scope, config.keep_newest);
        outcome::record_excluded(report, &scope);
        let (progress, transient, emptied) = self.execute(&scope, work, report).await;
        let mut next = PrunerState {
            locations: known,
            deployment: state.deployment.clone(),
            since: state.since,
            ..PrunerState::new()
        };
        for prefix in emptied {
            // A location no project uses and nothing is left in: forgotten.
            next.locations.remove(&prefix);
        }
        let complete = progress.partial.is_empty()
            && progress.rest_done
            && scope.managed().iter().filter(|m| !m.prefix.is_empty()).all(|m| progress.done.contains(&m.prefix));
        report.finished = complete && transient.is_none();
        next.sweep = (!report.finished).then_some(progress);
        // A dry run's sweep deletes nothing: the last full sweep stays the one that did.
        let full = report.finished && !config.common.dry_run;
        next.last_full_sweep = if full { Some(self.pruner.clock.now()) } else { state.last_full_sweep };
        if let Some(why) = self.limits.lease_loss.why() {
            // The lease is another run's now: so is the state.
            report.finished = false;
            report.stopped.get_or_insert_with(|| LEASE_LOST.to_owned());
            report.notes.push(format!(
                "the run lost its lease ({why}): what it deleted stands, the state is not saved, and the run holding the lease carries on"
            ));
        } else if config.common.dry_run {
            if !report.finished {
                report.notes.push("dry run: the state is not saved, so the next dry run starts over".into());
            }
        } else {
            self.calls.add("s3:PutObject", 1);
            if let Err(error) = store.save(&next).await {
                error!(action = "state", error = %error, "could not save the pruner state");
                return Err(PruneError::StateNotSaved { error, finished: report.finished });
            }
            info!(action = "state", finished = report.finished, "pruner state saved");
        }
        // Saved, or (a lost lease, a dry run) the one remembered.
        report.last_full_sweep = if report.finished && full { next.last_full_sweep } else { state.last_full_sweep };
        match transient {
            Some((failed, first)) => Err(PruneError::Transient { failed, first }),
            None => Ok(()),
        }
    }

    /// The sweep to continue (or a new one), without what no longer exists.
    fn work(&self, state: &PrunerState, scope: &Scope, report: &mut PruneReport) -> Work {
        let now = self.pruner.clock.now();
        match &state.sweep {
            Some(previous) => {
                report.resumed = Some(Resumed { started: previous.started, runs: previous.runs });
                let mut progress = previous.clone();
                progress.runs += 1;
                let managed = |p: &String| scope.managed().iter().any(|m| &m.prefix == p);
                progress.done.retain(managed);
                progress.partial.retain(|p, _| managed(p));
                Work { progress, resumed: true }
            }
            None => Work {
                progress: SweepProgress {
                    started: now,
                    runs: 1,
                    done: Default::default(),
                    partial: Default::default(),
                    rest_done: false,
                    rest: None,
                },
                resumed: false,
            },
        }
    }

    /// Runs every location left (PRUNE_LIST_CONCURRENCY at once) and the rest of the bucket, then the
    /// total budget. Returns the progress to save, the transient failures, and the missing locations
    /// found empty.
    async fn execute(
        &self,
        scope: &Arc<Scope>,
        work: Work,
        report: &mut PruneReport,
    ) -> (SweepProgress, Option<(usize, AwsError)>, Vec<String>) {
        let kit = self.pruner.kit(&self.deployment.bucket, scope, &self.calls, &self.limits, self.pruner.policy());
        let (policy, quota) = (&kit.policy, &kit.quota);
        let shared = kit.shared();
        let (runs, rest) = run_all(scope, &work.progress, &shared, self.pruner.config.list_concurrency).await;
        let mut ledger = Ledger {
            total: TotalBudget::new(policy.total_budget, scope.managed().len()),
            progress: work.progress,
            transient: None,
            emptied: Vec::new(),
            quota,
        };
        if work.resumed {
            ledger.total.incomplete("the sweep continued from an earlier run".into(), quota);
        }
        for (i, run) in runs {
            ledger.settle(scope, i, run, report);
        }
        ledger.settle_rest(scope, rest, report);
        let total = std::mem::replace(&mut ledger.total, TotalBudget::new(None, 0));
        let drain = apply_total_budget(scope, total, quota, &shared, report).await;
        outcome::record_budget(report, drain.finish(quota));
        if quota.exhausted() {
            report.plan.capped = true;
        }
        drop(shared);
        let deleted = kit.queue.finish().await;
        if let Some(e) = &deleted.transient {
            ledger.transient(e.clone());
        }
        outcome::record_deletes(report, deleted);
        (ledger.progress, ledger.transient, ledger.emptied)
    }
}

/// Where each location ended, gathered into the sweep's progress, the total budget and the failures.
struct Ledger<'q> {
    progress: SweepProgress,
    total: TotalBudget,
    /// Transient failures: how many, and the first.
    transient: Option<(usize, AwsError)>,
    /// Missing locations found empty.
    emptied: Vec<String>,
    quota: &'q RunQuota,
}

impl Ledger<'_> {
    fn transient(&mut self, error: AwsError) {
        let count = self.transient.as_ref().map_or(0, |t| t.0) + 1;
        let first = self.transient.take().map_or(error, |t| t.1);
        self.transient = Some((count, first));
    }

    /// Records where a location ended.
    fn settle(&mut self, scope: &Scope, i: usize, run: LocationRun, report: &mut PruneReport) {
        let m = &scope.managed()[i];
        let prefix = m.prefix.as_str();
        outcome::record_run(report, prefix, &run);
        if m.state != LocationState::Live && run.summary.scanned == 0 && matches!(run.ending, Ending::Finished(_)) {
            self.emptied.push(prefix.to_owned());
        }
        self.progress.partial.remove(prefix);
        match run.ending {
            Ending::Finished(finished) => {
                self.progress.done.insert(prefix.to_owned());
                self.total.absorb(i as u32, *finished, self.quota);
            }
            Ending::Stopped { progress: at, .. } => {
                if at != Progress::default() {
                    self.progress.partial.insert(prefix.to_owned(), at);
                }
                self.total.incomplete("not every managed location was listed in this run".into(), self.quota);
            }
            Ending::Failed { error, progress: at } if Ending::transient(&error) => {
                if at != Progress::default() {
                    self.progress.partial.insert(prefix.to_owned(), at);
                }
                self.total.incomplete(format!("listing {prefix:?} failed"), self.quota);
                self.transient(error);
            }
            Ending::Failed { .. } => {
                // Refused for this sweep; the next sweep tries again.
                self.progress.done.insert(prefix.to_owned());
                self.total.incomplete(format!("location {prefix:?} was refused"), self.quota);
            }
        }
    }

    /// Records where the rest of the bucket (and a root location) ended.
    fn settle_rest(&mut self, scope: &Scope, rest: Option<RestRun>, report: &mut PruneReport) {
        let Some(rest) = rest else {
            self.total.incomplete("the rest of the bucket was listed by an earlier run".into(), self.quota);
            return;
        };
        let complete = rest.stopped.is_none();
        outcome::record_unmanaged(report, rest.unmanaged, complete && self.progress.rest.is_none());
        if let Some(why) = rest.root_left_alone {
            outcome::leave_alone(report, "", why);
            self.total.incomplete("the bucket root was left alone".into(), self.quota);
        }
        if let (Some(i), Some(run)) = (scope.root_location(), rest.root) {
            outcome::record_run(report, "", &run);
            if scope.managed()[i].state != LocationState::Live && run.summary.scanned == 0 && complete {
                self.emptied.push(String::new());
            }
            if let Ending::Finished(finished) = run.ending {
                self.total.absorb(i as u32, *finished, self.quota);
            }
        }
        let Some((why, at, error)) = rest.stopped else {
            self.progress.rest_done = true;
            self.progress.rest = None;
            return;
        };
        self.progress.rest = Some(at);
        self.total.incomplete("the rest of the bucket was not listed whole".into(), self.quota);
        if report.stopped.is_none() {
            report.stopped = Some(why);
        }
        match error {
            Some(e) if Ending::transient(&e) => self.transient(e),
            Some(e) => {
                // Permanent: the rest is refused for this sweep.
                self.progress.rest_done = true;
                self.progress.rest = None;
                report.notes.push(format!("the rest of the bucket could not be listed: {e}"));
            }
            None => {}
        }
    }
}

/// Runs the locations left (`concurrency` at once) and the rest of the bucket, together.
async fn run_all<L: super::lister::Lister>(
    scope: &Scope,
    progress: &SweepProgress,
    shared: &Shared<'_, L>,
    concurrency: usize,
) -> (Vec<(usize, LocationRun)>, Option<RestRun>) {
    let items: Vec<(usize, Progress)> = scope
        .managed()
        .iter()
        .enumerate()
        .filter(|(_, m)| !m.prefix.is_empty() && !progress.done.contains(&m.prefix))
        .map(|(i, m)| (i, progress.partial.get(&m.prefix).cloned().unwrap_or_default()))
        .collect();
    let locations = futures::stream::iter(items)
        .map(|(i, resume)| {
            let m = &scope.managed()[i];
            let task = LocationTask {
                prefix: &m.prefix,
                orphaned: matches!(m.state, LocationState::Orphaned { .. }),
                born: m.born,
                skip: scope.claimed_inside(&m.prefix),
                writers: scope.writers_of(&m.prefix),
                resume,
            };
            async move { (i, task.run(shared).await) }
        })
        .buffer_unordered(concurrency)
        .collect::<Vec<(usize, LocationRun)>>();
    let rest = async {
        if progress.rest_done {
            return None;
        }
        let resume = progress.rest.clone().unwrap_or_default();
        Some(RestTask { scope, resume, folders: true }.run(shared).await)
    };
    futures::future::join(locations, rest).await
}

/// The total budget's deletions, oldest first, handed to the deleter in 1,000-key batches.
async fn apply_total_budget<L: super::lister::Lister>(
    scope: &Scope,
    total: TotalBudget,
    quota: &RunQuota,
    shared: &Shared<'_, L>,
    report: &mut PruneReport,
) -> super::budget::BudgetDrain {
    let prefixes: Vec<&str> = scope.managed().iter().map(|m| m.prefix.as_str()).collect();
    let mut drain = total.into_drain(quota);
    let mut out = Vec::new();
    loop {
        // The budget's deletions end with the run, like every listing: at the deadline or a stop.
        let halt =
            shared.stop_reason().or_else(|| shared.limits.past_deadline().then(|| "deadline reached".to_owned()));
        if let Some(why) = halt {
            drain.stop(&why);
            if report.stopped.is_none() {
                report.stopped = Some(why);
            }
            return drain;
        }
        let more = drain.next_batch(&prefixes, quota, DELETE_BATCH, &mut out);
        count_budget(report, &out);
        send(&shared.deletions, &mut out).await;
        if !more {
            return drain;
        }
    }
}

/// Total-budget deletions counted in their locations' lines.
fn count_budget(report: &mut PruneReport, out: &[super::plan::Deletion]) {
    for d in out {
        report.plan.count(d.size, d.reason);
        if let Some(line) = report.location_mut(&d.location) {
            line.plan.count(d.size, d.reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pruner::RunLimits;
    use crate::pruner::lister::MemoryLister;
    use crate::pruner::pager::{PageLimits, STOP_REQUESTED};
    use crate::pruner::plan::{ObjectMeta, PrunePolicy};
    use crate::pruner::planner::LocationPlanner;
    use crate::pruner::scope::ManagedLocation;
    use chrono::{DateTime, Duration, TimeZone, Utc};
    use std::sync::atomic::AtomicBool;
    use tokio::sync::mpsc;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 3, 0, 0).unwrap()
    }

    /// `tts` holds three 10-byte objects of 3, 4 and 5 days (none old enough for age rules) and the
    /// total budget is 15 bytes: the two oldest are the budget's to delete.
    async fn total_budget_with(limits: &RunLimits) -> (Vec<String>, PruneReport, Option<String>) {
        let policy = PrunePolicy {
            keep_newest: 1,
            max_age: Duration::days(30),
            min_age: Duration::hours(24),
            project_budget: None,
            total_budget: Some(15),
            max_deletes: 1000,
        };
        let quota = RunQuota::new(policy.max_deletes);
        let mut total = TotalBudget::new(policy.total_budget, 1);
        let mut planner = LocationPlanner::new(&policy, &quota, "tts", false, now(), vec![]);
        let mut out = Vec::new();
        for (key, days) in [("tts/a", 5), ("tts/b", 4), ("tts/c", 3)] {
            planner.push(ObjectMeta::new(key, 10, now() - Duration::days(days)), &mut out);
        }
        assert!(out.is_empty(), "nothing for the age rules");
        total.absorb(0, planner.finish(&mut out), &quota);
        let scope = Scope::new(vec![ManagedLocation::live("tts")], vec![]);
        let pages = PageLimits::of_run(limits);
        let (tx, mut rx) = mpsc::channel(16);
        let lister = MemoryLister::new(vec![]);
        let shared = Shared {
            lister: &lister,
            policy: &policy,
            quota: &quota,
            limits: &pages,
            now: now(),
            deletions: tx,
            halt: Default::default(),
        };
        let mut report = PruneReport::new("sweep", None, false, "bucket".into());
        let drain = apply_total_budget(&scope, total, &quota, &shared, &mut report).await;
        drop(shared);
        let mut sent = Vec::new();
        while let Some(d) = rx.recv().await {
            sent.push(d.key);
        }
        (sent, report, drain.finish(&quota).note)
    }

    #[tokio::test]
    async fn the_total_budget_deletes_oldest_first_until_under_it() {
        let (sent, report, note) = total_budget_with(&RunLimits::default()).await;
        assert_eq!(sent, ["tts/a", "tts/b"]);
        assert_eq!((report.stopped, note), (None, None));
    }

    #[tokio::test]
    async fn a_stopped_run_sends_none_of_the_total_budgets_deletions() {
        let stop = Arc::new(AtomicBool::new(true));
        let (sent, report, note) = total_budget_with(&RunLimits::default().with_stop(stop)).await;
        assert!(sent.is_empty(), "{sent:?}");
        assert_eq!(report.stopped.as_deref(), Some(STOP_REQUESTED));
        assert!(note.is_some_and(|n| n.contains("applied only in part: stopped (stop requested)")));
    }

    #[tokio::test]
    async fn a_run_past_its_deadline_or_without_its_lease_sends_none_of_them() {
        let late = RunLimits { deadline: Some(std::time::Instant::now()), ..RunLimits::default() };
        let (sent, report, _) = total_budget_with(&late).await;
        assert!(sent.is_empty(), "{sent:?}");
        assert_eq!(report.stopped.as_deref(), Some("deadline reached"));

        let lost = RunLimits::default();
        lost.lease_loss.set("another run took the lease over".into());
        assert!(lost.lease_loss.is_lost());
        let (sent, report, _) = total_budget_with(&lost).await;
        assert!(sent.is_empty(), "{sent:?}");
        assert_eq!(report.stopped.as_deref(), Some(LEASE_LOST));
    }
}
