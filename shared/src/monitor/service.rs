//! Carries the monitor out: reads the build (event, then BatchGetBuilds for what the event lacks),
//! its history, its cache location and (for finished builds) its log, judges, and notifies at most
//! once per build and kind (`notify_once`). The sweep over running builds is in `sweep`, the
//! evidence in `collect`, the "cache not effective" streak in `ineffective`.

use super::MonitorConfig;
// The invocation's result and error, where callers found them before they had files of their own.
pub use super::error::MonitorError;
use super::error::is_transient;
use super::evidence::{BucketElsewhere, empty_at_start};
use super::judge::{Kind, Verdict};
use super::judge_build::{BuildContext, judge_build};
use super::like_with_like::same_job;
use super::notify_once::{Claim, MARKER_NAMESPACE, claim, publish_and_confirm};
use super::render;
use super::repeat;
pub use super::report::{BuildOutcome, MonitorReport, Outcome};
use crate::aws::Clients;
use crate::aws::cache_listing::{CacheListing, list_cache_page};
use crate::aws::codebuild::{CodeBuildProjects, build_facts};
use crate::aws::logs::BuildLogs;
use crate::aws::s3::Markers;
use crate::aws::securityhub::SecurityHub;
use crate::aws::sns::SnsPublisher;
use crate::build::{BuildFacts, short_build_id};
use crate::clock::{Clock, SystemClock};
use crate::error::AwsError;
use crate::event::digest_request::DigestRequest;
use crate::event::{BuildStateChange, BuildStatus, Trigger};
use crate::findings::Place;
use crate::findings::monitor::observations as monitor_observations;
use crate::findings::sink::{FindingsReport, FindingsSink};
use std::sync::Arc;
use tracing::{Instrument, info, info_span, warn};

/// The monitor, built once per cold start.
pub struct BuildTimeMonitor {
    pub(super) config: MonitorConfig,
    pub(super) codebuild: CodeBuildProjects,
    pub(super) s3: aws_sdk_s3::Client,
    pub(super) logs: BuildLogs,
    pub(super) publisher: SnsPublisher,
    pub(super) region: String,
    pub(super) clock: Arc<dyn Clock>,
    /// Security Hub, when SECURITY_HUB_FINDINGS is on.
    pub(super) hub: Option<SecurityHub>,
}

/// Where a build's cache is: the bucket for markers and records, the location the guard manages,
/// and the location looked into (the build's own S3 location; none for a build off S3).
#[derive(Debug, Clone, Default)]
pub(super) struct CachePlace {
    pub bucket: Option<String>,
    pub managed: Option<String>,
    pub checked: Option<String>,
}

impl BuildTimeMonitor {
    pub fn new(config: MonitorConfig, clients: &Clients) -> Self {
        BuildTimeMonitor {
            codebuild: CodeBuildProjects::new(clients.codebuild.clone()),
            s3: clients.s3.clone(),
            logs: BuildLogs::new(clients.logs()),
            publisher: SnsPublisher::new(clients.sns.clone(), config.common.topic_arn.clone())
                .naming_origin(config.common.name_origin),
            region: clients.region_or_default().to_owned(),
            hub: SecurityHub::when_enabled(config.common.security_hub, &clients.sdk),
            config,
            clock: Arc::new(SystemClock),
        }
    }

    /// Uses another clock for "now" (tests, replays).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Reads build logs with another CloudWatch Logs client (tests).
    pub fn with_logs(mut self, logs: BuildLogs) -> Self {
        self.logs = logs;
        self
    }

