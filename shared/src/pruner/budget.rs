//! The total budget (`PRUNE_TOTAL_BUDGET`) over all managed locations: it needs every location's
//! complete listing in one run, collects what only a budget may delete, and deletes oldest first
//! until the managed bytes are under it, in bounded batches so planned deletions are never buffered.

use super::plan::{Deletion, Reason, RunQuota};
use super::planner::Finished;
use super::records::Records;

/// The total budget while locations finish.
#[derive(Debug)]
pub struct TotalBudget {
    budget: Option<u64>,
    records: Records,
    remaining_bytes: u64,
    not_applied: Option<String>,
    waiting: usize,
}

impl TotalBudget {
    /// A total budget waiting for `locations` complete listings.
    pub fn new(budget: Option<u64>, locations: usize) -> Self {
        TotalBudget { budget, records: Records::default(), remaining_bytes: 0, not_applied: None, waiting: locations }
    }

    /// A location's listing completed in this run: its bytes and its candidates count.
    pub fn absorb(&mut self, location: u32, mut finished: Finished, quota: &RunQuota) {
        self.waiting = self.waiting.saturating_sub(1);
        self.remaining_bytes += finished.remaining_bytes;
        if self.budget.is_none() || self.not_applied.is_some() {
            finished.candidates.clear(&quota.records);
            return;
        }
        if let Some(why) = &finished.budget_not_applied {
            self.incomplete(why.clone(), quota);
            finished.candidates.clear(&quota.records);
        } else {
            // Moved, not copied: the candidates already count against the run's allowance.
            self.records.append(std::mem::take(&mut finished.candidates), location);
        }
    }

    /// A location was not listed whole in this run: the total cannot be known.
    pub fn incomplete(&mut self, why: String, quota: &RunQuota) {
        if self.budget.is_some() && self.not_applied.is_none() {
            self.not_applied = Some(format!("not applied: {why}"));
            self.records.clear(&quota.records);
        }
    }

    /// Ready to delete: oldest first, if the budget applies and is exceeded.
    pub fn into_drain(mut self, quota: &RunQuota) -> BudgetDrain {
        if self.budget.is_some() && self.not_applied.is_none() && self.waiting > 0 {
            self.incomplete("not every managed location was listed in this run".into(), quota);
        }
        let active = matches!(self.budget, Some(b) if self.not_applied.is_none() && self.remaining_bytes > b);
        if active {
            self.records.sort_oldest_first();
        } else {
            self.records.clear(&quota.records);
        }
        BudgetDrain { total: self, cursor: 0, active }
    }
}

/// Total-budget deletions, handed out in batches.
#[derive(Debug)]
pub struct BudgetDrain {
    total: TotalBudget,
    cursor: usize,
    active: bool,
}

/// What the total budget did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BudgetOutcome {
    /// Bytes left in the managed locations after the plan (when every location was listed whole).
    pub bytes_after: Option<u64>,
    /// Not applied, or still exceeded, and why.
    pub note: Option<String>,
}

impl BudgetDrain {
    /// Emits up to `max` deletions, oldest first; true while more may follow. `prefixes[i]` is the
    /// prefix of the location with index i.
    pub fn next_batch(&mut self, prefixes: &[&str], quota: &RunQuota, max: usize, out: &mut Vec<Deletion>) -> bool {
        let Some(budget) = self.total.budget.filter(|_| self.active) else { return false };
        let mut emitted = 0;
        while emitted < max {
            let Some(rec) = self.total.records.get(self.cursor) else { return self.done() };
            if self.total.remaining_bytes <= budget || !quota.take_delete() {
                return self.done();
            }
            self.cursor += 1;
            let prefix = prefixes.get(rec.location as usize).copied().unwrap_or_default();
            let tail = self.total.records.tail(&rec);
            let key = if prefix.is_empty() { tail.to_owned() } else { format!("{prefix}/{tail}") };
            self.total.remaining_bytes = self.total.remaining_bytes.saturating_sub(rec.size);
            out.push(Deletion {
                key,
                location: prefix.to_owned(),
                size: rec.size,
                last_modified_ms: rec.mtime,
                reason: Reason::TotalBudget,
            });
            emitted += 1;
        }
        true
    }

    /// Stops draining (the deadline, a caller's stop): the rest is left to the next sweep, which
    /// applies the budget again from its own listing.
    pub fn stop(&mut self, why: &str) {
        self.active = false;
        if self.total.budget.is_some() && self.total.not_applied.is_none() {
            self.total.not_applied =
                Some(format!("applied only in part: stopped ({why}); the next sweep applies it again"));
        }
    }

    fn done(&mut self) -> bool {
        self.active = false;
        false
    }

    /// The budget's outcome once drained; gives the records' bytes back.
    pub fn finish(mut self, quota: &RunQuota) -> BudgetOutcome {
        self.total.records.clear(&quota.records);
        let Some(budget) = self.total.budget else { return BudgetOutcome::default() };
        if let Some(why) = self.total.not_applied {
            return BudgetOutcome { bytes_after: None, note: Some(why) };
        }
        let left = self.total.remaining_bytes;
        let note = (left > budget).then(|| format!("still over budget: {left} bytes left, budget {budget}"));
        BudgetOutcome { bytes_after: Some(left), note }
    }
}
