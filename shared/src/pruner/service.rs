//! Carries the pruning out: streams the listing page by page into the planner, deletes in batches
//! with bounded concurrency while the next page is listed, stops before the deadline, resumes the
//! next run where this one stopped, and reports.

use super::PrunerConfig;
use super::plan::{Deletion, ObjectMeta, PlanSummary, Planner, ProjectStats, PrunePolicy, Reason, Skipped};
use super::state::{Loaded, STATE_KEY, StateStore, SweepState};
use crate::aws::Clients;
use crate::aws::codebuild::CodeBuildProjects;
use crate::aws::sns::SnsPublisher;
use crate::clock::{Clock, SystemClock};
use crate::error::{AwsError, AwsErrorKind};
use crate::event::{BuildStatus, EventError, Trigger};
use crate::notify::{Notice, Severity};
use aws_sdk_s3::Client;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};
use tokio::task::JoinSet;
use tracing::{Instrument, error, info, info_span, warn};

/// DeleteObjects takes at most 1,000 keys; ListObjectsV2 returns at most 1,000 per page.
pub const DELETE_BATCH: usize = 1000;
/// Attempts per key when DeleteObjects reports it in `Errors` (the first try included).
pub const KEY_ATTEMPTS: u32 = 4;
/// Per-key error codes a retry cannot heal.
pub const PERMANENT_KEY_ERRORS: &[&str] =
    &["AccessDenied", "InvalidArgument", "InvalidObjectState", "MethodNotAllowed"];
/// How many per-key errors the report lists (all are counted and logged).
pub const REPORTED_ERRORS: usize = 100;
/// How many planned deletions the report lists (all are logged).
pub const REPORTED_DELETIONS: usize = 1000;

/// Why an invocation failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    #[error("invalid event: {0}")]
    Event(#[from] EventError),
    #[error(
        "cannot tell the AWS account to name the cache bucket codebuild-cache-<account>-<region>: the event has no `account`; set CACHE_BUCKET"
    )]
    UnknownAccount,
    #[error("cannot read the pruner state {STATE_KEY}: {0}")]
    State(AwsError),
}

impl PruneError {
    /// The error's name as Lambda reports it (`errorType`), so logs and alarms show the cause.
    pub fn error_type(&self) -> &'static str {
        match self {
            PruneError::Event(_) => "CachePruner.InvalidEvent",
            PruneError::UnknownAccount => "CachePruner.UnknownAccount",
            PruneError::State(_) => "CachePruner.StateUnreadable",
        }
    }
}

/// Bounds of one run.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunLimits {
    /// Stop listing once this instant is reached (the Lambda deadline minus the margin). At least one
    /// page is always processed, so every run makes progress.
    pub deadline: Option<Instant>,
    /// Stop after this many listing pages (an operational and test knob; None = no limit).
    pub max_pages: Option<usize>,
}

impl RunLimits {
    /// Limits for an invocation that must end by `deadline`: listing stops `margin` before it, so
    /// the deletions in flight and the state write finish in time. A deadline already past (or
    /// closer than the margin) still lets one page through: every run makes progress.
    pub fn before_deadline(deadline: SystemTime, now: SystemTime, margin: Duration) -> Self {
        let left = deadline.duration_since(now).unwrap_or_default();
        RunLimits { deadline: Some(Instant::now() + left.saturating_sub(margin)), max_pages: None }
    }

    fn expired(&self, pages: usize) -> Option<&'static str> {
        if self.max_pages.is_some_and(|max| pages >= max) {
            Some("page limit reached")
        } else if self.deadline.is_some_and(|d| Instant::now() >= d) {
            Some("deadline reached")
        } else {
            None
        }
    }
}

/// One key DeleteObjects did not delete, after retries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyError {
    pub key: String,
    pub code: String,
    pub message: String,
    pub attempts: u32,
}

/// A project's line in the report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProjectReport {
    #[serde(flatten)]
    pub plan: ProjectStats,
    pub deleted: u64,
    pub bytes_freed: u64,
    pub failed: u64,
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
    pub dry_run: bool,
    pub bucket: String,
    pub prefix: String,
    /// The listing reached its end in this run.
    pub finished: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// This run continued a sweep after this key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumed_after: Option<String>,
    /// The next run continues after this key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume_after: Option<String>,
    pub scanned: u64,
    pub bytes_scanned: u64,
    /// Planned deletions (in a dry run: what would be deleted).
    pub planned: u64,
    pub bytes_planned: u64,
    pub deleted: u64,
    pub bytes_freed: u64,
    pub failed: u64,
    pub by_reason: BTreeMap<Reason, u64>,
    pub skipped: Skipped,
    pub capped: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_bytes_after: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_budget: Option<String>,
    pub projects: BTreeMap<String, ProjectReport>,
    /// Per-key and call errors (the first 100; `failed` counts them all).
    pub errors: Vec<KeyError>,
    pub notes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versioning: Option<String>,
    /// API calls made by this run, by operation (SDK-internal retries not counted).
    pub api_calls: BTreeMap<&'static str, u64>,
    /// The first 1,000 planned deletions with their reasons (all are logged).
    pub deletions: Vec<Deletion>,
    pub notified: bool,
}

impl PruneReport {
    fn new(trigger: &'static str, event_id: Option<String>, dry_run: bool, bucket: String, prefix: String) -> Self {
        PruneReport {
            trigger,
            event_id,
            project: None,
            build_id: None,
            ignored: None,
            dry_run,
            bucket,
            prefix,
            finished: false,
            stopped: None,
            resumed_after: None,
            resume_after: None,
            scanned: 0,
            bytes_scanned: 0,
            planned: 0,
            bytes_planned: 0,
            deleted: 0,
            bytes_freed: 0,
            failed: 0,
            by_reason: BTreeMap::new(),
            skipped: Skipped::default(),
            capped: false,
            total_bytes_after: None,
            total_budget: None,
            projects: BTreeMap::new(),
            errors: vec![],
            notes: vec![],
            versioning: None,
            api_calls: BTreeMap::new(),
            deletions: vec![],
            notified: false,
        }
    }

