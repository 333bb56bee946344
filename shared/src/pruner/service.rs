//! The pruner's entry point: one event in, one report out. A schedule sweeps every managed cache
//! location ([`sweep`](super::sweep)); a SUCCEEDED build prunes its project's location
//! ([`project_run`](super::project_run)); the notice is [`notice`](super::notice).

use super::PrunerConfig;
use super::calls::ApiCalls;
use super::delete::{DeleteQueue, Target};
use super::deployment::Deployment;
use super::freed;
use super::keeper::Keeper;
use super::lease::{Acquired, Lease, LeaseStore, RunKind, SKEW};
use super::limits::RunLimits;
use super::lister::S3Lister;
use super::notice;
use super::pager::PageLimits;
use super::plan::{PrunePolicy, RunQuota};
use super::project_run::ProjectRun;
use super::report::PruneReport;
use super::scope::Scope;
use super::sharing::{Sharing, read_policy};
use super::sweep::SweepRun;
use super::task::RunKit;
use super::waiting::{SWEEP_WAIT, SweepWaiting, WaitingStore, marker_span};
use super::writers::{BUILDS_READ, BuildSpan, Writers};
use crate::aws::Clients;
use crate::aws::codebuild::{BATCH_LIMIT, CodeBuildProjects};
use crate::aws::securityhub::SecurityHub;
use crate::aws::sns::SnsPublisher;
use crate::aws::{s3_objects, s3_records};
use crate::clock::{Clock, SystemClock};
use crate::error::AwsError;
use crate::event::{EventError, Trigger};
use crate::findings::Place;
use crate::findings::pruner::observations as pruner_observations;
use crate::findings::sink::{FindingsReport, FindingsSink};
use crate::project::ProjectSnapshot;
use aws_sdk_s3::Client;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tracing::{Instrument, error, info, info_span, warn};

/// Why an invocation failed as a whole (its report is logged, and noticed, before).
#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    #[error("invalid event: {0}")]
    Event(#[from] EventError),
    #[error(
        "cannot tell the AWS account to name the cache bucket codebuild-cache-<account>-<region>: the event has no `account`; set CACHE_BUCKET"
    )]
    UnknownAccount,
    #[error(
        "PRUNE_DEADLINE_MARGIN_SECONDS ({margin_s} s) leaves no time to work: the invocation has {remaining_s} s left; lower it below the function's timeout"
    )]
    DeadlineMargin { margin_s: u64, remaining_s: u64 },
    #[error("cannot read the pruner state: {0}")]
    State(AwsError),
    #[error("cannot learn the cache locations from CodeBuild (ListProjects, BatchGetProjects): {0}")]
    Discovery(AwsError),
    #[error("cannot take the pruner's lease: {0}")]
    Lease(AwsError),
    #[error(
        "could not save the pruner state ({}): {error}",
        if *finished { "the sweep finished; its locations' last-seen times are lost" } else { "the sweep did not finish; the next run would start over" }
    )]
    StateNotSaved { error: AwsError, finished: bool },
    #[error(
        "{failed} transient failure(s) (throttling or 5xx after the SDK's retries), first: {first}; the state is saved and a retry continues"
    )]
    Transient { failed: usize, first: AwsError },
    #[error(
        "the sweep waited {waited_s} s for the pruner's lease, which the build-event run {holder} holds until {until}; build-event runs yield to the sweep until {yield_until}, and the failed invocation is retried"
    )]
    SweepWaiting { holder: String, until: DateTime<Utc>, waited_s: u64, yield_until: DateTime<Utc> },
    #[error("the sweep's finding could not be imported into Security Hub (transient, retried): {0}")]
    Findings(AwsError),
}

impl PruneError {
    /// The AWS failure behind the error, if one is.
    pub fn aws(&self) -> Option<&AwsError> {
        match self {
            PruneError::State(e)
            | PruneError::Discovery(e)
            | PruneError::Lease(e)
            | PruneError::StateNotSaved { error: e, .. }
            | PruneError::Transient { first: e, .. }
            | PruneError::Findings(e) => Some(e),
            PruneError::Event(_)
            | PruneError::UnknownAccount
            | PruneError::DeadlineMargin { .. }
            | PruneError::SweepWaiting { .. } => None,
        }
    }