    /// Handles one event: a final build state change judges that build; a scheduled event sweeps
    /// running builds; a digest request sends the digest of its window (`digest`); IN_PROGRESS is
    /// ignored (the sweep covers running builds).
    pub async fn handle(&self, event: &serde_json::Value) -> Result<MonitorReport, MonitorError> {
        let dry_run = self.config.common.dry_run;
        if let Some(request) = DigestRequest::parse(event) {
            let request = request?;
            let span = info_span!("monitor", project = "*", build_id = "-", action = "digest");
            let digest = self.digest(&request).instrument(span).await?;
            let event_id = request.event_id.clone();
            let report = MonitorReport {
                trigger: "digest",
                event_id,
                dry_run,
                sweep: None,
                builds: vec![],
                digest: Some(digest),
                refused: None,
                findings: None,
            };
            info!(action = "summary", report = %serde_json::to_string(&report).unwrap_or_default(), "monitor run finished");
            return Ok(report);
        }
        let trigger = match Trigger::parse(event) {
            Ok(trigger) => trigger,
            Err(e) if e.is_unhandled() => {
                warn!(action = "refuse", reason = %e, "not an event the monitor handles");
                let event_id = event.get("id").and_then(serde_json::Value::as_str).map(str::to_owned);
                let refused = Some(e.to_string());
                return Ok(MonitorReport {
                    trigger: "unhandled",
                    event_id,
                    dry_run,
                    sweep: None,
                    builds: vec![],
                    digest: None,
                    refused,
                    findings: None,
                });
            }
            Err(e) => return Err(e.into()),
        };
        let event_id = trigger.event_id().map(str::to_owned);
        let account = trigger.account().map(str::to_owned);
        self.publisher.know_account(account.as_deref());
        let mut report = MonitorReport {
            trigger: "",
            event_id,
            dry_run,
            sweep: None,
            builds: vec![],
            digest: None,
            refused: None,
            findings: None,
        };
        match trigger {
            Trigger::BuildStateChange(change) => {
                let span = info_span!("monitor", project = %change.project, build_id = change.build_id.as_deref().unwrap_or("-"), status = %change.status, action = "judge");
                report.trigger = "build-state-change";
                report.builds.push(self.on_state_change(change).instrument(span).await?);
            }
            Trigger::Scheduled(sweep) => {
                let span = info_span!("monitor", project = "*", build_id = "-", action = "sweep");
                let (summary, builds) = self.sweep(sweep.account.clone()).instrument(span).await?;
                report.trigger = "scheduled-sweep";
                report.sweep = Some(summary);
                report.builds = builds;
            }
        }
        report.findings = self.findings(account.as_deref(), &report.builds).await?;
        info!(
            action = "summary",
            notified = report.count(Outcome::Notified),
            would_notify = report.count(Outcome::WouldNotify),
            already_notified = report.count(Outcome::AlreadyNotified),
            within_time = report.count(Outcome::WithinTime),
            failed = report.count(Outcome::Failed),
            report = %serde_json::to_string(&report).unwrap_or_default(),
            "monitor run finished"
        );
        Ok(report)
    }

    async fn on_state_change(&self, change: BuildStateChange) -> Result<BuildOutcome, MonitorError> {
        let build_id = change.build_id.as_deref().map(short_build_id);
        let plain = |outcome, reason: String| {
            BuildOutcome::new(&change.project, build_id.clone(), change.status.clone(), outcome, reason)
        };
        if !change.status.is_final() {
            info!(action = "ignore", "not a final status: nothing to judge yet");
            let why = format!(
                "status {}: judged when the build reaches a final status; the scheduled sweep watches running builds",
                change.status
            );
            return Ok(plain(Outcome::Ignored, why));
        }
        if let Err(why) = self.config.common.projects.check(&change.project) {
            info!(action = "skip", reason = %why, "out of scope");
            return Ok(plain(Outcome::OutOfScope, format!("out of scope: {why}")));
        }
        let mut facts = BuildFacts::from_event(&change)?;
        let mut warnings = Vec::new();
        if let Some(id) = &build_id {
            match self.codebuild.get_builds(std::slice::from_ref(id)).await {
                Ok(builds) => match builds.iter().map(build_facts).find(|b| b.build_id.as_deref() == Some(id)) {
                    Some(api) => facts = facts.merge(&api),
                    None => {
                        warnings.push(format!("BatchGetBuilds does not know build {id}: judged from the event alone"))
                    }
                },
                Err(e) if is_transient(&e) => {
                    return Err(MonitorError::Transient { build: id.clone(), error: Box::new(e) });
                }
                Err(e) => warnings
                    .push(format!("could not read the build with BatchGetBuilds ({e}): judged from the event alone")),
            }
        }
        facts.region.get_or_insert_with(|| self.region.clone());
        if facts.duration_seconds(self.clock.now()).is_none() {
            return Err(MonitorError::NoDuration {
                project: change.project.clone(),
                build: build_id.unwrap_or_else(|| "(no build-id)".into()),
                detail: if warnings.is_empty() { String::new() } else { format!(" ({})", warnings.join("; ")) },
            });
        }
        self.assess(facts, Kind::FinishedSlow, warnings, change.event_id.as_deref()).await
    }

