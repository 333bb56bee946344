//! The pure, streaming planner: which cache objects to delete and why.
//!
//! The planner is fed the listing object by object in S3's order (lexicographic by key, so all
//! objects of `<root><project>/` are contiguous) and emits deletions as soon as they are certain.
//! It is a pure function of (listing, policy, now, missing projects): [`plan`] runs it over a whole
//! listing; the service feeds it page by page and can suspend it at any object ([`Planner::suspend`]).
//!
//! # Decisions
//! * Never: a key outside the root, under [`RESERVED_PREFIX`](crate::RESERVED_PREFIX), directly in
//!   the root when the layout is per project (no project owns it), of a project out of scope
//!   (PROJECT_INCLUDE/EXCLUDE), or younger than the minimum age.
//! * Never for a live project: its N newest objects (N >= 1). Young objects count among the N
//!   newest, so a build that just wrote fresh cache makes an older object deletable.
//! * `max_age`: an object older than the maximum age, once N newer objects of its project are seen.
//! * `orphaned`: the project no longer exists (CodeBuild says so) and the object is older than the
//!   grace period. Within the grace period an orphan is treated like a live project (it may be
//!   recreated); past it, its N newest go too.
//! * `project_budget` / `total_budget`: over budget, the oldest remaining deletable objects go first
//!   until the project (root) is under budget. The N newest and young objects are never deleted for
//!   a budget, so a project can stay over budget; the summary says so.
//! * The cap: no more than `max_deletes` deletions; the planner says when it was reached.
//!
//! # Memory
//! Per project in progress: a min-heap of its N newest objects (key, size, mtime). Per project
//! seen: one [`ProjectStats`] entry. Deletions are emitted immediately, not kept. Without budgets
//! nothing else is held, so memory grows with the number of projects and N, not with the number of
//! objects. With a budget, every object that only a budget could delete (not among the N newest, not
//! young, not already deleted for age) is kept as a compact record: 32 bytes plus the bytes of its key
//! after `<root><project>/` in a shared text arena. A project budget holds the records of one project at a time (freed when the
//! project ends); a total budget holds the records of the whole root until the listing ends.
//!
//! # Resuming
//! A deletion is only emitted with N newer objects of the project as witnesses that are themselves
//! kept, so deciding on a prefix of a project's listing never deletes one of its true N newest. The
//! service resumes a stopped sweep after the last key fed, carrying the project in progress (its heap
//! of N newest, [`Carry`]) so that keep-newest-N stays exact across runs. Budgets need a complete
//! view: a project split across runs gets no project-budget deletions in that sweep, and the total
//! budget applies only when one run lists the whole root.

use crate::RESERVED_PREFIX;
use crate::filter::ProjectFilter;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap, HashSet};

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

/// The group name used when all projects share one prefix (`CACHE_PREFIX_PER_PROJECT=false`).
pub const SHARED_GROUP: &str = "*";

/// What the planner applies.
#[derive(Debug, Clone)]
pub struct PrunePolicy {
    /// The cache root: "" (bucket root) or a prefix ending in '/'.
    pub root: String,
    /// Project prefixes `<root><project>/`; false = the whole root is one group named "*" (no
    /// per-project policies beyond that group, no orphan detection).
    pub per_project: bool,
    pub keep_newest: usize,
    pub max_age: Duration,
    pub min_age: Duration,
    pub orphan_grace: Duration,
    pub project_budget: Option<u64>,
    pub total_budget: Option<u64>,
    pub max_deletes: usize,
    pub projects: ProjectFilter,
}

impl PrunePolicy {
    /// Whether a key may ever be deleted under this policy: inside the root, not reserved, not the
    /// root itself. Checked for every key before every delete call.
    pub fn may_delete(&self, key: &str) -> bool {
        key.len() > self.root.len() && key.starts_with(&self.root) && !key.starts_with(RESERVED_PREFIX)
    }