    /// The error's name as Lambda reports it (`errorType`), so logs and alarms show the cause.
    pub fn error_type(&self) -> &'static str {
        match self {
            PruneError::Event(_) => "CachePruner.InvalidEvent",
            PruneError::UnknownAccount => "CachePruner.UnknownAccount",
            PruneError::DeadlineMargin { .. } => "CachePruner.DeadlineMarginTooLarge",
            PruneError::State(_) => "CachePruner.StateUnreadable",
            PruneError::Discovery(_) => "CachePruner.DiscoveryFailed",
            PruneError::Lease(_) => "CachePruner.LeaseFailed",
            PruneError::StateNotSaved { .. } => "CachePruner.StateNotSaved",
            PruneError::Transient { .. } => "CachePruner.TransientFailure",
            PruneError::Findings(_) => "CachePruner.FindingsFailed",
            PruneError::SweepWaiting { .. } => "CachePruner.SweepWaiting",
        }
    }
}

/// The pruner, built once per cold start.
pub struct CachePruner {
    pub(super) config: PrunerConfig,
    pub(super) s3: Client,
    pub(super) projects: CodeBuildProjects,
    pub(super) publisher: SnsPublisher,
    pub(super) region: String,
    pub(super) clock: Arc<dyn Clock>,
    /// How long a sweep waits for a build-event run's lease (`waiting::SWEEP_WAIT`).
    pub(super) sweep_wait: Duration,
    /// Security Hub, when SECURITY_HUB_FINDINGS is on.
    pub(super) hub: Option<SecurityHub>,
}

/// How long a run waits for a build-event run's lease (those runs are short) before it reports the
/// location skipped.
const LEASE_WAIT: Duration = Duration::from_secs(30);
const LEASE_POLL: Duration = Duration::from_millis(500);

impl CachePruner {
    pub fn new(config: PrunerConfig, clients: &Clients) -> Self {
        CachePruner {
            publisher: SnsPublisher::new(clients.sns.clone(), config.common.topic_arn.clone())
                .naming_origin(config.common.name_origin),
            s3: clients.s3.clone(),
            projects: CodeBuildProjects::new(clients.codebuild.clone()),
            region: clients.region_or_default().to_owned(),
            clock: Arc::new(SystemClock),
            sweep_wait: SWEEP_WAIT,
            hub: SecurityHub::when_enabled(config.common.security_hub, &clients.sdk),
            config,
        }
    }

    /// Ages objects against this clock instead of the wall clock (tests, replays).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// How long a sweep waits for a build-event run's lease in one invocation (tests shorten it).
    pub fn with_sweep_wait(mut self, wait: Duration) -> Self {
        self.sweep_wait = wait;
        self
    }

    pub fn config(&self) -> &PrunerConfig {
        &self.config
    }

    pub fn policy(&self) -> PrunePolicy {
        let c = &self.config;
        PrunePolicy {
            keep_newest: c.keep_newest,
            max_age: c.max_age,
            min_age: c.min_age,
            project_budget: c.project_budget,
            total_budget: c.total_budget,
            max_deletes: c.max_deletes_per_run,
        }
    }

    /// Limits for an invocation that must end by `deadline` (see [`RunLimits::before_deadline`]);
    /// a margin that leaves no time is this invocation's error, naming the variable. A deadline
    /// more than a day in the past is no deadline: Lambda never sends one, local runtimes do
    /// (`cargo lambda watch` sends a fixed 600,000 ms after the epoch); the run then has no limit.
    pub fn limits_before(&self, deadline: std::time::SystemTime) -> Result<RunLimits, PruneError> {
        let now = std::time::SystemTime::now();
        if now.duration_since(deadline).is_ok_and(|late| late > Duration::from_secs(86_400)) {
            warn!(
                action = "deadline",
                "the runtime gave no usable deadline (a local emulator?): the run has no time limit"
            );
            return Ok(RunLimits::default());
        }
        RunLimits::before_deadline(deadline, now, self.config.deadline_margin).map_err(|remaining| {
            PruneError::DeadlineMargin {
                margin_s: self.config.deadline_margin.as_secs(),
                remaining_s: remaining.as_secs(),
            }
        })
    }