    /// The run's findings in Security Hub (SECURITY_HUB_FINDINGS); None when off or nothing was
    /// judged. A transient failure fails the invocation (retried).
    async fn findings(
        &self,
        account: Option<&str>,
        builds: &[BuildOutcome],
    ) -> Result<Option<FindingsReport>, MonitorError> {
        let Some(hub) = &self.hub else { return Ok(None) };
        let observations = monitor_observations(builds);
        if observations.is_empty() {
            return Ok(None);
        }
        let (Some(account), Some(bucket)) = (account, self.config.common.layout.resolve_bucket(account, &self.region))
        else {
            return Ok(Some(FindingsReport::not_sent("the AWS account or the cache bucket is not known: no findings")));
        };
        let sink =
            FindingsSink::new(hub, &self.s3, &bucket, Place::new(&self.region, account), self.config.common.dry_run);
        let report = sink.report(&observations, self.clock.now()).await;
        report.map(Some).map_err(|e| MonitorError::Findings(Box::new(e)))
    }

    /// Judges a running build seen by the sweep (or given by a caller) and notifies once if it is
    /// overdue.
    pub async fn check_running(&self, facts: BuildFacts) -> Result<BuildOutcome, MonitorError> {
        self.assess(facts, Kind::RunningOverdue, vec![], None).await
    }

    /// The project's recent builds other than this one, which `judge_build` summarises.
    async fn history(&self, facts: &BuildFacts) -> Result<Vec<BuildFacts>, AwsError> {
        // Failed and stopped builds are in the list too: read a few more than the count needed.
        let limit = (self.config.baseline_builds * 2).clamp(10, 200);
        let ids = self.codebuild.recent_build_ids(&facts.project, limit).await?;
        let ids: Vec<String> = ids.into_iter().filter(|id| Some(id.as_str()) != facts.build_id.as_deref()).collect();
        Ok(self.codebuild.get_builds(&ids).await?.iter().map(build_facts).collect())
    }

    /// Batch jobs are judged against earlier runs of the same job (`like_with_like::same_job`):
    /// their build groups' identifiers (one BatchGetBuildBatches call per 100 batches, only when
    /// the build or its history has batch jobs). Refused: compared with builds outside its batch.
    async fn by_job(
        &self,
        mut facts: BuildFacts,
        mut history: Vec<BuildFacts>,
        warnings: &mut Vec<String>,
    ) -> Result<(BuildFacts, Vec<BuildFacts>), MonitorError> {
        let mut batches: Vec<String> =
            facts.batch.iter().chain(history.iter().filter_map(|b| b.batch.as_ref())).cloned().collect();
        if batches.is_empty() {
            return Ok((facts, history));
        }
        batches.sort();
        batches.dedup();
        match self.codebuild.batch_jobs(&batches).await {
            Ok(jobs) => {
                let job = |b: &BuildFacts| b.build_id.as_ref().and_then(|id| jobs.get(id)).cloned();
                facts.job = job(&facts);
                for b in &mut history {
                    b.job = job(b);
                }
            }
            Err(e) if is_transient(&e) => return Err(transient(&facts, e)),
            Err(e) => warnings.push(format!(
                "cannot tell the jobs of batch builds apart ({e}): compared with every build outside its own batch"
            )),
        }
        let history = same_job(&facts, history);
        Ok((facts, history))
    }