    /// The group (project) that owns a key, None when no project does.
    pub fn group_of<'k>(&self, key: &'k str) -> Option<&'k str> {
        if !self.may_delete(key) {
            return None;
        }
        if !self.per_project {
            return Some(SHARED_GROUP);
        }
        let rest = &key[self.root.len()..];
        match rest.split_once('/') {
            Some((project, _)) if !project.is_empty() => Some(project),
            _ => None,
        }
    }
}

/// Why an object is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    MaxAge,
    Orphaned,
    ProjectBudget,
    TotalBudget,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::MaxAge => "max_age",
            Reason::Orphaned => "orphaned",
            Reason::ProjectBudget => "project_budget",
            Reason::TotalBudget => "total_budget",
        }
    }
}

/// One planned deletion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deletion {
    pub key: String,
    pub project: String,
    pub size: u64,
    pub last_modified_ms: i64,
    pub reason: Reason,
}

/// Per-project counts of one run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectStats {
    pub scanned: u64,
    pub bytes_scanned: u64,
    pub planned: u64,
    pub bytes_planned: u64,
    /// The project no longer exists in CodeBuild.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub orphaned: bool,
    /// Out of PROJECT_INCLUDE/EXCLUDE scope: counted, never deleted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub out_of_scope: bool,
    /// Still over the project budget after planning (only the N newest or young objects are left).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub over_budget: bool,
    /// The project's listing was split across runs: budget not applied this sweep.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub budget_deferred: bool,
}

/// Objects the planner saw and left alone for reasons other than policy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub outside_root: u64,
    pub reserved: u64,
    pub no_project: u64,
}

/// An entry of a project's N-newest heap (also carried across runs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    pub key: String,
    pub size: u64,
    pub last_modified_ms: i64,
}

impl Ord for Kept {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.last_modified_ms, &self.key).cmp(&(other.last_modified_ms, &other.key))
    }
}

impl PartialOrd for Kept {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The project in progress when a run stopped, so the next run continues it exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Carry {
    pub project: String,
    pub newest: Vec<Kept>,
}

/// Budget candidates: 32 bytes per record plus the key bytes after `<root><project>/` in one shared
/// arena (the project index restores the rest).
#[derive(Debug, Default)]
struct Records {
    text: String,
    recs: Vec<Rec>,
}

#[derive(Debug, Clone, Copy)]
struct Rec {
    offset: u32,
    len: u32,
    project: u32,
    size: u64,
    mtime: i64,
}

impl Records {
    fn push(&mut self, key: &str, size: u64, mtime: i64, project: u32) {
        // Keys are at most 1,024 bytes; the arena of a run stays far below 4 GiB before memory runs out.
        let offset = self.text.len() as u32;
        self.text.push_str(key);
        self.recs.push(Rec { offset, len: key.len() as u32, project, size, mtime });
    }

    fn key(&self, rec: &Rec) -> &str {
        &self.text[rec.offset as usize..(rec.offset + rec.len) as usize]
    }

    fn sort_oldest_first(&mut self) {
        let text = std::mem::take(&mut self.text);
        self.recs.sort_unstable_by(|a, b| {
            (a.mtime, a.project, &text[a.offset as usize..(a.offset + a.len) as usize]).cmp(&(
                b.mtime,
                b.project,
                &text[b.offset as usize..(b.offset + b.len) as usize],
            ))
        });
        self.text = text;
    }

    fn clear(&mut self) {
        self.text.clear();
        self.recs.clear();
        if self.text.capacity() > 1 << 20 {
            self.text.shrink_to(1 << 16);
            self.recs.shrink_to(1 << 12);
        }
    }
}

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

/// The summary of a plan.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PlanSummary {
    pub scanned: u64,
    pub bytes_scanned: u64,
    pub planned: u64,
    pub bytes_planned: u64,
    pub by_reason: BTreeMap<Reason, u64>,
    pub skipped: Skipped,
    /// The cap on deletions per run was reached: planning stopped.
    pub capped: bool,
    /// Bytes left in the root after the plan (complete listings only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_bytes_after: Option<u64>,
    /// The total budget could not be applied (the listing was not whole) or was still exceeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_budget: Option<String>,
    pub projects: BTreeMap<String, ProjectStats>,
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

/// The whole plan over a complete listing.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub deletions: Vec<Deletion>,
    pub summary: PlanSummary,
}

