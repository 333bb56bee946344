//! The streaming planner: fed the listing object by object in S3's order, it emits deletions as
//! soon as they are certain (see [`plan`](super::plan) for the decisions, the memory bound and why
//! resuming is exact).

use super::newest::{Carry, Kept};
use super::plan::{Deletion, ObjectMeta, PlanSummary, PrunePolicy, Reason, SHARED_GROUP};
use super::records::Records;
use crate::RESERVED_PREFIX;
use chrono::{DateTime, Utc};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

struct Current {
    index: u32,
    name: String,
    orphaned: bool,
    in_scope: bool,
    newest: BinaryHeap<Reverse<Kept>>,
    bytes_remaining: u64,
    candidates: Records,
    split: bool,
}

/// The streaming planner.
pub struct Planner<'a> {
    policy: &'a PrunePolicy,
    now_ms: i64,
    missing: &'a HashSet<String>,
    names: Vec<String>,
    current: Option<Current>,
    carry: Option<Carry>,
    global: Records,
    total_remaining: u64,
    summary: PlanSummary,
    last_key: Option<String>,
    whole_root: bool,
    budget_cursor: Option<usize>,
}

impl<'a> Planner<'a> {
    /// A planner at the start of a listing; `carry` continues the project a previous run stopped in.
    pub fn new(
        policy: &'a PrunePolicy,
        now: DateTime<Utc>,
        missing: &'a HashSet<String>,
        carry: Option<Carry>,
    ) -> Self {
        let resumed = carry.as_ref().map(|c| c.project.clone());
        let mut planner = Planner {
            policy,
            now_ms: now.timestamp_millis(),
            missing,
            names: Vec::new(),
            current: None,
            carry,
            global: Records::default(),
            total_remaining: 0,
            summary: PlanSummary::default(),
            last_key: None,
            whole_root: false,
            budget_cursor: None,
        };
        // The carried project is in progress from the start: if the listing continues with another
        // project (or ends), the carried one is finished first.
        if let Some(project) = resumed {
            planner.start_project(project);
        }
        planner
    }

    /// True once the cap is reached: feed no more.
    pub fn capped(&self) -> bool {
        self.summary.capped
    }

    /// The last key fed.
    pub fn last_key(&self) -> Option<&str> {
        self.last_key.as_deref()
    }

    pub fn summary(&self) -> &PlanSummary {
        &self.summary
    }

    fn budgets(&self) -> bool {
        self.policy.project_budget.is_some() || self.policy.total_budget.is_some()
    }

    /// Length of `<root><group>/` (just `<root>` for the shared group).
    fn group_prefix_len(&self, group: &str) -> usize {
        if self.policy.per_project { self.policy.root.len() + group.len() + 1 } else { self.policy.root.len() }
    }

    /// A budget record's key from its project index and suffix.
    fn full_key(&self, project: u32, suffix: &str) -> String {
        let group = self.names.get(project as usize).map(String::as_str).unwrap_or_default();
        if self.policy.per_project {
            format!("{}{group}/{suffix}", self.policy.root)
        } else {
            format!("{}{suffix}", self.policy.root)
        }
    }

    fn age_ms(&self, mtime: i64) -> i64 {
        self.now_ms.saturating_sub(mtime)
    }

    fn young(&self, mtime: i64) -> bool {
        self.age_ms(mtime) < self.policy.min_age.num_milliseconds()
    }

    /// Feeds the next listed object (in listing order); deletions certain by now go to `out`.
    /// Objects fed after the cap is reached are ignored (the caller should stop feeding).
    pub fn push(&mut self, object: ObjectMeta, out: &mut Vec<Deletion>) {
        if self.summary.capped {
            return;
        }
        self.last_key = Some(object.key.clone());
        let policy = self.policy;
        let group = match policy.group_of(&object.key) {
            Some(group) => group,
            None => {
                if !object.key.starts_with(&policy.root) || object.key.len() <= policy.root.len() {
                    self.summary.skipped.outside_root += 1;
                } else if object.key.starts_with(RESERVED_PREFIX) {
                    self.summary.skipped.reserved += 1;
                } else {
                    self.summary.skipped.no_project += 1;
                }
                return;
            }
        };
        if self.current.as_ref().is_none_or(|c| c.name != group) {
            let group = group.to_owned();
            self.finish_project(out);
            self.start_project(group);
        }
        let Some(mut current) = self.current.take() else { return };
        let stats = self.summary.projects.entry(current.name.clone()).or_default();
        stats.scanned += 1;
        stats.bytes_scanned += object.size;
        self.summary.scanned += 1;
        self.summary.bytes_scanned += object.size;
        current.bytes_remaining += object.size;
        if current.in_scope {
            current.newest.push(Reverse(Kept {
                key: object.key,
                size: object.size,
                last_modified_ms: object.last_modified_ms,
            }));
            if current.newest.len() > policy.keep_newest
                && let Some(Reverse(evicted)) = current.newest.pop()
            {
                self.decide_evicted(&mut current, evicted, out);
            }
        }
        self.current = Some(current);
    }

