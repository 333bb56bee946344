//! The streaming planner of one location: fed its listing object by object in S3's order, it emits
//! deletions as soon as they are certain (the decisions are documented in [`plan`](super::plan)).

use super::buildkit::{BuildkitCaches, Held};
use super::newest::{Keepers, Kept};
use super::plan::{Deletion, ObjectMeta, PlanSummary, PrunePolicy, Reason, RunQuota};
use super::records::Records;
use super::writers::Writers;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// What a location's planner leaves when its listing is complete.
#[derive(Debug, Default)]
pub struct Finished {
    pub summary: PlanSummary,
    /// Bytes of the location not planned for deletion (this run's view).
    pub remaining_bytes: u64,
    /// Candidates only the total budget may still delete (oldest first not yet sorted).
    pub candidates: Records,
    /// Still over the location budget with nothing left that may be deleted for it.
    pub over_budget: bool,
    /// Why the location budget (and so the total budget) could not be applied, if it could not.
    pub budget_not_applied: Option<String>,
    /// What was decided of each BuildKit S3 cache in the location (`buildkit`).
    pub buildkit: Vec<String>,
}

/// One location's planner.
pub struct LocationPlanner<'a> {
    policy: &'a PrunePolicy,
    quota: &'a RunQuota,
    now_ms: i64,
    prefix: &'a str,
    /// `prefix/` (or "" at the bucket root): what budget records leave out of each key.
    tail_from: usize,
    orphaned: bool,
    newest: Keepers<'a>,
    candidates: Records,
    remaining_bytes: u64,
    budget_not_applied: Option<String>,
    summary: PlanSummary,
    last_key: Option<String>,
    /// Objects last modified before this (epoch ms) predate the location: never deleted.
    born_ms: Option<i64>,
    /// BuildKit S3 caches in the location, held for `finish` (never decided mid-listing).
    buildkit: BuildkitCaches,
    /// What the BuildKit decision said, per BuildKit cache.
    buildkit_notes: Vec<String>,
}

impl<'a> LocationPlanner<'a> {
    /// A planner at the start of the location's listing, or continuing a stopped one with the heap
    /// it carried (`carried` non-empty: the budget cannot be applied in this sweep).
    pub fn new(
        policy: &'a PrunePolicy,
        quota: &'a RunQuota,
        prefix: &'a str,
        orphaned: bool,
        now: DateTime<Utc>,
        carried: Vec<Kept>,
    ) -> Self {
        // A resumed listing cannot apply a budget; said only when there is a budget to apply.
        let budgets = policy.project_budget.is_some() || policy.total_budget.is_some();
        let partial = !carried.is_empty() && budgets;
        LocationPlanner {
            policy,
            quota,
            now_ms: now.timestamp_millis(),
            prefix,
            tail_from: if prefix.is_empty() { 0 } else { prefix.len() + 1 },
            orphaned,
            newest: Keepers::new(policy.keep_newest, None, carried),
            candidates: Records::default(),
            remaining_bytes: 0,
            budget_not_applied: partial.then(|| "the location's listing was split across runs".to_owned()),
            summary: PlanSummary::default(),
            last_key: None,
            born_ms: None,
            buildkit: BuildkitCaches::default(),
            buildkit_notes: Vec::new(),
        }
    }

    /// When the location's first project was created: older objects are not its cache.
    pub fn born(mut self, born: Option<DateTime<Utc>>) -> Self {
        self.born_ms = born.map(|b| b.timestamp_millis());
        self
    }

    /// A shared location's writers: the N newest are kept per live project (`writers`).
    pub fn writers(mut self, writers: Option<&'a Writers>) -> Self {
        if writers.is_some() {
            let carried = std::mem::replace(&mut self.newest, Keepers::new(0, None, vec![])).into_sorted();
            self.newest = Keepers::new(self.policy.keep_newest, writers, carried);
        }
        self
    }

    /// The last key fed.
    pub fn last_key(&self) -> Option<&str> {
        self.last_key.as_deref()
    }

    pub fn capped(&self) -> bool {
        self.summary.capped
    }

    fn budgets(&self) -> bool {
        self.policy.project_budget.is_some() || self.policy.total_budget.is_some()
    }

    fn age_ms(&self, mtime: i64) -> i64 {
        self.now_ms.saturating_sub(mtime)
    }

    fn young(&self, mtime: i64) -> bool {
        self.age_ms(mtime) < self.policy.min_age.num_milliseconds()
    }