    fn absorb(&mut self, plan: PlanSummary) {
        self.scanned = plan.scanned;
        self.bytes_scanned = plan.bytes_scanned;
        self.planned = plan.planned;
        self.bytes_planned = plan.bytes_planned;
        self.by_reason = plan.by_reason;
        self.skipped = plan.skipped;
        self.capped = plan.capped;
        self.total_bytes_after = plan.total_bytes_after;
        self.total_budget = plan.total_budget;
        for (name, stats) in plan.projects {
            self.projects.entry(name).or_default().plan = stats;
        }
    }
}

/// API call counters (one per request sent by this library; the SDK's own retries are not counted).
#[derive(Debug, Default)]
pub struct ApiCalls {
    counts: [AtomicU64; 8],
}

const OPERATIONS: [&str; 8] = [
    "s3:ListObjectsV2",
    "s3:DeleteObjects",
    "s3:GetObject",
    "s3:PutObject",
    "s3:GetBucketVersioning",
    "codebuild:BatchGetProjects",
    "sns:Publish",
    "s3:ListObjectsV2(delimiter)",
];

impl ApiCalls {
    fn add(&self, operation: &str, n: u64) {
        if let Some(i) = OPERATIONS.iter().position(|o| *o == operation) {
            self.counts[i].fetch_add(n, Ordering::Relaxed);
        }
    }

    fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        OPERATIONS
            .iter()
            .zip(&self.counts)
            .map(|(o, c)| (*o, c.load(Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

/// The pruner, built once per cold start.
pub struct CachePruner {
    config: PrunerConfig,
    s3: Client,
    projects: CodeBuildProjects,
    publisher: SnsPublisher,
    region: String,
    clock: Arc<dyn Clock>,
}

impl CachePruner {
    pub fn new(config: PrunerConfig, clients: &Clients) -> Self {
        CachePruner {
            publisher: SnsPublisher::new(clients.sns.clone(), config.common.topic_arn.clone()),
            s3: clients.s3.clone(),
            projects: CodeBuildProjects::new(clients.codebuild.clone()),
            region: clients.region_or_default().to_owned(),
            clock: Arc::new(SystemClock),
            config,
        }
    }

    /// Ages objects against this clock instead of the wall clock (tests, replays).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn config(&self) -> &PrunerConfig {
        &self.config
    }

    fn policy(&self) -> PrunePolicy {
        let c = &self.config;
        PrunePolicy {
            root: c.common.layout.key_prefix.clone(),
            per_project: c.common.layout.per_project_prefix,
            keep_newest: c.keep_newest,
            max_age: c.max_age,
            min_age: c.min_age,
            orphan_grace: c.orphan_grace,
            project_budget: c.project_budget,
            total_budget: c.total_budget,
            max_deletes: c.max_deletes_per_run,
            projects: c.common.projects.clone(),
        }
    }

    /// Handles one event: a scheduled event sweeps the whole cache root (resuming a stopped sweep),
    /// a SUCCEEDED build state change prunes that project's prefix, other statuses are ignored.
    pub async fn handle(&self, event: &serde_json::Value, limits: RunLimits) -> Result<PruneReport, PruneError> {
        let trigger = Trigger::parse(event)?;
        let bucket = self
            .config
            .common
            .layout
            .resolve_bucket(trigger.account(), &self.region)
            .ok_or(PruneError::UnknownAccount)?;
        let policy = self.policy();
        let dry_run = self.config.common.dry_run;
        let calls = Arc::new(ApiCalls::default());
        let mut report = match &trigger {
            Trigger::Scheduled(_) => {
                let span = info_span!("pruner", project = "*", build_id = "-", action = "sweep");
                let mut report = PruneReport::new(
                    "scheduled-sweep",
                    trigger.event_id().map(str::to_owned),
                    dry_run,
                    bucket.clone(),
                    policy.root.clone(),
                );
                self.sweep(&bucket, &policy, limits, &calls, &mut report).instrument(span).await?;
                report
            }
            Trigger::BuildStateChange(change) => {
                let span = info_span!("pruner", project = %change.project, build_id = change.build_id.as_deref().unwrap_or("-"), action = "prune-project");
                let mut report = PruneReport::new(
                    "build-state-change",
                    trigger.event_id().map(str::to_owned),
                    dry_run,
                    bucket.clone(),
                    String::new(),
                );
                report.project = Some(change.project.clone());
                report.build_id = change.build_id.clone();
                let prefix = format!("{}{}/", policy.root, change.project);
                report.prefix = prefix.clone();
                if change.status != BuildStatus::Succeeded {
                    report.ignored =
                        Some(format!("build status {}: only SUCCEEDED builds trigger pruning", change.status));
                } else if !policy.per_project {
                    report.ignored = Some("CACHE_PREFIX_PER_PROJECT=false: projects share one prefix, so only the scheduled sweep prunes it".into());
                    report.prefix = policy.root.clone();
                } else if let Err(why) = policy.projects.check(&change.project) {
                    report.ignored = Some(format!("out of scope: {why}"));
                } else {
                    let ran = self
                        .run_listing(
                            &bucket,
                            &prefix,
                            None,
                            None,
                            &policy,
                            &HashSet::new(),
                            false,
                            limits,
                            &calls,
                            &mut report,
                        )
                        .instrument(span.clone())
                        .await;
                    if let Some(stop) = ran.stop_error {
                        report.notes.push(stop);
                    }
                }
                if let Some(why) = &report.ignored {
                    span.in_scope(|| info!(action = "ignore", reason = %why, "event ignored"));
                }
                report
            }
        };
        report.api_calls = calls.snapshot();
        if report.ignored.is_none()
            && ((!dry_run && report.deleted > 0)
                || report.failed > 0
                || report.stopped.as_deref().is_some_and(|s| s.starts_with("error")))
        {
            report.notified = self.notify(&report, &calls).await;
            report.api_calls = calls.snapshot();
        }
        let level_error = report.failed > 0;
        let json = serde_json::to_string(&report).unwrap_or_default();
        if level_error {
            error!(action = "summary", scanned = report.scanned, planned = report.planned, deleted = report.deleted, bytes_freed = report.bytes_freed, failed = report.failed, finished = report.finished, report = %json, "pruner run finished with errors");
        } else {
            info!(action = "summary", scanned = report.scanned, planned = report.planned, deleted = report.deleted, bytes_freed = report.bytes_freed, failed = report.failed, finished = report.finished, report = %json, "pruner run finished");
        }
        Ok(report)
    }

    async fn sweep(
        &self,
        bucket: &str,
        policy: &PrunePolicy,
        limits: RunLimits,
        calls: &Arc<ApiCalls>,
        report: &mut PruneReport,
    ) -> Result<(), PruneError> {
        let store = StateStore::new(self.s3.clone(), bucket);
        calls.add("s3:GetObject", 1);
        let now = self.clock.now();
        let previous = match store.load().await.map_err(PruneError::State)? {
            Loaded::State(state) if state.root == policy.root && state.start_after.is_some() => Some(state),
            Loaded::State(_) | Loaded::None => None,
            Loaded::Unreadable(why) => {
                warn!(action = "state", reason = %why, "pruner state unusable: the sweep starts over");
                report.notes.push(format!("state {STATE_KEY} unusable ({why}): the sweep started over"));
                None
            }
        };
        let start_after = previous.as_ref().and_then(|s| s.start_after.clone());
        let carry = previous.as_ref().and_then(|s| s.carry.clone());
        report.resumed_after = start_after.clone();

        report.versioning = self.versioning(bucket, calls).await;
        if let Some(status) = report.versioning.as_deref().filter(|s| *s == "Enabled" || *s == "Suspended") {
            report.notes.push(format!(
                "bucket versioning is {status}: deleting adds delete markers and the old versions keep their storage until a lifecycle rule with NoncurrentVersionExpiration (and ExpiredObjectDeleteMarker) removes them"
            ));
        }

        let missing = if policy.per_project {
            self.missing_projects(bucket, policy, start_after.as_deref(), calls, report).await
        } else {
            HashSet::new()
        };
        let ran = self
            .run_listing(
                bucket,
                &policy.root,
                start_after.clone(),
                carry,
                policy,
                &missing,
                start_after.is_none(),
                limits,
                calls,
                report,
            )
            .await;
        if let Some(stop) = ran.stop_error {
            report.notes.push(stop);
        }

        if self.config.common.dry_run {
            if !report.finished {
                report.notes.push("dry run: the state is not saved, so the next dry run starts over".into());
            }
            return Ok(());
        }
        let next = if report.finished {
            None
        } else {
            let runs = previous.as_ref().map_or(0, |s| s.runs) + 1;
            let started = previous.as_ref().map_or(now, |s| s.sweep_started);
            ran.resume_after.clone().map(|key| SweepState {
                version: SweepState::VERSION,
                root: policy.root.clone(),
                start_after: Some(key),
                carry: ran.carry.clone(),
                sweep_started: started,
                runs,
            })
        };
        let save = match (&next, &previous) {
            (Some(state), _) => Some(state.clone()),
            // A finished sweep clears the resume point (no write when there was none).
            (None, Some(prev)) => {
                Some(SweepState { start_after: None, carry: None, runs: prev.runs + 1, ..prev.clone() })
            }
            (None, None) => None,
        };
        report.resume_after = next.as_ref().and_then(|s| s.start_after.clone());
        if let Some(state) = save {
            calls.add("s3:PutObject", 1);
            match store.save(&state).await {
                Ok(()) => info!(
                    action = "state",
                    start_after = state.start_after.as_deref().unwrap_or("-"),
                    "pruner state saved"
                ),
                Err(e) => {
                    error!(action = "state", error = %e, "could not save the pruner state: the next run starts over");
                    report.notes.push(format!("could not save the state: {e}"));
                }
            }
        }
        Ok(())
    }

    /// GetBucketVersioning: one cheap call per sweep so the report can say what deletions leave behind.
    async fn versioning(&self, bucket: &str, calls: &ApiCalls) -> Option<String> {
        calls.add("s3:GetBucketVersioning", 1);
        match self.s3.get_bucket_versioning().bucket(bucket).send().await {
            Ok(out) => Some(out.status().map(|s| s.as_str().to_owned()).unwrap_or_else(|| "Disabled".into())),
            Err(e) => {
                let e = AwsError::from_sdk("s3:GetBucketVersioning", e);
                warn!(action = "versioning", error = %e, "cannot read the bucket's versioning status");
                Some(format!("unknown ({})", e.code))
            }
        }
    }

    /// The projects under the root (a delimiter listing: one call per 1,000 projects) that CodeBuild
    /// no longer knows (BatchGetProjects, 100 names a call). On failure none is treated as missing.
    async fn missing_projects(
        &self,
        bucket: &str,
        policy: &PrunePolicy,
        start_after: Option<&str>,
        calls: &ApiCalls,
        report: &mut PruneReport,
    ) -> HashSet<String> {
        let mut names = Vec::new();
        let mut request = self.s3.list_objects_v2().bucket(bucket).prefix(&policy.root).delimiter("/");
        if let Some(key) = start_after {
            request = request.start_after(key);
        }
        let mut pages = request.into_paginator().send();
        while let Some(page) = pages.next().await {
            calls.add("s3:ListObjectsV2(delimiter)", 1);
            match page {
                Ok(page) => {
                    for prefix in page.common_prefixes().iter().filter_map(|p| p.prefix()) {
                        let name = prefix[policy.root.len().min(prefix.len())..].trim_end_matches('/');
                        // Only valid CodeBuild project names are asked about (an invalid name would fail
                        // the whole batch); any other folder is never treated as an orphan.
                        let valid = crate::event::validate_project_name(name).is_ok();
                        if valid && !prefix.starts_with(crate::RESERVED_PREFIX) && policy.projects.check(name).is_ok() {
                            names.push(name.to_owned());
                        }
                    }
                }
                Err(e) => {
                    let e = AwsError::from_sdk("s3:ListObjectsV2", e);
                    warn!(action = "orphans", error = %e, "cannot list project prefixes: orphan detection off for this run");
                    report.notes.push(format!("orphan detection off for this run: {e}"));
                    return HashSet::new();
                }
            }
        }
        if names.is_empty() {
            return HashSet::new();
        }
        calls.add("codebuild:BatchGetProjects", names.len().div_ceil(crate::aws::codebuild::BATCH_LIMIT) as u64);
        match self.projects.get(&names).await {
            Ok((_, missing)) => {
                if !missing.is_empty() {
                    info!(action = "orphans", count = missing.len(), projects = ?missing, "prefixes of projects that no longer exist");
                }
                missing.into_iter().collect()
            }
            Err(e) => {
                warn!(action = "orphans", error = %e, "cannot check which projects exist: orphan detection off for this run");
                report.notes.push(format!("orphan detection off for this run: {e}"));
                HashSet::new()
            }
        }
    }

    /// Lists `prefix` page by page (the next page is requested while this one is planned and its
    /// deletions are in flight), plans, deletes.
    #[allow(clippy::too_many_arguments)]
    async fn run_listing(
        &self,
        bucket: &str,
        prefix: &str,
        start_after: Option<String>,
        carry: Option<super::plan::Carry>,
        policy: &PrunePolicy,
        missing: &HashSet<String>,
        whole_root: bool,
        limits: RunLimits,
        calls: &Arc<ApiCalls>,
        report: &mut PruneReport,
    ) -> Ran {
        let mut planner = Planner::new(policy, self.clock.now(), missing, carry);
        let mut deleter = Deleter::new(
            self.s3.clone(),
            bucket.to_owned(),
            policy.clone(),
            self.config.delete_concurrency,
            self.config.common.dry_run,
            calls.clone(),
        );
        let mut out = Vec::new();
        let mut pages = 0usize;
        let mut stop: Option<String> = None;
        let mut stop_error = None;
        let mut next = Some(tokio::spawn(list_page(
            self.s3.clone(),
            bucket.to_owned(),
            prefix.to_owned(),
            start_after.clone(),
            None,
            calls.clone(),
        )));
        let mut finished = false;
        while let Some(request) = next.take() {
            let page = match request.await {
                Ok(Ok(page)) => page,
                Ok(Err(e)) => {
                    error!(action = "list", error = %e, "listing failed: the run stops here");
                    stop = Some(format!("error: {e}"));
                    stop_error = Some(e.to_string());
                    break;
                }
                Err(e) => {
                    stop = Some(format!("error: listing task failed: {e}"));
                    break;
                }
            };
            pages += 1;
            let limit = limits.expired(pages);
            if let (Some(token), None) = (page.next_token.clone(), limit) {
                next = Some(tokio::spawn(list_page(
                    self.s3.clone(),
                    bucket.to_owned(),
                    prefix.to_owned(),
                    None,
                    Some(token),
                    calls.clone(),
                )));
            }
            for object in page.objects {
                planner.push(object, &mut out);
                if planner.capped() {
                    break;
                }
            }
            for deletion in out.drain(..) {
                deleter.add(deletion).await;
            }
            if deleter.aborted.is_some() {
                stop = deleter.aborted.clone();
                next = None;
                break;
            }
            if planner.capped() {
                stop = Some(format!("cap of {} deletions per run reached", policy.max_deletes));
                next = None;
                break;
            }
            if page.next_token.is_none() {
                finished = true;
                break;
            }
            if let Some(why) = limit {
                stop = Some(why.to_owned());
                break;
            }
        }
        if let Some(pending) = next.take() {
            pending.abort();
        }
        let resume_after = planner.last_key().map(str::to_owned).or(start_after);
        let (summary, carry) = if finished {
            planner.end_listing(whole_root, &mut out);
            loop {
                // Total-budget deletions come in batches, each handed to S3 before the next.
                let more = planner.drain_budget(&mut out, DELETE_BATCH);
                for deletion in out.drain(..) {
                    deleter.add(deletion).await;
                }
                if !more {
                    break;
                }
            }
            (planner.into_summary(), None)
        } else {
            planner.suspend()
        };
        let outcome = deleter.finish().await;
        report.absorb(summary);
        report.finished = finished;
        report.stopped = stop.clone();
        outcome.apply(report);
        if let Some(why) = &stop {
            info!(action = "stop", reason = %why, resume_after = resume_after.as_deref().unwrap_or("-"), "run stopped before the end of the listing");
        }
        Ran { resume_after: if finished { None } else { resume_after }, carry, stop_error }
    }

    async fn notify(&self, report: &PruneReport, calls: &ApiCalls) -> bool {
        let severity = if report.failed > 0 || report.stopped.as_deref().is_some_and(|s| s.starts_with("error")) {
            Severity::Error
        } else {
            Severity::Info
        };
        let scope = report.project.as_deref().unwrap_or("cache root");
        let subject = if report.failed > 0 {
            format!("cache-pruner: {} deletions failed in {}", report.failed, report.bucket)
        } else {
            format!(
                "cache-pruner freed {} in {} ({} objects)",
                human(report.bytes_freed),
                report.bucket,
                report.deleted
            )
        };
        let mut body = format!(
            "cache-pruner pruned s3://{}/{} ({scope}).\n\nScanned:  {} objects, {}\nDeleted:  {} objects, {}\nFailed:   {}\nFinished: {}{}\n",
            report.bucket,
            report.prefix,
            report.scanned,
            human(report.bytes_scanned),
            report.deleted,
            human(report.bytes_freed),
            report.failed,
            report.finished,
            report.stopped.as_deref().map(|s| format!(" (stopped: {s})")).unwrap_or_default()
        );
        if !report.by_reason.is_empty() {
            body.push_str("\nBy reason:\n");
            for (reason, n) in &report.by_reason {
                body.push_str(&format!("  {:<15} {n}\n", reason.as_str()));
            }
        }
        let busiest = {
            let mut v: Vec<_> = report.projects.iter().filter(|(_, p)| p.deleted > 0 || p.failed > 0).collect();
            v.sort_by_key(|(_, p)| std::cmp::Reverse(p.bytes_freed));
            v
        };
        if !busiest.is_empty() {
            body.push_str("\nProjects:\n");
            for (name, p) in busiest.iter().take(50) {
                body.push_str(&format!(
                    "  {name}: {} deleted ({}), {} failed\n",
                    p.deleted,
                    human(p.bytes_freed),
                    p.failed
                ));
            }
        }
        if !report.errors.is_empty() {
            body.push_str("\nErrors (first ones):\n");
            for e in report.errors.iter().take(20) {
                body.push_str(&format!("  {}: {} {} (after {} attempts)\n", e.key, e.code, e.message, e.attempts));
            }
        }
        for note in &report.notes {
            body.push_str(&format!("\nNote: {note}\n"));
        }
        let notice = Notice::new(&subject, &body, severity)
            .with_attribute("function", "cache-pruner")
            .with_attribute("project", report.project.as_deref().unwrap_or("*"))
            .with_attribute("action", if report.failed > 0 { "failed" } else { "pruned" });
        if self.publisher.topic_arn().is_some() {
            calls.add("sns:Publish", 1);
        }
        matches!(self.publisher.publish_logged(&notice).await, Ok(Some(_)))
    }
}

struct Ran {
    resume_after: Option<String>,
    carry: Option<super::plan::Carry>,
    stop_error: Option<String>,
}

struct Page {
    objects: Vec<ObjectMeta>,
    next_token: Option<String>,
}

async fn list_page(
    s3: Client,
    bucket: String,
    prefix: String,
    start_after: Option<String>,
    token: Option<String>,
    calls: Arc<ApiCalls>,
) -> Result<Page, AwsError> {
    calls.add("s3:ListObjectsV2", 1);
    let out = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .set_start_after(start_after)
        .set_continuation_token(token)
        .max_keys(1000)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("s3:ListObjectsV2", e))?;
    let objects = out
        .contents()
        .iter()
        .filter_map(|o| {
            let key = o.key()?.to_owned();
            // No timestamp: treat as brand new, so it is never deleted.
            let last_modified_ms = o.last_modified().and_then(|t| t.to_millis().ok()).unwrap_or(i64::MAX);
            Some(ObjectMeta { key, size: o.size().unwrap_or(0).max(0) as u64, last_modified_ms })
        })
        .collect();
    let next_token =
        if out.is_truncated() == Some(true) { out.next_continuation_token().map(str::to_owned) } else { None };
    Ok(Page { objects, next_token })
}

/// What the delete batches achieved.
#[derive(Default)]
struct DeleteOutcome {
    deleted: HashMap<String, (u64, u64)>,
    failed: HashMap<String, u64>,
    errors: Vec<KeyError>,
    failed_total: u64,
    sample: Vec<Deletion>,
}

impl DeleteOutcome {
    fn apply(self, report: &mut PruneReport) {
        for (project, (n, bytes)) in self.deleted {
            let p = report.projects.entry(project).or_default();
            p.deleted += n;
            p.bytes_freed += bytes;
            report.deleted += n;
            report.bytes_freed += bytes;
        }
        for (project, n) in self.failed {
            report.projects.entry(project).or_default().failed += n;
        }
        report.failed += self.failed_total;
        report.errors.extend(self.errors);
        report.deletions = self.sample;
    }
}

struct BatchResult {
    deleted: Vec<(String, u64)>,
    failed: Vec<(String, KeyError)>,
    call_error: Option<AwsError>,
}

/// Batches deletions by 1,000 and keeps at most `concurrency` DeleteObjects calls in flight.
struct Deleter {
    s3: Client,
    bucket: String,
    policy: PrunePolicy,
    concurrency: usize,
    dry_run: bool,
    calls: Arc<ApiCalls>,
    pending: Vec<Deletion>,
    in_flight: JoinSet<BatchResult>,
    outcome: DeleteOutcome,
    aborted: Option<String>,
}

impl Deleter {
    fn new(
        s3: Client,
        bucket: String,
        policy: PrunePolicy,
        concurrency: usize,
        dry_run: bool,
        calls: Arc<ApiCalls>,
    ) -> Self {
        Deleter {
            s3,
            bucket,
            policy,
            concurrency,
            dry_run,
            calls,
            pending: Vec::with_capacity(DELETE_BATCH),
            in_flight: JoinSet::new(),
            outcome: DeleteOutcome::default(),
            aborted: None,
        }
    }

    async fn add(&mut self, deletion: Deletion) {
        if self.outcome.sample.len() < REPORTED_DELETIONS {
            self.outcome.sample.push(deletion.clone());
        }
        if self.dry_run {
            info!(action = "would-delete", project = %deletion.project, key = %deletion.key, size = deletion.size, reason = deletion.reason.as_str(), "dry run: would delete");
            return;
        }
        if self.aborted.is_some() {
            return;
        }
        self.pending.push(deletion);
        if self.pending.len() >= DELETE_BATCH {
            self.dispatch().await;
        }
    }

    async fn dispatch(&mut self) {
        if self.pending.is_empty() {
            return;
        }
        while self.in_flight.len() >= self.concurrency {
            self.collect_one().await;
        }
        let batch = std::mem::replace(&mut self.pending, Vec::with_capacity(DELETE_BATCH));
        self.in_flight.spawn(delete_batch(
            self.s3.clone(),
            self.bucket.clone(),
            self.policy.clone(),
            batch,
            self.calls.clone(),
        ));
    }

    async fn collect_one(&mut self) {
        let Some(joined) = self.in_flight.join_next().await else {
            return;
        };
        let result = match joined {
            Ok(result) => result,
            Err(e) => {
                self.aborted = Some(format!("error: a delete task failed: {e}"));
                return;
            }
        };
        for (project, size) in result.deleted {
            let entry = self.outcome.deleted.entry(project).or_default();
            entry.0 += 1;
            entry.1 += size;
        }
        for (project, err) in result.failed {
            *self.outcome.failed.entry(project).or_default() += 1;
            self.outcome.failed_total += 1;
            if self.outcome.errors.len() < REPORTED_ERRORS {
                self.outcome.errors.push(err);
            }
        }
        if let Some(e) = result.call_error
            && (e.is(AwsErrorKind::AccessDenied) || e.is(AwsErrorKind::NotFound))
        {
            self.aborted = Some(format!("error: {e}"));
        }
    }

    async fn finish(mut self) -> DeleteOutcome {
        self.dispatch().await;
        while !self.in_flight.is_empty() {
            self.collect_one().await;
        }
        self.outcome
    }
}

/// One DeleteObjects call (Quiet) and retries of the keys it reports in `Errors`, with backoff.
async fn delete_batch(
    s3: Client,
    bucket: String,
    policy: PrunePolicy,
    batch: Vec<Deletion>,
    calls: Arc<ApiCalls>,
) -> BatchResult {
    let mut result = BatchResult { deleted: vec![], failed: vec![], call_error: None };
    let mut todo: HashMap<String, Deletion> = HashMap::with_capacity(batch.len());
    for deletion in batch {
        // The last line of defence: every key is checked before every delete call.
        if policy.may_delete(&deletion.key) {
            todo.insert(deletion.key.clone(), deletion);
        } else {
            error!(action = "refuse", key = %deletion.key, "refused to delete a key outside the cache root or under the reserved prefix");
            let err = KeyError {
                key: deletion.key.clone(),
                code: "Refused".into(),
                message: "outside the cache root or reserved".into(),
                attempts: 0,
            };
            result.failed.push((deletion.project, err));
        }
    }
    let mut attempt = 0;
    let mut last_errors: HashMap<String, (String, String)> = HashMap::new();
    while !todo.is_empty() && attempt < KEY_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
        }
        attempt += 1;
        let identifiers: Vec<ObjectIdentifier> =
            todo.keys().filter_map(|k| ObjectIdentifier::builder().key(k).build().ok()).collect();
        let delete = match Delete::builder().set_objects(Some(identifiers)).quiet(true).build() {
            Ok(delete) => delete,
            Err(e) => {
                result.call_error = Some(AwsError {
                    operation: "s3:DeleteObjects",
                    kind: AwsErrorKind::InvalidInput,
                    code: "BuildError".into(),
                    message: e.to_string(),
                });
                break;
            }
        };
        calls.add("s3:DeleteObjects", 1);
        match s3.delete_objects().bucket(&bucket).delete(delete).send().await {
            Ok(out) => {
                let mut retry: HashMap<String, Deletion> = HashMap::new();
                for e in out.errors() {
                    let Some(key) = e.key() else { continue };
                    let Some(d) = todo.remove(key) else { continue };
                    let code = e.code().unwrap_or("Unknown").to_owned();
                    let message = e.message().unwrap_or_default().to_owned();
                    if PERMANENT_KEY_ERRORS.contains(&code.as_str()) {
                        // A retry will not heal these: reported at once.
                        error!(action = "delete", project = %d.project, key = %key, code = %code, message = %message, attempts = attempt, "could not delete");
                        result
                            .failed
                            .push((d.project, KeyError { key: key.to_owned(), code, message, attempts: attempt }));
                    } else {
                        last_errors.insert(key.to_owned(), (code, message));
                        retry.insert(key.to_owned(), d);
                    }
                }
                // Quiet mode: every key not in Errors was deleted.
                for (_, d) in todo.drain() {
                    info!(action = "delete", project = %d.project, key = %d.key, reason = d.reason.as_str(), size = d.size, "deleted");
                    result.deleted.push((d.project, d.size));
                }
                todo = retry;
                if !todo.is_empty() && attempt < KEY_ATTEMPTS {
                    warn!(
                        action = "delete",
                        failed = todo.len(),
                        attempt,
                        "DeleteObjects reported per-key errors: retrying them"
                    );
                }
            }
            Err(e) => {
                let e = AwsError::from_sdk("s3:DeleteObjects", e);
                error!(action = "delete", error = %e, keys = todo.len(), "DeleteObjects failed");
                for key in todo.keys() {
                    last_errors.insert(key.clone(), (e.code.clone(), e.message.clone()));
                }
                result.call_error = Some(e);
                break;
            }
        }
    }
    for (key, d) in todo {
        let (code, message) = last_errors.remove(&key).unwrap_or_else(|| ("Unknown".into(), "not deleted".into()));
        error!(action = "delete", project = %d.project, key = %key, code = %code, message = %message, attempts = attempt, "could not delete");
        result.failed.push((d.project, KeyError { key, code, message, attempts: attempt }));
    }
    result
}

fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 { format!("{bytes} B") } else { format!("{value:.1} {}", UNITS[unit]) }
}

#[cfg(test)]
mod deadline_tests {
    use super::*;

    #[test]
    fn the_deadline_leaves_the_margin() {
        let now = SystemTime::now();
        let before = Instant::now();
        let limits = RunLimits::before_deadline(now + Duration::from_secs(900), now, Duration::from_secs(30));
        let deadline = limits.deadline.expect("a deadline");
        assert!(deadline >= before + Duration::from_secs(870) && deadline <= Instant::now() + Duration::from_secs(870));
        // Already past, or within the margin: the deadline is now (one page, then stop).
        let past = RunLimits::before_deadline(now - Duration::from_secs(5), now, Duration::from_secs(30));
        assert!(past.deadline.expect("a deadline") <= Instant::now());
        let close = RunLimits::before_deadline(now + Duration::from_secs(10), now, Duration::from_secs(30));
        assert!(close.deadline.expect("a deadline") <= Instant::now());
        assert_eq!(close.max_pages, None);
    }
}

#[cfg(test)]
mod tests {
    //! DeleteObjects answers 200 with per-key `Errors` (documented S3 behaviour the emulator never
    //! shows): the adapter is tested against mocked S3 responses.
    use super::*;
    use crate::clock::FixedClock;
    use crate::config::CommonConfig;
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_s3::operation::delete_objects::DeleteObjectsOutput;
    use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
    use aws_sdk_s3::types::{DeletedObject, Error as S3KeyError, Object};
    use aws_smithy_mocks::{MockResponseInterceptor, Rule, RuleMode, create_mock_http_client, mock};
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    fn listed(key: &str, days_old: i64) -> Object {
        let t = Utc.with_ymd_and_hms(2026, 11, 20, 3, 0, 0).unwrap() - chrono::Duration::days(days_old);
        Object::builder()
            .key(key)
            .size(100)
            .last_modified(aws_smithy_types::DateTime::from_millis(t.timestamp_millis()))
            .build()
    }