    /// Handles one event: a scheduled event sweeps every managed location (resuming a stopped
    /// sweep), a SUCCEEDED build state change prunes its project's location, other statuses are ignored.
    pub async fn handle(&self, event: &serde_json::Value, limits: RunLimits) -> Result<PruneReport, PruneError> {
        let trigger = match Trigger::parse(event) {
            Ok(trigger) => trigger,
            Err(e) if e.is_unhandled() => {
                warn!(action = "refuse", reason = %e, "not an event the pruner handles");
                let event_id = event.get("id").and_then(serde_json::Value::as_str).map(str::to_owned);
                let bucket = self.config.common.layout.bucket.clone().unwrap_or_default();
                let mut report = PruneReport::new("unhandled", event_id, self.config.common.dry_run, bucket);
                report.refused = Some(e.to_string());
                report.finished = true;
                return Ok(report);
            }
            Err(e) => return Err(e.into()),
        };
        let bucket = self
            .config
            .common
            .layout
            .resolve_bucket(trigger.account(), &self.region)
            .ok_or(PruneError::UnknownAccount)?;
        let deployment = Deployment::new(&bucket, trigger.account(), &self.region);
        self.publisher.know_account(trigger.account());
        let calls = Arc::new(ApiCalls::default());
        let event_id = trigger.event_id().map(str::to_owned);
        let dry_run = self.config.common.dry_run;
        let (mut report, result) = match &trigger {
            Trigger::Scheduled(_) => {
                let span = info_span!("pruner", project = "*", build_id = "-", action = "sweep");
                let mut report = PruneReport::new("scheduled-sweep", event_id, dry_run, bucket.clone());
                let run = SweepRun { pruner: self, deployment: &deployment, limits, calls: calls.clone() };
                let result = run.run(&mut report).instrument(span).await;
                (report, result)
            }
            Trigger::BuildStateChange(change) => {
                let span = info_span!("pruner", project = %change.project, build_id = change.build_id.as_deref().unwrap_or("-"), action = "prune-project");
                let mut report = PruneReport::new("build-state-change", event_id, dry_run, bucket.clone());
                report.project = Some(change.project.clone());
                report.build_id = change.build_id.clone();
                let run = ProjectRun { pruner: self, deployment: &deployment, change, limits, calls: calls.clone() };
                let result = run.run(&mut report).instrument(span).await;
                (report, result)
            }
        };
        let result = match result {
            Err(e) if e.aws().is_some_and(|a| a.other_region().is_some()) => {
                let region = e.aws().and_then(|a| a.bucket_region.as_deref());
                let why = other_region(&bucket, region, &self.region);
                error!(action = "refuse", reason = %why, error = %e, "the cache bucket is in another region");
                report.bucket_refused = Some(why);
                report.finished = false;
                Ok(())
            }
            other => other,
        };
        self.record_freed(&deployment, &mut report, &calls).await;
        let findings_failed = self.findings(&deployment, &mut report).await;
        report.api_calls = calls.snapshot();
        if notice::worth_notifying(&report) {
            if self.publisher.topic_arn().is_some() {
                calls.add("sns:Publish", 1);
            }
            report.notified = matches!(self.publisher.publish_logged(&notice::summary(&report)).await, Ok(Some(_)));
            report.api_calls = calls.snapshot();
        }
        log_summary(&report, result.as_ref().err());
        result?;
        match findings_failed {
            Some(e) => Err(PruneError::Findings(e)),
            None => Ok(report),
        }
    }

    /// A sweep's finding in Security Hub (SECURITY_HUB_FINDINGS): unmanaged data in the bucket, or
    /// none any more. The transient error returned fails the invocation (retried) after the report
    /// is logged; a refusal is said in the report.
    async fn findings(&self, deployment: &Deployment, report: &mut PruneReport) -> Option<AwsError> {
        let hub = self.hub.as_ref()?;
        let observations = pruner_observations(report);
        if observations.is_empty() {
            return None;
        }
        if deployment.account == "unknown-account" {
            report.findings =
                Some(FindingsReport::not_sent("the AWS account is not known (no account in the event): no findings"));
            return None;
        }
        let place = Place::new(&self.region, &deployment.account);
        let sink = FindingsSink::new(hub, &self.s3, &deployment.bucket, place, self.config.common.dry_run);
        match sink.report(&observations, self.clock.now()).await {
            Ok(found) => {
                report.findings = Some(found);
                None
            }
            Err(e) => Some(e),
        }
    }