    pub(super) fn place(&self, facts: &BuildFacts) -> CachePlace {
        let region = facts.region.as_deref().unwrap_or(&self.region);
        let bucket = self.config.common.layout.resolve_bucket(facts.account.as_deref(), region);
        let managed = bucket.as_ref().map(|b| self.config.common.layout.location(b, &facts.project));
        // Only the build's own S3 location: a LOCAL or NO_CACHE build never wrote the managed one,
        // so its emptiness says nothing about the build.
        let checked = facts
            .cache
            .as_ref()
            .filter(|c| c.is_s3())
            .and_then(|c| c.location.as_deref())
            .map(|location| location.trim_end_matches('/').to_owned());
        CachePlace { bucket, managed, checked }
    }

    /// One ListObjectsV2 page of the cache location (for the scenario and the upload check); S3's
    /// 301 says the bucket is in another region, which is named (`BucketElsewhere`).
    async fn list_cache(
        &self,
        facts: &BuildFacts,
        place: &CachePlace,
        warnings: &mut Vec<String>,
    ) -> Result<(Option<CacheListing>, Option<BucketElsewhere>), MonitorError> {
        let Some(location) = &place.checked else { return Ok((None, None)) };
        let (bucket, prefix) = location.split_once('/').unwrap_or((location.as_str(), ""));
        match list_cache_page(&self.s3, bucket, prefix).await {
            Ok(listing) => Ok((Some(listing), None)),
            Err(e) if is_transient(&e) => Err(transient(facts, e)),
            Err(e) if e.other_region().is_some() => {
                let elsewhere = BucketElsewhere {
                    bucket: bucket.to_owned(),
                    region: e.bucket_region,
                    project_region: facts.region.clone().unwrap_or_else(|| self.region.clone()),
                };
                warnings.push(elsewhere.describe());
                Ok((None, Some(elsewhere)))
            }
            Err(e) => {
                warnings.push(format!("could not list the cache at s3://{location}/: {e}"));
                Ok((None, None))
            }
        }
    }