    fn pruner(rules: &[&Rule], vars: &[(&str, &str)]) -> CachePruner {
        let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
        for rule in rules {
            interceptor = interceptor.with_rule(rule);
        }
        let s3 = Client::from_conf(
            aws_sdk_s3::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("ap-south-1"))
                .credentials_provider(Credentials::new("test", "test", None, None, "test"))
                .http_client(create_mock_http_client())
                .interceptor(interceptor)
                .build(),
        );
        // CodeBuild and SNS are never called in these tests (a build event, no topic): unreachable.
        let sdk = aws_config::SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("ap-south-1"))
            .endpoint_url("http://127.0.0.1:9")
            .build();
        let clients = Clients {
            codebuild: aws_sdk_codebuild::Client::new(&sdk),
            sns: aws_sdk_sns::Client::new(&sdk),
            s3,
            sdk,
            attempts: Default::default(),
        };
        let env: HashMap<String, String> = [("CACHE_BUCKET", "cache-bucket"), ("PRUNE_KEEP_NEWEST", "1")]
            .iter()
            .chain(vars)
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let config = PrunerConfig::from_env(&env).expect("config");
        assert!(CommonConfig::from_env(&env).is_ok());
        CachePruner::new(config, &clients)
            .with_clock(Arc::new(FixedClock(Utc.with_ymd_and_hms(2026, 11, 20, 3, 0, 0).unwrap())))
    }

    fn succeeded() -> serde_json::Value {
        let mut event: serde_json::Value =
            serde_json::from_str(include_str!("../../../events/build-succeeded.json")).unwrap();
        event["detail"]["project-name"] = json!("tts");
        event
    }

    fn listing() -> Rule {
        mock!(Client::list_objects_v2).match_requests(|r| r.prefix() == Some("tts/")).then_output(|| {
            ListObjectsV2Output::builder()
                .contents(listed("tts/a", 90))
                .contents(listed("tts/b", 80))
                .contents(listed("tts/c", 70))
                .contents(listed("tts/d", 1))
                .is_truncated(false)
                .key_count(4)
                .build()
        })
    }

    fn key_error(key: &str, code: &str) -> S3KeyError {
        S3KeyError::builder().key(key).code(code).message(format!("{code} for {key}")).build()
    }

    #[tokio::test]
    async fn per_key_errors_are_retried_then_counted_as_deleted() {
        let list = listing();
        // First answer: 200 with b in Errors; the retry carries only b and succeeds.
        let delete = mock!(Client::delete_objects)
            .sequence()
            .output(|| DeleteObjectsOutput::builder().errors(key_error("tts/b", "InternalError")).build())
            .output(|| DeleteObjectsOutput::builder().build())
            .build();
        let retry_only_b = mock!(Client::delete_objects).then_output(|| {
            DeleteObjectsOutput::builder().deleted(DeletedObject::builder().key("unexpected").build()).build()
        });
        let p = pruner(&[&list, &delete, &retry_only_b], &[]);
        let report = p.handle(&succeeded(), RunLimits::default()).await.expect("report");
        assert_eq!(report.planned, 3, "{report:#?}");
        assert_eq!(report.deleted, 3, "{report:#?}");
        assert_eq!(report.failed, 0);
        assert_eq!(delete.num_calls(), 2);
        assert_eq!(retry_only_b.num_calls(), 0);
        assert_eq!(report.api_calls.get("s3:DeleteObjects"), Some(&2));
        assert!(report.finished);
    }

    #[tokio::test]
    async fn keys_that_keep_failing_are_reported_never_dropped() {
        let list = listing();
        let delete = mock!(Client::delete_objects)
            .match_requests(|r| r.delete().is_some_and(|d| d.quiet() == Some(true)))
            .sequence()
            .output(|| {
                DeleteObjectsOutput::builder()
                    .errors(key_error("tts/a", "AccessDenied"))
                    .errors(key_error("tts/c", "SlowDown"))
                    .build()
            })
            .output(|| DeleteObjectsOutput::builder().errors(key_error("tts/c", "SlowDown")).build())
            .times(KEY_ATTEMPTS as usize - 1)
            .build();
        let p = pruner(&[&list, &delete], &[]);
        let report = p.handle(&succeeded(), RunLimits::default()).await.expect("report");
        assert_eq!((report.planned, report.deleted, report.failed), (3, 1, 2), "{report:#?}");
        let mut errors: Vec<_> = report.errors.iter().map(|e| (e.key.as_str(), e.code.as_str(), e.attempts)).collect();
        errors.sort();
        assert_eq!(errors, vec![("tts/a", "AccessDenied", 1), ("tts/c", "SlowDown", KEY_ATTEMPTS)]);
        assert_eq!(report.projects["tts"].failed, 2);
        assert_eq!(report.projects["tts"].deleted, 1);
        assert_eq!(delete.num_calls(), KEY_ATTEMPTS as usize);
    }

    #[tokio::test]
    async fn the_delete_call_refuses_keys_outside_the_root_or_reserved() {
        let delete = mock!(Client::delete_objects)
            .match_requests(|r| r.delete().is_some_and(|d| d.objects().iter().all(|o| o.key() == "cache/tts/a")))
            .then_output(|| DeleteObjectsOutput::builder().build());
        let p = pruner(&[&delete], &[("CACHE_KEY_PREFIX", "cache")]);
        let policy = p.policy();
        let deletion = |key: &str| Deletion {
            key: key.into(),
            project: "tts".into(),
            size: 1,
            last_modified_ms: 0,
            reason: Reason::MaxAge,
        };
        let batch = vec![
            deletion("cache/tts/a"),
            deletion("other/tts/a"),
            deletion(".cache-sentinel/pruner/state.json"),
            deletion("cache/"),
        ];
        let result =
            delete_batch(p.s3.clone(), "cache-bucket".into(), policy, batch, Arc::new(ApiCalls::default())).await;
        assert_eq!(result.deleted, vec![("tts".to_owned(), 1)]);
        let refused: Vec<_> = result.failed.iter().map(|(_, e)| (e.key.as_str(), e.code.as_str())).collect();
        assert_eq!(
            refused,
            vec![("other/tts/a", "Refused"), (".cache-sentinel/pruner/state.json", "Refused"), ("cache/", "Refused")]
        );
        assert_eq!(delete.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_versioned_bucket_is_reported_with_the_lifecycle_backstop() {
        // moto 5.2.1 answers GetBucketVersioning with a non-standard root element the SDK rejects,
        // so this follows the documented response instead.
        use aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput;
        use aws_sdk_s3::operation::get_object::GetObjectError;
        use aws_sdk_s3::types::BucketVersioningStatus;
        use aws_sdk_s3::types::error::NoSuchKey;
        let state = mock!(Client::get_object).then_error(|| GetObjectError::NoSuchKey(NoSuchKey::builder().build()));
        let versioning = mock!(Client::get_bucket_versioning)
            .then_output(|| GetBucketVersioningOutput::builder().status(BucketVersioningStatus::Enabled).build());
        let list = mock!(Client::list_objects_v2)
            .then_output(|| ListObjectsV2Output::builder().is_truncated(false).key_count(0).build());
        let p = pruner(&[&state, &versioning, &list], &[]);
        let event =
            json!({"source": "aws.events", "detail-type": "Scheduled Event", "account": "123456789012", "detail": {}});
        let report = p.handle(&event, RunLimits::default()).await.expect("report");
        assert_eq!(report.versioning.as_deref(), Some("Enabled"));
        assert!(report.notes.iter().any(|n| n.contains("NoncurrentVersionExpiration")), "{:?}", report.notes);
        assert!(report.finished);
        // The delimiter listing to find projects, then the listing itself.
        assert_eq!(list.num_calls(), 2);
        assert_eq!(report.api_calls.get("s3:GetBucketVersioning"), Some(&1));
    }

    #[tokio::test]
    async fn other_build_statuses_are_ignored_without_any_call() {
        let list = listing();
        let p = pruner(&[&list], &[]);
        let mut event = succeeded();
        event["detail"]["build-status"] = json!("FAILED");
        let report = p.handle(&event, RunLimits::default()).await.expect("ignored is not an error");
        assert!(report.ignored.as_deref().is_some_and(|s| s.contains("FAILED")), "{report:?}");
        assert_eq!(list.num_calls(), 0);
        assert!(report.api_calls.is_empty());
    }

    #[tokio::test]
    async fn dry_run_sends_no_delete() {
        let list = listing();
        let delete = mock!(Client::delete_objects).then_output(|| DeleteObjectsOutput::builder().build());
        let p = pruner(&[&list, &delete], &[("DRY_RUN", "true")]);
        let report = p.handle(&succeeded(), RunLimits::default()).await.expect("report");
        assert_eq!((report.planned, report.deleted), (3, 0));
        assert_eq!(delete.num_calls(), 0);
        let reasons: Vec<_> = report.deletions.iter().map(|d| (d.key.as_str(), d.reason)).collect();
        assert_eq!(reasons, vec![("tts/a", Reason::MaxAge), ("tts/b", Reason::MaxAge), ("tts/c", Reason::MaxAge)]);
    }
}