    /// Records what this run deleted for the digest (`freed`): one PutObject, when it deleted
    /// anything. A record that cannot be written is a note, never a failure: the deletions are
    /// done, only the digest's figure is short.
    async fn record_freed(&self, deployment: &Deployment, report: &mut PruneReport, calls: &ApiCalls) {
        let Some((key, body)) = freed::record_of_run(deployment, report, self.clock.now()) else { return };
        calls.add("s3:PutObject(freed)", 1);
        if let Err(e) = s3_records::put_record(&self.s3, &deployment.bucket, &key, &body).await {
            warn!(action = "record-freed", error = %e, "cannot record what was freed");
            report.notes.push(format!("what this run freed is not recorded for the digest: {e}"));
        }
    }

    /// Every project of the account and region: ListProjects (all pages, 100 names each), then
    /// BatchGetProjects by 100. Pages of ListProjects are counted as CodeBuild returns them (100 names).
    pub(super) async fn all_projects(&self, calls: &ApiCalls) -> Result<Vec<ProjectSnapshot>, AwsError> {
        let names = self.projects.list_names().await?;
        calls.add("codebuild:ListProjects", names.len().div_ceil(100).max(1) as u64);
        calls.add("codebuild:BatchGetProjects", names.len().div_ceil(BATCH_LIMIT) as u64);
        let (found, _) = self.projects.get(&names).await?;
        Ok(found)
    }

    /// Who wrote the objects of each shared live location (`writers`): each of its projects' recent
    /// builds (ListBuildsForProject, BatchGetBuilds), 8 projects at a time, so calls grow with the
    /// projects that share a location. A project whose builds cannot be read leaves its objects to
    /// the group's N per live project (never fewer kept), and the report says so. Only the
    /// locations `listed` says this run lists.
    pub(super) async fn read_writers(
        &self,
        scope: &mut Scope,
        bucket: &str,
        calls: &ApiCalls,
        listed: impl Fn(&str) -> bool,
    ) {
        let groups: Vec<(String, Vec<String>)> = scope
            .shared_locations()
            .filter(|m| listed(&m.prefix))
            .map(|m| (m.prefix.clone(), m.projects.clone()))
            .collect();
        let names: std::collections::BTreeSet<String> = groups.iter().flat_map(|(_, p)| p.iter().cloned()).collect();
        let read: HashMap<String, Result<Vec<BuildSpan>, String>> = futures::stream::iter(names)
            .map(|project| async move {
                let spans = self.projects.cache_builds(&project, BUILDS_READ).await;
                (project, spans)
            })
            .buffer_unordered(8)
            .map(|(project, spans)| {
                calls.add("codebuild:ListBuildsForProject", 1);
                if spans.as_ref().is_ok_and(|s| !s.is_empty()) {
                    calls.add("codebuild:BatchGetBuilds", 1);
                }
                if let Err(e) = &spans {
                    warn!(action = "writers", project = %project, error = %e, "cannot read the project's builds");
                }
                (project, spans.map_err(|e| format!("{}: {}", e.code, e.message)))
            })
            .collect()
            .await;
        let now_ms = self.clock.now().timestamp_millis();
        for (prefix, projects) in groups {
            let builds = projects
                .into_iter()
                .map(|p| {
                    let spans = read.get(&p).cloned().unwrap_or_else(|| Err("not read".into()));
                    (p, spans)
                })
                .collect();
            scope.set_writers(&prefix, Writers::from_builds(bucket, &prefix, builds, now_ms));
        }
    }

    /// GetBucketVersioning: one cheap call per sweep so the report can say what deletions leave behind.
    pub(super) async fn versioning(&self, bucket: &str, calls: &ApiCalls) -> String {
        calls.add("s3:GetBucketVersioning", 1);
        match s3_objects::bucket_versioning(&self.s3, bucket).await {
            Ok(status) => status,
            Err(e) => {
                warn!(action = "versioning", error = %e, "cannot read the bucket's versioning status");
                format!("unknown ({})", e.code)
            }
        }
    }

    /// GetBucketPolicy: one call per sweep, so orphans are deleted only in a bucket known to be
    /// this account's alone (`sharing`). A failure is not knowing: the bucket counts as shared.
    pub(super) async fn sharing(&self, deployment: &Deployment, calls: &ApiCalls) -> Sharing {
        calls.add("s3:GetBucketPolicy", 1);
        match s3_objects::bucket_policy(&self.s3, &deployment.bucket).await {
            Ok(policy) => read_policy(policy.as_deref(), &deployment.account),
            Err(e) => {
                warn!(action = "sharing", error = %e, "cannot read the bucket policy");
                Sharing::Unknown { why: format!("cannot read the bucket policy: {}: {}", e.code, e.message) }
            }
        }
    }

