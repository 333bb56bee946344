//! The pruner's decisions, pure: which cache objects to delete and why.
//!
//! Each managed location (see [`scope`](super::scope)) is planned on its own by a
//! [`LocationPlanner`](super::planner::LocationPlanner), fed that location's listing in S3's order:
//! * never: a key outside the location, an object younger than the minimum age, an object older
//!   than the location's first project (its `born`: the earliest `created` of every project seen
//!   using it), which cannot be its cache (a project named like an old folder: `releases`);
//! * never for a live (or missing, within its grace) location: its N newest objects (N >= 1), however
//!   old. Young objects count among the N newest, so a build that just wrote fresh cache makes an
//!   older object deletable;
//! * `max_age`: beyond the N newest, an object older than the maximum age;
//! * `orphaned`: a location missing for longer than the grace period: every object past the minimum age;
//! * `project_budget` / `total_budget`: over budget (per location / all managed locations), the oldest
//!   remaining deletable objects go first until under it. The N newest and young objects are never
//!   deleted for a budget, so a location can stay over budget; the report says so;
//! * the cap: no more than `max_deletes` deletions per run, shared by all locations.
//!
//! Memory: per location in progress, a heap of its N newest; with a budget, a compact record per
//! candidate under a run-wide byte cap ([`records`](super::records)); deletions are emitted, not kept.
//!
//! Resuming: a deletion is only emitted with N newer objects of its location as witnesses that are
//! themselves kept, so deciding on a prefix of a location's listing never deletes one of its true N
//! newest; a stopped run carries the heap to the next, which continues after the last key. Budgets
//! need a complete view: a location split across runs gets no budget deletions in that sweep.

use super::newest::Kept;
use super::planner::LocationPlanner;
use super::records::RecordAllowance;
use super::scope::{LocationState, Owner, Scope};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

/// One listed object: key, size in bytes, last-modified time in milliseconds since the epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
    pub last_modified_ms: i64,
}

impl ObjectMeta {
    pub fn new(key: impl Into<String>, size: u64, last_modified: DateTime<Utc>) -> Self {
        ObjectMeta { key: key.into(), size, last_modified_ms: last_modified.timestamp_millis() }
    }
}

impl From<ObjectMeta> for Kept {
    fn from(o: ObjectMeta) -> Self {
        Kept { key: o.key, size: o.size, last_modified_ms: o.last_modified_ms }
    }
}

/// What the planner applies (the same for every location of a run).
#[derive(Debug, Clone)]
pub struct PrunePolicy {
    pub keep_newest: usize,
    pub max_age: Duration,
    pub min_age: Duration,
    /// Per location (`PRUNE_PROJECT_BUDGET`).
    pub project_budget: Option<u64>,
    /// All managed locations together (`PRUNE_TOTAL_BUDGET`).
    pub total_budget: Option<u64>,
    pub max_deletes: usize,
}

/// Why an object is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    MaxAge,
    Orphaned,
    ProjectBudget,
    TotalBudget,
    /// A BuildKit S3 cache blob no kept manifest names (`buildkit`).
    Unreferenced,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::MaxAge => "max_age",
            Reason::Orphaned => "orphaned",
            Reason::ProjectBudget => "project_budget",
            Reason::TotalBudget => "total_budget",
            Reason::Unreferenced => "unreferenced",
        }
    }
}

/// One planned deletion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deletion {
    pub key: String,
    /// The location's prefix ("" = the bucket root).
    pub location: String,
    pub size: u64,
    pub last_modified_ms: i64,
    pub reason: Reason,
}

/// What a plan decided, per location or summed over a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PlanSummary {
    pub scanned: u64,
    pub bytes_scanned: u64,
    /// Planned deletions (in a dry run: what would be deleted).
    pub planned: u64,
    pub bytes_planned: u64,
    pub by_reason: BTreeMap<Reason, u64>,
    /// The bytes those deletions free, by reason.
    pub bytes_by_reason: BTreeMap<Reason, u64>,
    /// Objects older than the location's first project (its `born`): never its cache, never deleted.
    #[serde(skip_serializing_if = "is_zero")]
    pub predating: u64,
    #[serde(skip_serializing_if = "is_zero")]
    pub bytes_predating: u64,
    /// The cap on deletions per run was reached: planning stopped.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub capped: bool,
}