    fn start_project(&mut self, name: String) {
        let index = self.names.len() as u32;
        self.names.push(name.clone());
        let in_scope = name == SHARED_GROUP || self.policy.projects.check(&name).is_ok();
        let orphaned = self.policy.per_project && self.missing.contains(&name);
        let mut newest = BinaryHeap::with_capacity(self.policy.keep_newest + 1);
        let mut split = false;
        if let Some(carry) = self.carry.take()
            && carry.project == name
        {
            newest.extend(carry.newest.into_iter().map(Reverse));
            split = true;
        }
        let stats = self.summary.projects.entry(name.clone()).or_default();
        stats.orphaned = orphaned;
        stats.out_of_scope = !in_scope;
        stats.budget_deferred = split && self.policy.project_budget.is_some();
        self.current = Some(Current {
            index,
            name,
            orphaned,
            in_scope,
            newest,
            bytes_remaining: 0,
            candidates: Records::default(),
            split,
        });
    }

    fn decide_evicted(&mut self, current: &mut Current, object: Kept, out: &mut Vec<Deletion>) {
        if self.young(object.last_modified_ms) {
            return;
        }
        let age = self.age_ms(object.last_modified_ms);
        if current.orphaned && age > self.policy.orphan_grace.num_milliseconds() {
            self.emit(current, object, Reason::Orphaned, out);
        } else if age > self.policy.max_age.num_milliseconds() {
            self.emit(current, object, Reason::MaxAge, out);
        } else if self.budgets() {
            // Only the part after `<root><project>/`: the project index restores the rest.
            let suffix = object.key.get(self.group_prefix_len(&current.name)..).unwrap_or(&object.key);
            current.candidates.push(suffix, object.size, object.last_modified_ms, current.index);
        }
    }

    fn emit(&mut self, current: &mut Current, object: Kept, reason: Reason, out: &mut Vec<Deletion>) {
        if self.summary.planned >= self.policy.max_deletes as u64 {
            self.summary.capped = true;
            return;
        }
        if !self.policy.may_delete(&object.key) {
            return;
        }
        current.bytes_remaining = current.bytes_remaining.saturating_sub(object.size);
        self.count(&current.name, object.size, reason);
        out.push(Deletion {
            key: object.key,
            project: current.name.clone(),
            size: object.size,
            last_modified_ms: object.last_modified_ms,
            reason,
        });
    }

    fn count(&mut self, project: &str, size: u64, reason: Reason) {
        self.summary.planned += 1;
        self.summary.bytes_planned += size;
        *self.summary.by_reason.entry(reason).or_default() += 1;
        if let Some(stats) = self.summary.projects.get_mut(project) {
            stats.planned += 1;
            stats.bytes_planned += size;
        }
    }

    /// The project in progress is complete: decide its N newest and its budget.
    fn finish_project(&mut self, out: &mut Vec<Deletion>) {
        let Some(mut current) = self.current.take() else { return };
        if !current.in_scope {
            self.total_remaining += current.bytes_remaining;
            return;
        }
        let newest = std::mem::take(&mut current.newest);
        for Reverse(object) in newest.into_sorted_vec() {
            let age = self.age_ms(object.last_modified_ms);
            if current.orphaned
                && !self.young(object.last_modified_ms)
                && age > self.policy.orphan_grace.num_milliseconds()
            {
                self.emit(&mut current, object, Reason::Orphaned, out);
            }
        }
        // The carried heap's bytes were counted by the run that saw them; this run only knows its part.
        if let (Some(budget), false) = (self.policy.project_budget, current.split)
            && current.bytes_remaining > budget
        {
            let mut candidates = std::mem::take(&mut current.candidates);
            candidates.sort_oldest_first();
            let mut taken = 0;
            for rec in &candidates.recs {
                if current.bytes_remaining <= budget || self.summary.capped {
                    break;
                }
                let object = Kept {
                    key: self.full_key(rec.project, candidates.key(rec)),
                    size: rec.size,
                    last_modified_ms: rec.mtime,
                };
                self.emit(&mut current, object, Reason::ProjectBudget, out);
                taken += 1;
            }
            candidates.recs.drain(..taken);
            current.candidates = candidates;
            if current.bytes_remaining > budget
                && let Some(stats) = self.summary.projects.get_mut(&current.name)
            {
                stats.over_budget = true;
            }
        }
        self.total_remaining += current.bytes_remaining;
        if self.policy.total_budget.is_some() {
            for rec in &current.candidates.recs {
                let key = current.candidates.key(rec);
                self.global.push(key, rec.size, rec.mtime, rec.project);
            }
        }
        current.candidates.clear();
    }