    /// What one run's tasks share, owned by the run: the policy, the deletion cap, the page limits, the
    /// lister and the deleter (started here).
    pub(super) fn kit(
        &self,
        bucket: &str,
        scope: &Arc<Scope>,
        calls: &Arc<ApiCalls>,
        limits: &RunLimits,
        policy: PrunePolicy,
    ) -> RunKit {
        let target = Target {
            s3: self.s3.clone(),
            bucket: bucket.to_owned(),
            scope: scope.clone(),
            calls: calls.clone(),
            progress: limits.progress.clone(),
            lease_loss: limits.lease_loss.clone(),
        };
        RunKit {
            quota: RunQuota::new(policy.max_deletes),
            policy,
            limits: PageLimits::of_run(limits),
            lister: S3Lister { s3: self.s3.clone(), bucket: bucket.to_owned(), calls: calls.clone() },
            queue: DeleteQueue::start(target, self.config.delete_concurrency, self.config.common.dry_run),
            now: self.clock.now(),
        }
    }

    /// Takes the bucket's lease for this run (none in a dry run, which writes nothing). Skipped, with
    /// `report.skipped` set, when another run holds it: a build-event run's lease is waited for (they
    /// are short), a sweep's is not. A build-event run yields to a sweep waiting for the lease; a
    /// sweep waits for a build-event run, says so (`waiting`), and fails to be retried when it may
    /// wait no longer.
    pub(super) async fn take_lease(
        &self,
        deployment: &Deployment,
        kind: RunKind,
        limits: &RunLimits,
        calls: &ApiCalls,
        report: &mut PruneReport,
    ) -> Result<Turn, PruneError> {
        if self.config.common.dry_run {
            return Ok(Turn::Ours(None));
        }
        let store = lease_store(&self.s3, deployment);
        let waiting = WaitingStore {
            client: self.s3.clone(),
            bucket: deployment.bucket.clone(),
            key: deployment.sweep_waiting_key(),
        };
        let holder = holder_id(report.event_id.as_deref());
        if kind == RunKind::Build
            && let Some(why) = waiting.yield_reason(self.clock.now(), calls).await
        {
            info!(action = "lease", "{why}");
            report.skipped = Some(why);
            return Ok(Turn::Skipped);
        }
        let waited_since = std::time::Instant::now();
        let mut said: Option<SweepWaiting> = None;
        loop {
            let now = self.clock.now();
            let expires_at = now + limits.lease_duration() + SKEW;
            match store.acquire(&holder, kind, now, expires_at, calls).await.map_err(PruneError::Lease)? {
                Acquired::Won(lease) => {
                    // A sweep that waited (in this invocation or an earlier one).
                    if kind == RunKind::Sweep {
                        waiting.clear(said, now, calls).await;
                    }
                    return Ok(Turn::Ours(Some(lease)));
                }
                Acquired::Held(held) if kind == RunKind::Sweep && held.kind == RunKind::Build => {
                    let marker = match said.take() {
                        Some(marker) => marker,
                        None => waiting.announce(&holder, now, marker_span(self.sweep_wait), calls).await,
                    };
                    // Leave the sweep a minute of work once it has the lease.
                    let room = LEASE_POLL + Duration::from_secs(60);
                    if waited_since.elapsed() < self.sweep_wait
                        && limits.deadline.is_none_or(|d| std::time::Instant::now() + room < d)
                    {
                        said = Some(marker);
                        tokio::time::sleep(LEASE_POLL).await;
                        continue;
                    }
                    warn!(action = "lease", holder = %held.holder, "the sweep could not take the lease: failing to be retried");
                    return Err(PruneError::SweepWaiting {
                        holder: held.holder,
                        until: held.expires_at,
                        waited_s: waited_since.elapsed().as_secs(),
                        yield_until: marker.until,
                    });
                }
                Acquired::Held(held) => {
                    let wait = held.kind == RunKind::Build && waited_since.elapsed() < LEASE_WAIT;
                    if wait && limits.deadline.is_none_or(|d| std::time::Instant::now() + LEASE_POLL < d) {
                        tokio::time::sleep(LEASE_POLL).await;
                        continue;
                    }
                    let what = match kind {
                        RunKind::Sweep => {
                            "this sweep (the run holding the lease prunes; the next sweep covers the rest)"
                        }
                        RunKind::Build => {
                            "this project's location (the run holding the lease or the next one prunes it)"
                        }
                    };
                    let why = format!(
                        "skipped {what}: a {} run ({}) holds the pruner's lease until {}",
                        match held.kind {
                            RunKind::Sweep => "sweep",
                            RunKind::Build => "build-event",
                        },
                        held.holder,
                        held.expires_at.to_rfc3339()
                    );
                    info!(action = "lease", holder = %held.holder, "{why}");
                    report.skipped = Some(why);
                    return Ok(Turn::Skipped);
                }
            }
        }
    }