impl PlanSummary {
    pub fn count(&mut self, size: u64, reason: Reason) {
        self.planned += 1;
        self.bytes_planned += size;
        *self.by_reason.entry(reason).or_default() += 1;
        *self.bytes_by_reason.entry(reason).or_default() += size;
    }

    /// Adds another summary (a run's total over its locations).
    pub fn add(&mut self, other: &PlanSummary) {
        self.scanned += other.scanned;
        self.bytes_scanned += other.bytes_scanned;
        self.planned += other.planned;
        self.bytes_planned += other.bytes_planned;
        for (reason, n) in &other.by_reason {
            *self.by_reason.entry(*reason).or_default() += n;
        }
        for (reason, n) in &other.bytes_by_reason {
            *self.bytes_by_reason.entry(*reason).or_default() += n;
        }
        self.predating += other.predating;
        self.bytes_predating += other.bytes_predating;
        self.capped |= other.capped;
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The run-wide limits every location's planner draws from: deletions left under the cap, and the
/// byte allowance of budget records.
#[derive(Debug)]
pub struct RunQuota {
    deletes_left: AtomicUsize,
    pub records: RecordAllowance,
}

impl RunQuota {
    pub fn new(max_deletes: usize) -> Self {
        RunQuota { deletes_left: AtomicUsize::new(max_deletes), records: RecordAllowance::default() }
    }

    /// Takes one deletion from the cap; false once the cap is reached.
    pub fn take_delete(&self) -> bool {
        self.deletes_left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok()
    }

    pub fn exhausted(&self) -> bool {
        self.deletes_left.load(Ordering::Relaxed) == 0
    }
}

/// A whole bucket planned at once (tests, benchmarks): each key goes to its owner, each managed
/// location is planned from a complete listing, then the total budget.
#[derive(Debug, Clone, Default)]
pub struct BucketPlan {
    pub deletions: Vec<Deletion>,
    pub locations: Vec<PlanSummary>,
    /// Keys no location owns: never planned.
    pub unmanaged: u64,
    pub total: super::budget::BudgetOutcome,
    /// The cap on deletions was met.
    pub capped: bool,
}

/// Plans a complete, sorted listing of the bucket: the pure function the sweep streams.
pub fn plan_bucket(listing: &[ObjectMeta], scope: &Scope, policy: &PrunePolicy, now: DateTime<Utc>) -> BucketPlan {
    let quota = RunQuota::new(policy.max_deletes);
    let mut plan = BucketPlan::default();
    let mut per_location: Vec<Vec<&ObjectMeta>> = vec![Vec::new(); scope.managed().len()];
    for object in listing {
        match scope.owner_of(&object.key) {
            Owner::Managed(i) => per_location[i].push(object),
            Owner::Unmanaged => plan.unmanaged += 1,
            Owner::Excluded(_) | Owner::Reserved => {}
        }
    }
    let mut total = super::budget::TotalBudget::new(policy.total_budget, scope.managed().len());
    // The bucket root is pruned only in a bucket that holds nothing but cache (`root`).
    let root_left_alone = scope.root_location().filter(|_| plan.unmanaged > 0);
    if root_left_alone.is_some() {
        total.incomplete("the bucket root was left alone".into(), &quota);
    }
    for (i, (location, objects)) in scope.managed().iter().zip(per_location).enumerate() {
        if root_left_alone == Some(i) {
            plan.locations.push(PlanSummary::default());
            continue;
        }
        let orphaned = matches!(location.state, LocationState::Orphaned { .. });
        let mut planner = LocationPlanner::new(policy, &quota, &location.prefix, orphaned, now, vec![])
            .born(location.born)
            .writers(scope.writers_of(&location.prefix));
        for object in objects {
            if !planner.push(object.clone(), &mut plan.deletions) {
                break;
            }
        }
        let finished = planner.finish(&mut plan.deletions);
        plan.locations.push(finished.summary.clone());
        total.absorb(i as u32, finished, &quota);
    }
    let prefixes: Vec<&str> = scope.managed().iter().map(|m| m.prefix.as_str()).collect();
    let mut drain = total.into_drain(&quota);
    let mut budget = Vec::new();
    while drain.next_batch(&prefixes, &quota, usize::MAX, &mut budget) {}
    for d in &budget {
        if let Some(i) = prefixes.iter().position(|p| *p == d.location) {
            plan.locations[i].count(d.size, Reason::TotalBudget);
        }
    }
    plan.deletions.extend(budget);
    plan.total = drain.finish(&quota);
    if quota.exhausted() {
        plan.capped = true;
    }
    plan
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
