//! What a run reports: the JSON summary an invocation returns and logs, and the notice is made of.

use super::plan::{Deletion, PlanSummary};
use super::scope::{ExcludedLocation, LocationState};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// How many per-key errors the report lists (all are counted and logged).
pub const REPORTED_ERRORS: usize = 100;
/// How many planned deletions the report lists (all are logged).
pub const REPORTED_DELETIONS: usize = 1000;
/// How many unmanaged top-level prefixes the report lists (the largest first; all are counted).
pub const REPORTED_PREFIXES: usize = 10;

/// One key DeleteObjects did not delete, after retries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyError {
    pub key: String,
    pub code: String,
    pub message: String,
    pub attempts: u32,
}

impl KeyError {
    pub fn new(key: &str, code: &str, message: &str, attempts: u32) -> Self {
        KeyError { key: key.to_owned(), code: code.to_owned(), message: message.to_owned(), attempts }
    }
}

/// What deletions achieved (of one location, or of the run).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DeleteCounts {
    pub deleted: u64,
    pub bytes_freed: u64,
    pub failed: u64,
}

impl DeleteCounts {
    pub fn add(&mut self, other: DeleteCounts) {
        self.deleted += other.deleted;
        self.bytes_freed += other.bytes_freed;
        self.failed += other.failed;
    }
}

/// One managed location's line in the report.
#[derive(Debug, Clone, Serialize)]
pub struct LocationReport {
    /// The key prefix ("" = the bucket root).
    pub prefix: String,
    #[serde(flatten)]
    pub state: LocationState,
    pub projects: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub namespaces: Vec<String>,
    #[serde(flatten)]
    pub plan: PlanSummary,
    #[serde(flatten)]
    pub outcome: DeleteCounts,
    /// Its listing reached the end in this run.
    pub finished: bool,
    /// A permanent error: the location was not pruned (the others were).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// Still over the location budget with only its N newest or young objects left.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub over_budget: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget_not_applied: Option<String>,
    /// What was decided of each BuildKit S3 cache in the location, or why it was left alone.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub buildkit: Vec<String>,
    /// A location several live projects share: the N newest kept per project (`writers`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept_per_project: Option<String>,
}

/// Objects no location owns under one top-level prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrefixCount {
    /// `name/`, or "" for keys at the bucket root.
    pub prefix: String,
    pub objects: u64,
    pub bytes: u64,
}

/// What else lives in the bucket: never deleted, counted so people know.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UnmanagedReport {
    pub objects: u64,
    pub bytes: u64,
    /// How many top-level prefixes hold unmanaged objects.
    pub prefixes: u64,
    /// The largest ones.
    pub top_prefixes: Vec<PrefixCount>,
    /// This run listed the whole rest of the bucket (else the counts are partial).
    pub complete: bool,
    /// Keys S3 listed that did not decode (left alone).
    #[serde(skip_serializing_if = "is_zero")]
    pub undecodable: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Which sweep this run continued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resumed {
    pub started: DateTime<Utc>,
    /// Runs of this sweep before this one.
    pub runs: u32,
}

/// The JSON summary an invocation returns and logs.
#[derive(Debug, Clone, Serialize)]
pub struct PruneReport {
    pub trigger: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_id: Option<String>,
    /// Why nothing was done (an event that does not call for pruning); not an error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
    /// An event the pruner does not handle (trigger `unhandled`): what it was and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// The bucket cannot be pruned from this region (S3's 301: it lives in another one): a
    /// permanent condition, reported and notified, not retried.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bucket_refused: Option<String>,
    /// Another run held the lease: what this run skipped, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    pub dry_run: bool,
    pub bucket: String,
    /// Every location of the sweep (or the build's location) was listed to its end.
    pub finished: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumed: Option<Resumed>,
    /// What the planner decided (in a dry run: what would be deleted), over all locations.
    #[serde(flatten)]
    pub plan: PlanSummary,
    /// What the deletions achieved, over all locations.
    #[serde(flatten)]
    pub outcome: DeleteCounts,
    /// Managed locations, by the location as CodeBuild writes it (`bucket` or `bucket/prefix`).
    pub locations: BTreeMap<String, LocationReport>,
    /// Cache locations left alone, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub excluded: Vec<ExcludedLocation>,
    /// Everything else in the bucket (sweeps only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unmanaged: Option<UnmanagedReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_bytes_after: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_budget: Option<String>,
    /// Per-key and call errors (the first 100; `failed` counts them all).
    pub errors: Vec<KeyError>,
    /// Keys deleted one by one because a DeleteObjects body could not carry them (the first 100).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deleted_one_by_one: Vec<String>,
    pub notes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versioning: Option<String>,
    /// When the last sweep that listed every location finished (this one, when it did), as the
    /// state remembers it; None: none has since the state began.
    pub last_full_sweep: Option<DateTime<Utc>>,
    /// API calls made by this run, by operation (SDK-internal retries not counted).
    pub api_calls: BTreeMap<&'static str, u64>,
    /// The first 1,000 planned deletions with their reasons (all are logged).
    pub deletions: Vec<Deletion>,
    pub notified: bool,
    /// What went to Security Hub (SECURITY_HUB_FINDINGS=true; sweeps only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub findings: Option<crate::findings::sink::FindingsReport>,
}

impl PruneReport {
    pub fn new(trigger: &'static str, event_id: Option<String>, dry_run: bool, bucket: String) -> Self {
        PruneReport {
            trigger,
            event_id,
            project: None,
            build_id: None,
            ignored: None,
            refused: None,
            bucket_refused: None,
            skipped: None,
            dry_run,
            bucket,
            finished: false,
            stopped: None,
            resumed: None,
            plan: PlanSummary::default(),
            outcome: DeleteCounts::default(),
            locations: BTreeMap::new(),
            excluded: vec![],
            unmanaged: None,
            total_bytes_after: None,
            total_budget: None,
            errors: vec![],
            deleted_one_by_one: vec![],
            notes: vec![],
            versioning: None,
            last_full_sweep: None,
            api_calls: BTreeMap::new(),
            deletions: vec![],
            notified: false,
            findings: None,
        }
    }

    /// When the last full sweep finished, as people read it.
    pub fn last_full_sweep_line(&self) -> String {
        match self.last_full_sweep {
            Some(at) => format!("Last full sweep: finished {}", at.format("%Y-%m-%d %H:%M UTC")),
            None => "Last full sweep: none has finished yet for this deployment".to_owned(),
        }
    }

    /// The run stopped on an error (not on a limit).
    pub fn stopped_on_error(&self) -> bool {
        self.stopped.as_deref().is_some_and(|s| s.starts_with("error"))
    }

    /// The location as CodeBuild writes it: `bucket` or `bucket/prefix`.
    pub fn location_name(&self, prefix: &str) -> String {
        if prefix.is_empty() { self.bucket.clone() } else { format!("{}/{prefix}", self.bucket) }
    }

    /// The report line of a location, by prefix.
    pub fn location_mut(&mut self, prefix: &str) -> Option<&mut LocationReport> {
        let name = self.location_name(prefix);
        self.locations.get_mut(&name)
    }

    /// Locations refused with a permanent error.
    pub fn refused(&self) -> impl Iterator<Item = (&String, &LocationReport)> {
        self.locations.iter().filter(|(_, l)| l.refused.is_some())
    }
}