    /// Runs `work` under `lease`, renewed while it goes on when the limits ask for it (`keeper`);
    /// returns its output and the lease to give back (None when lost).
    pub(super) async fn kept<F: std::future::Future>(
        &self,
        deployment: &Deployment,
        lease: Option<Lease>,
        limits: &RunLimits,
        calls: &ApiCalls,
        work: F,
    ) -> (F::Output, Option<Lease>) {
        let (Some(lease), Some(renewal)) = (lease.clone(), limits.renewal) else {
            return (work.await, lease);
        };
        let store = lease_store(&self.s3, deployment);
        let keeper = Keeper { store: &store, renewal, clock: self.clock.as_ref(), loss: &limits.lease_loss, calls };
        keeper.keep(lease, work).await
    }

    /// Gives the lease back; a failure only delays the next run until the lease expires.
    pub(super) async fn give_back(&self, deployment: &Deployment, lease: Option<Lease>, calls: &ApiCalls) {
        let Some(lease) = lease else { return };
        let store = lease_store(&self.s3, deployment);
        if let Err(e) = store.release(lease, self.clock.now(), calls).await {
            warn!(action = "lease", error = %e, "could not give the lease back: it expires by itself");
        }
    }
}

/// Whether this run may go on, and the lease it then holds.
pub(super) enum Turn {
    /// Ours to prune (with the lease; none in a dry run).
    Ours(Option<Lease>),
    /// Another run holds the lease.
    Skipped,
}

fn lease_store(s3: &aws_sdk_s3::Client, deployment: &Deployment) -> LeaseStore {
    LeaseStore { client: s3.clone(), bucket: deployment.bucket.clone(), key: deployment.lease_key() }
}

/// A name for this run in the lease: the event id, the process and a counter.
fn holder_id(event_id: Option<&str>) -> String {
    static RUNS: AtomicU32 = AtomicU32::new(0);
    format!("{}/{}/{}", event_id.unwrap_or("manual"), std::process::id(), RUNS.fetch_add(1, Ordering::Relaxed))
}

fn log_summary(report: &PruneReport, error: Option<&PruneError>) {
    let json = serde_json::to_string(report).unwrap_or_default();
    let (plan, outcome) = (&report.plan, &report.outcome);
    if let Some(error) = error {
        error!(action = "summary", error = %error, error_type = error.error_type(), scanned = plan.scanned, planned = plan.planned, deleted = outcome.deleted, failed = outcome.failed, finished = report.finished, report = %json, "pruner run failed");
    } else if outcome.failed > 0 || report.refused().next().is_some() {
        error!(action = "summary", scanned = plan.scanned, planned = plan.planned, deleted = outcome.deleted, bytes_freed = outcome.bytes_freed, failed = outcome.failed, finished = report.finished, report = %json, "pruner run finished with errors");
    } else {
        info!(action = "summary", scanned = plan.scanned, planned = plan.planned, deleted = outcome.deleted, bytes_freed = outcome.bytes_freed, failed = outcome.failed, finished = report.finished, report = %json, "pruner run finished");
    }
}

/// Why a bucket S3 places in another region (its 301) is not pruned from this one.
fn other_region(bucket: &str, region: Option<&str>, own_region: &str) -> String {
    let at = region.map_or_else(|| "another region (S3 answered 301 without naming it)".to_owned(), str::to_owned);
    format!(
        "the cache bucket {bucket} is in {at}, and this pruner runs in {own_region}: S3 answers for the bucket only in its own region, and CodeBuild projects of {own_region} cannot use it as their cache; deploy cache-sentinel in the bucket's region for its projects, or set CACHE_BUCKET to the cache bucket of {own_region}"
    )
}