    async fn assess(
        &self,
        facts: BuildFacts,
        kind: Kind,
        mut warnings: Vec<String>,
        event_id: Option<&str>,
    ) -> Result<BuildOutcome, MonitorError> {
        let history = match self.history(&facts).await {
            Ok(h) => Ok(h),
            Err(e) if is_transient(&e) => return Err(transient(&facts, e)),
            Err(e) => {
                warnings.push(format!("build history unavailable: {e}"));
                Err(e.to_string())
            }
        };
        let (facts, history) = match history {
            Ok(history) => {
                let (facts, history) = self.by_job(facts, history, &mut warnings).await?;
                (facts, Ok(history))
            }
            Err(e) => (facts, Err(e)),
        };
        let place = self.place(&facts);
        let (listing, elsewhere) = self.list_cache(&facts, &place, &mut warnings).await?;
        let evidence = match kind {
            Kind::FinishedSlow => {
                let mut evidence = self.collect_evidence(&facts, &place, listing.clone()).await?;
                evidence.elsewhere = elsewhere;
                Some(evidence)
            }
            Kind::RunningOverdue => None,
        };
        let context = BuildContext {
            history: history.as_deref().map_err(String::as_str),
            cache_empty: listing.as_ref().and_then(|l| empty_at_start(l, facts.start)),
            cache_location: place.checked.as_deref(),
            managed_cache: place.managed.as_deref(),
            cache_standing: None,
            docker: evidence
                .as_ref()
                .and_then(|e| e.found.as_ref())
                .and_then(|f| f.docker.as_ref())
                .map(|d| &d.decisive),
            order: evidence
                .as_ref()
                .and_then(|e| e.found.as_ref())
                .and_then(|f| f.docker.as_ref())
                .map_or(&[], |d| d.order.as_slice()),
        };
        let mut verdict = self.verdict(&facts, kind, &context)?;
        // Off the S3 cache, a slow build's email names its setting and what the guard did: read
        // only then (BatchGetProjects, one listing of the guard's markers).
        if verdict.slow
            && let Some(standing) = self.cache_standing(&facts, place.bucket.as_deref()).await
        {
            verdict = self.verdict(&facts, kind, &BuildContext { cache_standing: Some(&standing), ..context })?;
        }
        for w in &warnings {
            warn!(action = "judge", warning = %w, "judged with incomplete information");
        }
        let mut outcome = BuildOutcome::new(
            &facts.project,
            facts.build_id.clone(),
            facts.status.clone(),
            Outcome::WithinTime,
            verdict.summary.clone(),
        );
        outcome.warnings = warnings;
        let mut evidence = evidence;
        if let Some(e) = evidence.as_mut() {
            e.judge_registry_cache(!verdict.slow);
        }
        if verdict.slow
            && let (Some(e), Ok(history)) = (evidence.as_mut(), history.as_ref())
        {
            self.weigh_cache(&facts, history, e).await;
        }
        outcome.evidence = evidence;
        self.notify_slow(&facts, verdict, &place, event_id, &mut outcome).await?;
        self.notify_failed_causes(&facts, &place, history.as_deref().ok(), &mut outcome).await?;
        if let Some(evidence) = outcome.evidence.clone() {
            self.cache_streak(&facts, &evidence, &place, &mut outcome).await?;
        }
        Ok(outcome)
    }

    fn verdict(&self, facts: &BuildFacts, kind: Kind, context: &BuildContext<'_>) -> Result<Verdict, MonitorError> {
        judge_build(facts, kind, context, &self.config, self.clock.now()).verdict.ok_or_else(|| {
            MonitorError::NoDuration {
                project: facts.project.clone(),
                build: facts.build_id.clone().unwrap_or_default(),
                detail: String::new(),
            }
        })
    }