    /// Feeds the next object of the location (in listing order); deletions certain by now go to
    /// `out`. False once the run's cap is reached: feed no more (this object was not decided).
    pub fn push(&mut self, object: ObjectMeta, out: &mut Vec<Deletion>) -> bool {
        if self.summary.capped {
            return false;
        }
        self.summary.scanned += 1;
        self.summary.bytes_scanned += object.size;
        self.last_key = Some(object.key.clone());
        // Older than every project that used the location: someone else's data, left out of the N
        // newest, the budgets and every deletion.
        if self.born_ms.is_some_and(|born| object.last_modified_ms < born) {
            self.summary.predating += 1;
            self.summary.bytes_predating += object.size;
            return true;
        }
        self.remaining_bytes += object.size;
        // A BuildKit cache's blobs and manifests wait for the manifests to be read (`finish`).
        let tail = object.key.get(self.tail_from..).unwrap_or(&object.key);
        if !self.orphaned {
            let held = Held { key: object.key.clone(), size: object.size, last_modified_ms: object.last_modified_ms };
            if self.buildkit.hold(tail, held) {
                return true;
            }
        }
        if self.orphaned {
            if !self.young(object.last_modified_ms) {
                self.emit(object.into(), Reason::Orphaned, out);
            }
        } else if let Some(evicted) = self.newest.push(object.into()) {
            self.decide_evicted(evicted, out);
        }
        // Once the cap is met, the object that met it is decided by the next sweep.
        !self.summary.capped
    }

    /// An object with N newer ones of the location: deleted for age, or kept as a budget candidate.
    fn decide_evicted(&mut self, object: Kept, out: &mut Vec<Deletion>) {
        if self.young(object.last_modified_ms) {
            return;
        }
        if self.age_ms(object.last_modified_ms) > self.policy.max_age.num_milliseconds() {
            self.emit(object, Reason::MaxAge, out);
        } else if self.budgets() && self.budget_not_applied.is_none() {
            let tail = object.key.get(self.tail_from..).unwrap_or(&object.key);
            if !self.candidates.push(&self.quota.records, tail, object.size, object.last_modified_ms, 0) {
                self.candidates.clear(&self.quota.records);
                self.budget_not_applied = Some(format!(
                    "more budget candidates than {} MiB of records hold",
                    super::records::RECORD_BYTES_CAP >> 20
                ));
            }
        }
    }

    fn emit(&mut self, object: Kept, reason: Reason, out: &mut Vec<Deletion>) {
        if !self.quota.take_delete() {
            self.summary.capped = true;
            return;
        }
        self.remaining_bytes = self.remaining_bytes.saturating_sub(object.size);
        self.summary.count(object.size, reason);
        out.push(Deletion {
            key: object.key,
            location: self.prefix.to_owned(),
            size: object.size,
            last_modified_ms: object.last_modified_ms,
            reason,
        });
    }

    /// Stops mid-listing: nothing more is emitted; returns the summary so far and the heap to carry.
    pub fn suspend(mut self) -> (PlanSummary, Vec<Kept>) {
        self.candidates.clear(&self.quota.records);
        (self.summary, self.newest.into_sorted())
    }

    /// The BuildKit manifests to read before `finish` (none when the location holds no BuildKit cache).
    pub fn buildkit_manifests(&self) -> Vec<String> {
        self.buildkit.to_read(self.policy, self.now_ms)
    }

    /// Decides the BuildKit caches with their manifests read (key -> body, or why not).
    pub fn decide_buildkit(&mut self, read: &BTreeMap<String, Result<Vec<u8>, String>>, out: &mut Vec<Deletion>) {
        let caches = std::mem::take(&mut self.buildkit);
        if caches.is_empty() {
            return;
        }
        let (deletions, notes) = caches.decide(read, self.policy, self.now_ms, self.prefix);
        self.buildkit_notes = notes;
        for d in deletions {
            let reason = d.reason;
            self.emit(Kept { key: d.key, size: d.size, last_modified_ms: d.last_modified_ms }, reason, out);
        }
    }

    /// The listing is complete: applies the location budget (oldest first) and returns what is left
    /// for the total budget.
    pub fn finish(mut self, out: &mut Vec<Deletion>) -> Finished {
        let mut over_budget = false;
        if let (Some(budget), None) = (self.policy.project_budget, &self.budget_not_applied)
            && self.remaining_bytes > budget
        {
            self.candidates.sort_oldest_first();
            let mut taken = 0;
            while self.remaining_bytes > budget && !self.summary.capped {
                let Some(rec) = self.candidates.get(taken) else { break };
                let key = format!("{}{}", self.prefix_with_slash(), self.candidates.tail(&rec));
                self.emit(Kept { key, size: rec.size, last_modified_ms: rec.mtime }, Reason::ProjectBudget, out);
                taken += 1;
            }
            // What is left goes on to the total budget.
            self.candidates.drop_first(taken);
            over_budget = self.remaining_bytes > budget;
        }
        if self.policy.total_budget.is_none() {
            self.candidates.clear(&self.quota.records);
        }
        Finished {
            summary: self.summary,
            remaining_bytes: self.remaining_bytes,
            candidates: self.candidates,
            over_budget,
            budget_not_applied: self.budget_not_applied,
            buildkit: self.buildkit_notes,
        }
    }

    fn prefix_with_slash(&self) -> String {
        if self.prefix.is_empty() { String::new() } else { format!("{}/", self.prefix) }
    }
}