/// Plans over a complete listing in S3's order (the pure function the service streams).
pub fn plan(
    listing: impl IntoIterator<Item = ObjectMeta>,
    policy: &PrunePolicy,
    now: DateTime<Utc>,
    missing: &HashSet<String>,
) -> Plan {
    let mut planner = Planner::new(policy, now, missing, None);
    let mut deletions = Vec::new();
    for object in listing {
        if planner.capped() {
            break;
        }
        planner.push(object, &mut deletions);
    }
    let summary = planner.finish(true, &mut deletions);
    Plan { deletions, summary }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 3, 0, 0).unwrap()
    }

    fn policy(root: &str) -> PrunePolicy {
        PrunePolicy {
            root: root.into(),
            per_project: true,
            keep_newest: 2,
            max_age: Duration::days(30),
            min_age: Duration::hours(24),
            orphan_grace: Duration::days(7),
            project_budget: None,
            total_budget: None,
            max_deletes: 100_000,
            projects: ProjectFilter::default(),
        }
    }

    fn obj(key: &str, days_old: i64, size: u64) -> ObjectMeta {
        ObjectMeta::new(key, size, now() - Duration::days(days_old))
    }

    fn sorted(mut v: Vec<ObjectMeta>) -> Vec<ObjectMeta> {
        v.sort_by(|a, b| a.key.cmp(&b.key));
        v
    }

    fn keys(plan: &Plan) -> BTreeSet<(String, Reason)> {
        plan.deletions.iter().map(|d| (d.key.clone(), d.reason)).collect()
    }

    #[test]
    fn old_objects_beyond_the_newest_n_are_deleted_and_the_newest_kept_however_old() {
        let listing = sorted(vec![
            obj("tts/a", 90, 10),
            obj("tts/b", 60, 10),
            obj("tts/c", 45, 10),
            obj("tts/d", 40, 10),
            obj("web/x", 100, 5),
        ]);
        let plan = plan(listing, &policy(""), now(), &HashSet::new());
        // tts keeps c and d (the 2 newest, both older than the maximum age); web keeps its only object.
        assert_eq!(keys(&plan), BTreeSet::from([("tts/a".into(), Reason::MaxAge), ("tts/b".into(), Reason::MaxAge)]));
        assert_eq!(plan.summary.projects["tts"].planned, 2);
        assert_eq!(plan.summary.total_bytes_after, Some(25));
    }

    #[test]
    fn young_objects_are_never_deleted_but_count_among_the_newest() {
        let mut p = policy("");
        p.keep_newest = 1;
        let listing = sorted(vec![obj("tts/fresh", 0, 1), obj("tts/old", 50, 1), obj("tts/mid", 10, 1)]);
        let plan = plan(listing, &p, now(), &HashSet::new());
        assert_eq!(keys(&plan), BTreeSet::from([("tts/old".into(), Reason::MaxAge)]));
        // A young object is not deleted even when orphaned and beyond N.
        let missing = HashSet::from(["tts".to_owned()]);
        let listing = sorted(vec![obj("tts/a", 0, 1), ObjectMeta::new("tts/b", 1, now() - Duration::hours(2))]);
        assert!(super::plan(listing, &p, now(), &missing).deletions.is_empty());
    }

    #[test]
    fn orphans_go_after_the_grace_period_including_their_newest() {
        let missing = HashSet::from(["gone".to_owned()]);
        let listing = sorted(vec![obj("gone/a", 8, 1), obj("gone/b", 8, 1), obj("gone/c", 3, 1), obj("live/a", 8, 1)]);
        let plan = plan(listing, &policy(""), now(), &missing);
        assert_eq!(
            keys(&plan),
            BTreeSet::from([("gone/a".into(), Reason::Orphaned), ("gone/b".into(), Reason::Orphaned)])
        );
        assert!(plan.summary.projects["gone"].orphaned);
    }

    #[test]
    fn keys_outside_the_root_reserved_or_without_project_are_never_touched() {
        let listing = sorted(vec![
            obj(".cache-sentinel/pruner/state.json", 400, 1),
            obj("cache/", 400, 1),
            obj("cache/loose-file", 400, 1),
            obj("cache/tts/a", 400, 1),
            obj("cache/tts/b", 400, 1),
            obj("cache/tts/c", 400, 1),
            obj("other/tts/a", 400, 1),
        ]);
        let plan = plan(listing, &policy("cache/"), now(), &HashSet::new());
        assert_eq!(keys(&plan), BTreeSet::from([("cache/tts/a".into(), Reason::MaxAge)]));
        assert_eq!(plan.summary.skipped, Skipped { outside_root: 3, reserved: 0, no_project: 1 });
        // At the bucket root, the reserved prefix is inside the root and still never deleted.
        let listing = sorted(vec![
            obj(".cache-sentinel/pruner/state.json", 400, 1),
            obj(".cache-sentinel/x/y", 400, 1),
            obj(".cache-sentinel/x/z", 400, 1),
            obj(".cache-sentinel/x/w", 400, 1),
        ]);
        let plan = super::plan(listing, &policy(""), now(), &HashSet::new());
        assert!(plan.deletions.is_empty());
        assert_eq!(plan.summary.skipped.reserved, 4);
    }

    #[test]
    fn shared_prefix_layout_is_one_group() {
        let mut p = policy("");
        p.per_project = false;
        let listing = sorted(vec![obj("a", 50, 1), obj("b/c", 40, 1), obj("d", 35, 1), obj("e", 1, 1)]);
        let missing = HashSet::from(["b".to_owned()]);
        let plan = plan(listing, &p, now(), &missing);
        assert_eq!(keys(&plan), BTreeSet::from([("a".into(), Reason::MaxAge), ("b/c".into(), Reason::MaxAge)]));
        assert_eq!(plan.summary.projects.keys().collect::<Vec<_>>(), vec![SHARED_GROUP]);
    }

    #[test]
    fn budgets_delete_oldest_first_until_under() {
        let mut p = policy("");
        p.keep_newest = 1;
        p.project_budget = Some(30);
        let listing = sorted(vec![
            obj("tts/a", 5, 10),
            obj("tts/b", 4, 10),
            obj("tts/c", 3, 10),
            obj("tts/d", 2, 10),
            obj("tts/e", 0, 10),
        ]);
        let plan = plan(listing.clone(), &p, now(), &HashSet::new());
        assert_eq!(
            keys(&plan),
            BTreeSet::from([("tts/a".into(), Reason::ProjectBudget), ("tts/b".into(), Reason::ProjectBudget)])
        );
        // Total budget across projects, oldest first.
        p.project_budget = None;
        p.total_budget = Some(35);
        let mut listing = listing;
        listing.extend([obj("web/a", 6, 10), obj("web/b", 1, 10)]);
        let plan = super::plan(sorted(listing), &p, now(), &HashSet::new());
        assert_eq!(
            keys(&plan),
            BTreeSet::from([
                ("web/a".into(), Reason::TotalBudget),
                ("tts/a".into(), Reason::TotalBudget),
                ("tts/b".into(), Reason::TotalBudget),
                ("tts/c".into(), Reason::TotalBudget)
            ])
        );
        assert_eq!(plan.summary.total_bytes_after, Some(30));
    }

    #[test]
    fn the_total_budget_drains_in_bounded_batches_as_in_one_go() {
        let mut p = policy("");
        p.keep_newest = 1;
        p.total_budget = Some(25);
        let listing = sorted(vec![
            obj("tts/a", 5, 10),
            obj("tts/b", 4, 10),
            obj("tts/c", 3, 10),
            obj("web/a", 6, 10),
            obj("web/b", 2, 10),
        ]);
        let whole = plan(listing.clone(), &p, now(), &HashSet::new());
        let missing = HashSet::new();
        let mut planner = Planner::new(&p, now(), &missing, None);
        let mut out = Vec::new();
        for o in listing {
            planner.push(o, &mut out);
        }
        planner.end_listing(true, &mut out);
        assert!(out.is_empty(), "no age deletions here");
        let mut batches = 0;
        let mut all = Vec::new();
        while planner.drain_budget(&mut out, 1) {
            assert!(out.len() <= 1);
            batches += 1;
            all.append(&mut out);
        }
        all.append(&mut out);
        assert_eq!(all, whole.deletions);
        assert_eq!(all.iter().map(|d| d.key.as_str()).collect::<Vec<_>>(), vec!["web/a", "tts/a", "tts/b"]);
        assert!(batches >= 2);
        assert_eq!(planner.into_summary(), whole.summary);
    }

    #[test]
    fn budget_that_cannot_be_met_is_reported() {
        let mut p = policy("");
        p.keep_newest = 2;
        p.project_budget = Some(5);
        let plan = plan(
            sorted(vec![obj("tts/a", 5, 10), obj("tts/b", 4, 10), obj("tts/c", 3, 10)]),
            &p,
            now(),
            &HashSet::new(),
        );
        assert_eq!(keys(&plan), BTreeSet::from([("tts/a".into(), Reason::ProjectBudget)]));
        assert!(plan.summary.projects["tts"].over_budget);
    }

    #[test]
    fn out_of_scope_projects_are_left_alone() {
        let mut p = policy("");
        p.projects = ProjectFilter::new(vec![], vec!["legacy-*".into()]).unwrap();
        let plan = plan(
            sorted(vec![obj("legacy-x/a", 90, 1), obj("legacy-x/b", 90, 1), obj("legacy-x/c", 90, 1)]),
            &p,
            now(),
            &HashSet::from(["legacy-x".to_owned()]),
        );
        assert!(plan.deletions.is_empty());
        assert!(plan.summary.projects["legacy-x"].out_of_scope);
    }

    #[test]
    fn the_cap_stops_planning() {
        let mut p = policy("");
        p.keep_newest = 1;
        p.max_deletes = 3;
        let listing: Vec<_> = (0..10).map(|i| obj(&format!("tts/{i:02}"), 40 + i, 1)).collect();
        let plan = plan(listing, &p, now(), &HashSet::new());
        assert_eq!(plan.deletions.len(), 3);
        assert!(plan.summary.capped);
    }

    // ---- property tests ----

    #[derive(Debug, Clone)]
    struct Case {
        policy: PrunePolicy,
        listing: Vec<ObjectMeta>,
        missing: HashSet<String>,
        split: usize,
    }

    fn case() -> impl Strategy<Value = Case> {
        let object = (
            prop::sample::select(vec!["", "cache/", "other/", ".cache-sentinel/", "cache/.cache-sentinel/"]),
            prop::sample::select(vec!["alpha/", "beta/", "gamma-1/", "legacy-x/", "", "alpha-2/"]),
            0u32..40,
            0i64..(90 * 24),
            0u64..1000,
        )
            .prop_map(|(area, project, n, hours, size)| {
                ObjectMeta::new(format!("{area}{project}obj-{n:03}"), size, now() - Duration::hours(hours))
            });
        (
            prop::collection::vec(object, 0..200),
            prop::sample::select(vec!["", "cache/"]),
            any::<bool>(),
            1usize..5,
            (1i64..60, 0i64..72, 0i64..20),
            (prop::option::of(0u64..5000), prop::option::of(0u64..20000)),
            1usize..200,
            prop::sample::subsequence(vec!["alpha", "beta", "legacy-x", "gamma-1"], 0..3),
            any::<bool>(),
            0usize..200,
        )
            .prop_map(
                |(
                    listing,
                    root,
                    per_project,
                    keep,
                    (max_days, min_hours, grace_days),
                    (pb, tb),
                    cap,
                    missing,
                    exclude,
                    split,
                )| {
                    let mut listing = listing;
                    listing.sort_by(|a, b| a.key.cmp(&b.key));
                    listing.dedup_by(|a, b| a.key == b.key);
                    let projects = if exclude {
                        ProjectFilter::new(vec![], vec!["legacy-*".into()]).unwrap()
                    } else {
                        ProjectFilter::default()
                    };
                    let policy = PrunePolicy {
                        root: root.into(),
                        per_project,
                        keep_newest: keep,
                        max_age: Duration::days(max_days),
                        min_age: Duration::hours(min_hours),
                        orphan_grace: Duration::days(grace_days),
                        project_budget: pb,
                        total_budget: tb,
                        max_deletes: cap,
                        projects,
                    };
                    let split = split.min(listing.len());
                    Case { policy, listing, missing: missing.into_iter().map(str::to_owned).collect(), split }
                },
            )
    }

    /// The N newest keys of each live, in-scope group: never deleted.
    fn protected(case: &Case) -> (BTreeSet<String>, BTreeMap<String, Vec<&ObjectMeta>>) {
        let mut groups: BTreeMap<String, Vec<&ObjectMeta>> = BTreeMap::new();
        for o in &case.listing {
            if let Some(g) = case.policy.group_of(&o.key) {
                groups.entry(g.to_owned()).or_default().push(o);
            }
        }
        let mut keep = BTreeSet::new();
        for (g, objects) in &groups {
            // An orphan within its grace period is treated like a live project.
            let orphan = case.policy.per_project && case.missing.contains(g);
            let grace_ms = case.policy.orphan_grace.num_milliseconds();
            let mut sorted: Vec<_> = objects.clone();
            sorted.sort_by(|a, b| (b.last_modified_ms, &b.key).cmp(&(a.last_modified_ms, &a.key)));
            let newest = sorted.iter().take(case.policy.keep_newest);
            keep.extend(
                newest
                    .filter(|o| !orphan || now().timestamp_millis() - o.last_modified_ms <= grace_ms)
                    .map(|o| o.key.clone()),
            );
        }
        (keep, groups)
    }

    fn check_safety(case: &Case, deletions: &[Deletion]) -> Result<(), TestCaseError> {
        let (keep, _) = protected(case);
        let p = &case.policy;
        let min_age_ms = p.min_age.num_milliseconds();
        let mut seen = HashSet::new();
        for d in deletions {
            prop_assert!(seen.insert(d.key.clone()), "deleted twice: {}", d.key);
            prop_assert!(d.key.starts_with(&p.root) && d.key.len() > p.root.len(), "outside the root: {}", d.key);
            prop_assert!(!d.key.starts_with(RESERVED_PREFIX), "reserved: {}", d.key);
            let group = p.group_of(&d.key);
            prop_assert!(group.is_some(), "no group: {}", d.key);
            let group = group.unwrap_or_default();
            prop_assert!(group == SHARED_GROUP || p.projects.check(group).is_ok(), "out of scope: {}", d.key);
            prop_assert!(now().timestamp_millis() - d.last_modified_ms >= min_age_ms, "too young: {}", d.key);
            prop_assert!(!keep.contains(&d.key), "one of the N newest of a live project: {}", d.key);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn plans_are_safe_capped_and_complete(case in case()) {
            let plan = plan(case.listing.clone(), &case.policy, now(), &case.missing);
            check_safety(&case, &plan.deletions)?;
            let p = &case.policy;
            prop_assert!(plan.deletions.len() <= p.max_deletes);
            prop_assert_eq!(plan.summary.planned as usize, plan.deletions.len());
            if plan.summary.capped {
                return Ok(());
            }
            let (keep, groups) = protected(&case);
            let deleted: HashSet<&str> = plan.deletions.iter().map(|d| d.key.as_str()).collect();
            let now_ms = now().timestamp_millis();
            let deletable = |o: &ObjectMeta| !keep.contains(&o.key) && now_ms - o.last_modified_ms >= p.min_age.num_milliseconds();
            let mut total_after = 0u64;
            let mut stuck_total = true;
            for (g, objects) in &groups {
                let in_scope = g == SHARED_GROUP || p.projects.check(g).is_ok();
                let orphan = p.per_project && case.missing.contains(g);
                let remaining: Vec<_> = objects.iter().filter(|o| !deleted.contains(o.key.as_str())).collect();
                let bytes: u64 = remaining.iter().map(|o| o.size).sum();
                total_after += bytes;
                if !in_scope {
                    prop_assert_eq!(remaining.len(), objects.len());
                    continue;
                }
                for o in &remaining {
                    let age = now_ms - o.last_modified_ms;
                    if deletable(o) {
                        stuck_total = false;
                        // Completeness: what the age rules condemn is deleted.
                        prop_assert!(age <= p.max_age.num_milliseconds(), "old object kept: {}", o.key);
                        prop_assert!(!(orphan && age > p.orphan_grace.num_milliseconds()), "expired orphan kept: {}", o.key);
                    }
                }
                if let Some(budget) = p.project_budget
                    && bytes > budget {
                        prop_assert!(remaining.iter().all(|o| !deletable(o)), "project {g} over budget with deletable objects left");
                    }
            }
            for o in &case.listing {
                if p.group_of(&o.key).is_none() {
                    prop_assert!(!deleted.contains(o.key.as_str()));
                }
            }
            if let Some(budget) = p.total_budget {
                let in_root: u64 = groups.values().flatten().filter(|o| !deleted.contains(o.key.as_str())).map(|o| o.size).sum();
                prop_assert_eq!(in_root, total_after);
                if total_after > budget {
                    prop_assert!(stuck_total, "over the total budget with deletable objects left");
                }
                prop_assert_eq!(plan.summary.total_bytes_after, Some(total_after));
            }
        }

        #[test]
        fn a_run_split_anywhere_and_resumed_is_as_safe_and_without_budgets_identical(case in case()) {
            let whole = plan(case.listing.clone(), &case.policy, now(), &case.missing);
            let mut first = Planner::new(&case.policy, now(), &case.missing, None);
            let mut deletions = Vec::new();
            for o in case.listing[..case.split].iter().cloned() {
                first.push(o, &mut deletions);
            }
            if first.capped() {
                return Ok(());
            }
            let (summary, carry) = first.suspend();
            let mut second = Planner::new(&case.policy, now(), &case.missing, carry);
            for o in case.listing[case.split..].iter().cloned() {
                second.push(o, &mut deletions);
            }
            let capped2 = second.capped();
            let summary2 = second.finish(false, &mut deletions);
            check_safety(&case, &deletions)?;
            let budgets = case.policy.project_budget.is_some() || case.policy.total_budget.is_some();
            if !budgets && !capped2 && !summary2.capped && !whole.summary.capped && summary.planned + summary2.planned <= case.policy.max_deletes as u64 {
                let mut a: Vec<_> = deletions.iter().map(|d| (d.key.clone(), d.reason)).collect();
                let mut b: Vec<_> = whole.deletions.iter().map(|d| (d.key.clone(), d.reason)).collect();
                a.sort();
                b.sort();
                prop_assert_eq!(a, b);
            }
        }
    }
}