    /// The slow-build notice: at most one per build and kind. The marker is keyed by the build id,
    /// else by the EventBridge event id; with neither there is no marker (a project-wide one would
    /// silence every later build of the project).
    async fn notify_slow(
        &self,
        facts: &BuildFacts,
        verdict: Verdict,
        place: &CachePlace,
        event_id: Option<&str>,
        outcome: &mut BuildOutcome,
    ) -> Result<(), MonitorError> {
        if !verdict.slow {
            outcome.outcome = match facts.status {
                _ if verdict.times_refused.is_some() => Outcome::Refused,
                BuildStatus::Stopped => Outcome::Stopped,
                BuildStatus::Failed | BuildStatus::Fault => Outcome::Unsuccessful,
                _ => Outcome::WithinTime,
            };
            info!(action = "within-time", summary = %verdict.summary, "no slow-build notice");
            outcome.verdict = Some(verdict);
            return Ok(());
        }
        let kind = verdict.kind;
        let repeat_key = repeat::cause_key(
            kind,
            outcome.evidence.as_ref(),
            &verdict,
            facts.cache.as_ref().map(|c| c.cache_type.as_str()),
        );
        // The subject only: the body is rendered once, when it is known to go out (`repeat_gate`).
        let subject = crate::notify::sanitize_subject(&render::subject(facts, &verdict));
        outcome.subject = Some(subject.clone());
        outcome.verdict = Some(verdict);
        if self.config.common.dry_run {
            info!(action = "would-notify", subject = %subject, "dry run: slow build, notice not sent");
            outcome.outcome = Outcome::WouldNotify;
            return Ok(());
        }
        let key = match (facts.build_id.as_deref(), event_id) {
            (Some(build), _) => Some(build.to_owned()),
            (None, Some(event)) => Some(format!("event-{event}")),
            (None, None) => None,
        };
        let markers = place.bucket.as_ref().map(|b| Markers::new(self.s3.clone(), b.clone(), MARKER_NAMESPACE));
        let mut claimed = vec![];
        if let Some(key) = key {
            let name = format!("{}--{key}", kind.as_str());
            let body = serde_json::json!({"kind": kind.as_str(), "project": facts.project, "build_id": facts.build_id,
                "subject": subject, "at": self.clock.now().to_rfc3339()})
            .to_string();
            match claim(markers.as_ref(), &name, self.clock.now()).await {
                Claim::Claimed => claimed.push((name, body)),
                Claim::Taken(marker) => {
                    info!(action = "already-notified", marker = %marker, "this build and kind were already notified");
                    outcome.outcome = Outcome::AlreadyNotified;
                    outcome.reason = format!(
                        "{}; already notified, or claimed by an invocation sending it ({marker})",
                        outcome.reason
                    );
                    return Ok(());
                }
                Claim::Unrecorded(why) => {
                    outcome.warnings.push(format!("no once-only marker ({why}): a redelivery may send this again"))
                }
                Claim::Retry(error) => return Err(transient(facts, error)),
            }
        } else {
            outcome.warnings.push("no build id and no event id: no once-only marker".into());
        }
        let judged = verdict_seconds(outcome);
        let (notice, undo) =
            match self.repeat_gate(facts, markers.as_ref(), &repeat_key, judged, &claimed, outcome).await? {
                Some((held, undo)) => {
                    let verdict = outcome.verdict.as_ref().expect("judged");
                    let since = repeat::since_line(held);
                    (render::notice_with(facts, verdict, outcome.evidence.as_ref(), since.as_deref()), undo)
                }
                None => return Ok(()),
            };
        outcome.subject = Some(notice.subject().to_owned());
        let sent = publish_and_confirm(&self.publisher, markers.as_ref(), &claimed, &notice).await;
        if sent.is_err()
            && let (Some(markers), Some(undo)) = (markers.as_ref(), undo)
        {
            // Not sent: the window's record goes back to what it was, so the retry is the news.
            if let Err(e) = undo.apply(markers).await {
                warn!(action = "repeat", error = %e, "could not restore the repeat record");
            }
        }
        sent.map_err(|error| MonitorError::Publish {
            build: facts.build_id.clone().unwrap_or(facts.project.clone()),
            kind: kind.as_str(),
            error: Box::new(error),
        })?;
        outcome.outcome = Outcome::Notified;
        Ok(())
    }
}

fn verdict_seconds(outcome: &BuildOutcome) -> u64 {
    outcome.verdict.as_ref().map_or(0, |v| v.judged_seconds)
}