    /// Stops mid-listing: emits nothing more and returns the project in progress for the next run.
    pub fn suspend(mut self) -> (PlanSummary, Option<Carry>) {
        let carry = self.current.take().filter(|c| c.in_scope).map(|c| Carry {
            project: c.name,
            newest: c.newest.into_sorted_vec().into_iter().map(|Reverse(k)| k).collect(),
        });
        if self.policy.total_budget.is_some() {
            self.summary.total_budget = Some("not applied: the listing did not complete in this run".into());
        }
        (self.summary, carry)
    }

    /// The listing is complete: finishes the last project and prepares the total budget.
    /// `whole_root`: the listing covered the whole root from its start in this run, so the total
    /// budget can be applied. Then call [`Planner::drain_budget`] until it returns false.
    pub fn end_listing(&mut self, whole_root: bool, out: &mut Vec<Deletion>) {
        self.finish_project(out);
        self.whole_root = whole_root;
        if let Some(budget) = self.policy.total_budget {
            if !whole_root {
                self.summary.total_budget = Some("not applied: this run did not list the whole cache root".into());
            } else if self.total_remaining > budget {
                self.global.sort_oldest_first();
                self.budget_cursor = Some(0);
            }
        }
    }

    /// Emits up to `max` total-budget deletions (oldest first); true while more may follow. Bounded
    /// batches keep the planned deletions out of memory: each batch goes to S3 before the next.
    pub fn drain_budget(&mut self, out: &mut Vec<Deletion>, max: usize) -> bool {
        let (Some(budget), Some(mut cursor)) = (self.policy.total_budget, self.budget_cursor) else {
            return false;
        };
        let mut emitted = 0;
        let mut done = false;
        while emitted < max {
            let Some(rec) = self.global.recs.get(cursor).copied() else {
                done = true;
                break;
            };
            if self.total_remaining <= budget {
                done = true;
                break;
            }
            if self.summary.planned >= self.policy.max_deletes as u64 {
                self.summary.capped = true;
                done = true;
                break;
            }
            cursor += 1;
            let key = self.full_key(rec.project, self.global.key(&rec));
            if !self.policy.may_delete(&key) {
                continue;
            }
            let project = self.names.get(rec.project as usize).cloned().unwrap_or_default();
            self.total_remaining = self.total_remaining.saturating_sub(rec.size);
            self.count(&project, rec.size, Reason::TotalBudget);
            out.push(Deletion {
                key,
                project,
                size: rec.size,
                last_modified_ms: rec.mtime,
                reason: Reason::TotalBudget,
            });
            emitted += 1;
        }
        if done {
            self.budget_cursor = None;
            self.global = Records::default();
            if self.total_remaining > budget {
                self.summary.total_budget =
                    Some(format!("still over budget: {} bytes left, budget {budget}", self.total_remaining));
            }
        } else {
            self.budget_cursor = Some(cursor);
        }
        !done
    }

    /// The summary, once the listing ended and the budget was drained.
    pub fn into_summary(mut self) -> PlanSummary {
        if self.whole_root || self.policy.total_budget.is_some() && self.summary.total_budget.is_none() {
            self.summary.total_bytes_after = Some(self.total_remaining);
        }
        self.summary
    }

    /// The listing is complete: [`Planner::end_listing`], the whole budget drain, the summary.
    pub fn finish(mut self, whole_root: bool, out: &mut Vec<Deletion>) -> PlanSummary {
        self.end_listing(whole_root, out);
        while self.drain_budget(out, usize::MAX) {}
        self.into_summary()
    }
}
