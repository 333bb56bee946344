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

use super::planner::Planner;
use crate::RESERVED_PREFIX;
use crate::filter::ProjectFilter;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

pub use super::newest::{Carry, Kept};

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
#[path = "plan_tests.rs"]
mod tests;