impl BuildTimeMonitor {
    /// One notice per project, kind, cause and window (`repeat`): Some(builds held back since the
    /// last notice) to send, None when this build is held back (counted in the window's record, its
    /// own marker confirmed as held so that a redelivery does not send it either). The record is
    /// written with conditional requests, so concurrent builds count once each. Without a bucket,
    /// or when the record cannot be written (denied), the notice goes out.
    async fn repeat_gate(
        &self,
        facts: &BuildFacts,
        markers: Option<&Markers>,
        cause: &str,
        judged_seconds: u64,
        claimed: &[(String, String)],
        outcome: &mut BuildOutcome,
    ) -> Result<Option<(u32, Option<Undo>)>, MonitorError> {
        let hours = self.config.repeat_hours;
        let start = facts.start.unwrap_or_else(|| self.clock.now());
        let (Some(markers), Some(window)) = (markers, repeat::window(start, hours)) else { return Ok(Some((0, None))) };
        let name = |window: &str| format!("repeat--{}--{cause}--{window}", facts.project);
        let cache = facts.cache.as_ref().map(|c| c.to_string());
        for _ in 0..4 {
            let read = match markers.read(&name(&window)).await {
                Ok(read) => read,
                Err(e) if is_transient(&e) => return Err(transient(facts, e)),
                Err(e) => {
                    outcome.warnings.push(format!("could not read the repeat record ({e}): sent"));
                    return Ok(Some((0, None)));
                }
            };
            let reported: Option<repeat::Reported> = read.as_ref().and_then(|v| serde_json::from_slice(&v.body).ok());
            let etag = read.as_ref().map(|v| v.etag.as_str());
            let gate = repeat::decide(reported.as_ref(), facts.build_id.as_deref(), judged_seconds, cache.as_deref());
            let (record, send) = match gate {
                repeat::Gate::Send { why } => {
                    let held = match &reported {
                        Some(r) => r.held,
                        None => self.held_before(markers, &name, start, hours).await,
                    };
                    info!(action = "repeat", why, held, "slow-build notice goes out");
                    let record = repeat::Reported {
                        build_id: facts.build_id.clone(),
                        judged_seconds,
                        cache: cache.clone(),
                        held: 0,
                    };
                    (record, Ok(held))
                }
                repeat::Gate::Hold { reason } => {
                    let mut record = reported.clone().unwrap_or_default();
                    record.held += 1;
                    (record, Err(reason))
                }
            };
            let body = serde_json::to_string(&record).unwrap_or_default();
            let written = match markers.write_if(&name(&window), &body, etag).await {
                Ok(Some(written)) => written,
                Ok(None) => continue, // another build of the project wrote it first: decide again
                Err(e) if is_transient(&e) => return Err(transient(facts, e)),
                Err(e) => {
                    outcome.warnings.push(format!("could not write the repeat record ({e}): sent"));
                    return Ok(Some((0, None)));
                }
            };
            // Said once, after the record that counts it is written (a lost race decides again).
            if let Err(reason) = &send {
                outcome.reason = format!("{}; {reason}", outcome.reason);
                for (marker, _) in claimed {
                    let held = serde_json::json!({"kind": "held-back", "project": facts.project,
                        "build_id": facts.build_id, "at": self.clock.now().to_rfc3339()});
                    if let Err(e) = markers.record(marker, &held.to_string()).await {
                        warn!(action = "repeat", error = %e, "held back, but its marker could not be confirmed");
                    }
                }
                outcome.outcome = Outcome::HeldBack;
                info!(action = "held-back", reason = %outcome.reason, "slow-build notice held back");
            }
            let previous = read.map(|v| String::from_utf8_lossy(&v.body).into_owned());
            return Ok(send.ok().map(|held| (held, Some(Undo { name: name(&window), previous, etag: written }))));
        }
        outcome.warnings.push("the repeat record changed under every attempt: sent".into());
        Ok(Some((0, None)))
    }

    /// Builds held back in the window before (said in the first notice of a window); 0 when unknown.
    async fn held_before(
        &self,
        markers: &Markers,
        name: &dyn Fn(&str) -> String,
        start: chrono::DateTime<chrono::Utc>,
        hours: u32,
    ) -> u32 {
        let Some(previous) = repeat::previous_window(start, hours) else { return 0 };
        match markers.read(&name(&previous)).await {
            Ok(Some(v)) => serde_json::from_slice::<repeat::Reported>(&v.body).map_or(0, |r| r.held),
            _ => 0,
        }
    }
}

/// How to put a window's record back when the notice it announced could not be sent.
struct Undo {
    name: String,
    previous: Option<String>,
    etag: String,
}

impl Undo {
    async fn apply(self, markers: &Markers) -> Result<(), AwsError> {
        match self.previous {
            Some(body) => markers.write_if(&self.name, &body, Some(&self.etag)).await.map(|_| ()),
            None => markers.release(&self.name).await,
        }
    }
}

pub(super) fn transient(facts: &BuildFacts, error: AwsError) -> MonitorError {
    MonitorError::Transient { build: facts.build_id.clone().unwrap_or(facts.project.clone()), error: Box::new(error) }
}
