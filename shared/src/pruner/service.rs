//! The pruner's entry point: one event in, one report out. A schedule sweeps the whole cache root
//! (resuming a stopped sweep), a SUCCEEDED build prunes that project's prefix; the listing itself
//! is a [`SweepRun`], the text of the notice is [`notice`](super::notice).

use super::PrunerConfig;
use super::calls::ApiCalls;
use super::limits::RunLimits;
use super::notice;
use super::plan::PrunePolicy;
use super::report::PruneReport;
use super::run::{Ran, RunContext, SweepRun};
use super::state::{Loaded, STATE_KEY, StateStore, SweepState};
use crate::aws::Clients;
use crate::aws::codebuild::CodeBuildProjects;
use crate::aws::s3_objects::{self, ListRequest};
use crate::aws::sns::SnsPublisher;
use crate::clock::{Clock, SystemClock};
use crate::error::AwsError;
use crate::event::{BuildStateChange, BuildStatus, EventError, Trigger};
use aws_sdk_s3::Client;
use std::collections::HashSet;
use std::sync::Arc;
use tracing::{Instrument, error, info, info_span, warn};

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

    pub(crate) fn policy(&self) -> PrunePolicy {
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

    fn context(&self, bucket: &str, calls: &Arc<ApiCalls>) -> RunContext {
        RunContext {
            s3: self.s3.clone(),
            bucket: bucket.to_owned(),
            now: self.clock.now(),
            delete_concurrency: self.config.delete_concurrency,
            dry_run: self.config.common.dry_run,
            calls: calls.clone(),
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
        let calls = Arc::new(ApiCalls::default());
        let event_id = trigger.event_id().map(str::to_owned);
        let mut report = match &trigger {
            Trigger::Scheduled(_) => {
                let span = info_span!("pruner", project = "*", build_id = "-", action = "sweep");
                let mut report = PruneReport::new(
                    "scheduled-sweep",
                    event_id,
                    self.config.common.dry_run,
                    bucket.clone(),
                    self.policy().root,
                );
                self.sweep(&bucket, limits, &calls, &mut report).instrument(span).await?;
                report
            }
            Trigger::BuildStateChange(change) => self.prune_project(change, &bucket, event_id, limits, &calls).await,
        };
        report.api_calls = calls.snapshot();
        if notice::worth_notifying(&report) {
            if self.publisher.topic_arn().is_some() {
                calls.add("sns:Publish", 1);
            }
            report.notified = matches!(self.publisher.publish_logged(&notice::summary(&report)).await, Ok(Some(_)));
            report.api_calls = calls.snapshot();
        }
        log_summary(&report);
        Ok(report)
    }

    /// A build state change: SUCCEEDED prunes the project's prefix; anything else is ignored.
    async fn prune_project(
        &self,
        change: &BuildStateChange,
        bucket: &str,
        event_id: Option<String>,
        limits: RunLimits,
        calls: &Arc<ApiCalls>,
    ) -> PruneReport {
        let span = info_span!("pruner", project = %change.project, build_id = change.build_id.as_deref().unwrap_or("-"), action = "prune-project");
        let policy = self.policy();
        let prefix = format!("{}{}/", policy.root, change.project);
        let mut report = PruneReport::new(
            "build-state-change",
            event_id,
            self.config.common.dry_run,
            bucket.to_owned(),
            prefix.clone(),
        );
        report.project = Some(change.project.clone());
        report.build_id = change.build_id.clone();
        if change.status != BuildStatus::Succeeded {
            report.ignored = Some(format!("build status {}: only SUCCEEDED builds trigger pruning", change.status));
        } else if !policy.per_project {
            report.ignored = Some(
                "CACHE_PREFIX_PER_PROJECT=false: projects share one prefix, so only the scheduled sweep prunes it"
                    .into(),
            );
            report.prefix = policy.root.clone();
        } else if let Err(why) = policy.projects.check(&change.project) {
            report.ignored = Some(format!("out of scope: {why}"));
        } else {
            let run = SweepRun {
                prefix,
                start_after: None,
                carry: None,
                policy: &policy,
                missing: &HashSet::new(),
                whole_root: false,
                limits,
            };
            let ran = run.execute(&self.context(bucket, calls), &mut report).instrument(span.clone()).await;
            if let Some(stop) = ran.stop_error {
                report.notes.push(stop);
            }
        }
        if let Some(why) = &report.ignored {
            span.in_scope(|| info!(action = "ignore", reason = %why, "event ignored"));
        }
        report
    }

    async fn sweep(
        &self,
        bucket: &str,
        limits: RunLimits,
        calls: &Arc<ApiCalls>,
        report: &mut PruneReport,
    ) -> Result<(), PruneError> {
        let policy = self.policy();
        let store = StateStore::new(self.s3.clone(), bucket);
        calls.add("s3:GetObject", 1);
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
        report.resumed_after = start_after.clone();
        report.versioning = Some(self.versioning(bucket, calls).await);
        if let Some(status) = report.versioning.as_deref().filter(|s| *s == "Enabled" || *s == "Suspended") {
            report.notes.push(format!(
                "bucket versioning is {status}: deleting adds delete markers and the old versions keep their storage until a lifecycle rule with NoncurrentVersionExpiration (and ExpiredObjectDeleteMarker) removes them"
            ));
        }
        let missing = if policy.per_project {
            self.missing_projects(bucket, &policy, start_after.as_deref(), calls, report).await
        } else {
            HashSet::new()
        };
        let run = SweepRun {
            prefix: policy.root.clone(),
            start_after: start_after.clone(),
            carry: previous.as_ref().and_then(|s| s.carry.clone()),
            policy: &policy,
            missing: &missing,
            whole_root: start_after.is_none(),
            limits,
        };
        let ran = run.execute(&self.context(bucket, calls), report).await;
        if let Some(stop) = &ran.stop_error {
            report.notes.push(stop.clone());
        }
        if self.config.common.dry_run {
            if !report.finished {
                report.notes.push("dry run: the state is not saved, so the next dry run starts over".into());
            }
            return Ok(());
        }
        self.save_state(&store, &policy, previous, ran, calls, report).await;
        Ok(())
    }

    /// Records where the sweep stopped (or that it finished) for the next run.
    async fn save_state(
        &self,
        store: &StateStore,
        policy: &PrunePolicy,
        previous: Option<SweepState>,
        ran: Ran,
        calls: &ApiCalls,
        report: &mut PruneReport,
    ) {
        let next = if report.finished {
            None
        } else {
            let runs = previous.as_ref().map_or(0, |s| s.runs) + 1;
            let started = previous.as_ref().map_or(self.clock.now(), |s| s.sweep_started);
            ran.resume_after.map(|key| SweepState {
                version: SweepState::VERSION,
                root: policy.root.clone(),
                start_after: Some(key),
                carry: ran.carry,
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
        let Some(state) = save else { return };
        calls.add("s3:PutObject", 1);
        match store.save(&state).await {
            Ok(()) => {
                info!(action = "state", start_after = state.start_after.as_deref().unwrap_or("-"), "pruner state saved")
            }
            Err(e) => {
                error!(action = "state", error = %e, "could not save the pruner state: the next run starts over");
                report.notes.push(format!("could not save the state: {e}"));
            }
        }
    }

    /// GetBucketVersioning: one cheap call per sweep so the report can say what deletions leave behind.
    async fn versioning(&self, bucket: &str, calls: &ApiCalls) -> String {
        calls.add("s3:GetBucketVersioning", 1);
        match s3_objects::bucket_versioning(&self.s3, bucket).await {
            Ok(status) => status,
            Err(e) => {
                warn!(action = "versioning", error = %e, "cannot read the bucket's versioning status");
                format!("unknown ({})", e.code)
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
        let mut token: Option<String> = None;
        loop {
            calls.add("s3:ListObjectsV2(delimiter)", 1);
            let request = ListRequest {
                prefix: &policy.root,
                delimiter: Some("/"),
                start_after: if token.is_none() { start_after } else { None },
                continuation_token: token.as_deref(),
            };
            let page = match s3_objects::list_page(&self.s3, bucket, request).await {
                Ok(page) => page,
                Err(e) => {
                    warn!(action = "orphans", error = %e, "cannot list project prefixes: orphan detection off for this run");
                    report.notes.push(format!("orphan detection off for this run: {e}"));
                    return HashSet::new();
                }
            };
            for prefix in &page.prefixes {
                let name = prefix[policy.root.len().min(prefix.len())..].trim_end_matches('/');
                // Only valid CodeBuild project names are asked about (an invalid name would fail
                // the whole batch); any other folder is never treated as an orphan.
                let valid = crate::event::validate_project_name(name).is_ok();
                if valid && !prefix.starts_with(crate::RESERVED_PREFIX) && policy.projects.check(name).is_ok() {
                    names.push(name.to_owned());
                }
            }
            token = page.next_token;
            if token.is_none() {
                break;
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
}

fn log_summary(report: &PruneReport) {
    let json = serde_json::to_string(report).unwrap_or_default();
    let (plan, outcome) = (&report.plan, &report.outcome);
    if outcome.failed > 0 {
        error!(action = "summary", scanned = plan.scanned, planned = plan.planned, deleted = outcome.deleted, bytes_freed = outcome.bytes_freed, failed = outcome.failed, finished = report.finished, report = %json, "pruner run finished with errors");
    } else {
        info!(action = "summary", scanned = plan.scanned, planned = plan.planned, deleted = outcome.deleted, bytes_freed = outcome.bytes_freed, failed = outcome.failed, finished = report.finished, report = %json, "pruner run finished");
    }
}
