//! Carries the monitor out: reads the build (event, then BatchGetBuilds for what the event lacks),
//! the project's history and cache, judges, and notifies at most once per build and kind.
//!
//! Once per build and kind: before publishing, a marker `.cache-sentinel/notified/<kind>--<build
//! id>` is created in the cache bucket with a conditional PutObject (If-None-Match: *); whoever
//! creates it publishes, everybody else (EventBridge redeliveries, concurrent invocations, later
//! sweeps) reports `already_notified`. A failed publish deletes the marker and fails the
//! invocation, so EventBridge's retry can send it. If the marker cannot be written at all (no
//! bucket, no permission), the notice is sent anyway: a possible duplicate is better than a lost
//! notice. The kinds are separate on purpose: a build the sweep reported as "running overdue" still
//! gets one "finished slow" notice with its final figures (both bodies say so).

use super::MonitorConfig;
use super::baseline::{HistorySummary, summarize};
use super::facts::FactsError;
use super::judge::{BaselinePolicy, JudgeInput, Kind, Verdict, judge};
use super::render;
use super::scenario::{ScenarioInputs, classify};
use crate::aws::Clients;
use crate::aws::codebuild::{CodeBuildProjects, build_facts};
use crate::aws::s3::{Markers, prefix_is_empty};
use crate::aws::sns::SnsPublisher;
use crate::build::{BuildFacts, short_build_id};
use crate::clock::{Clock, SystemClock};
use crate::error::AwsError;
use crate::event::{BuildStatus, EventError, Trigger};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::Arc;
use tracing::{Instrument, error, info, info_span, warn};

/// Marker namespace: `.cache-sentinel/notified/<kind>--<build id>` in the cache bucket.
pub const MARKER_NAMESPACE: &str = "notified";
/// The sweep looks at this many most recent builds of each project in scope: a running build is
/// always among a project's newest, and this bounds the work of a sweep.
pub const SWEEP_BUILDS_PER_PROJECT: usize = 5;

/// Why an invocation failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error("invalid event: {0}")]
    Event(#[from] EventError),
    #[error("invalid event: {0}")]
    Facts(#[from] FactsError),
    #[error(
        "cannot tell how long build {build} of {project} took: the event has no build-start-time or phase end times, and BatchGetBuilds did not return the build{detail}"
    )]
    NoDuration { project: String, build: String, detail: String },
    #[error("cannot list projects or builds for the sweep: {0}")]
    Listing(AwsError),
    #[error(
        "could not publish the notice for {build} ({kind}); its once-only marker was released so a retry can send it: {error}"
    )]
    Publish { build: String, kind: &'static str, error: AwsError },
}

impl MonitorError {
    /// The error's name as Lambda reports it (`errorType`), so logs and alarms show the cause.
    pub fn error_type(&self) -> &'static str {
        match self {
            MonitorError::Event(_) | MonitorError::Facts(_) => "BuildTimeMonitor.InvalidEvent",
            MonitorError::NoDuration { .. } => "BuildTimeMonitor.NoDuration",
            MonitorError::Listing(_) => "BuildTimeMonitor.ListingFailed",
            MonitorError::Publish { .. } => "BuildTimeMonitor.PublishFailed",
        }
    }
}

/// What happened to one build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Not a final state (IN_PROGRESS): the sweep watches running builds.
    Ignored,
    OutOfScope,
    /// Judged and within its expected time and baseline: nothing sent.
    WithinTime,
    Notified,
    /// Slow, but this build and kind were already notified (a redelivery, or the sweep and the
    /// final event racing).
    AlreadyNotified,
    /// Dry run: slow, a notice would have been sent.
    WouldNotify,
    Failed,
}

#[derive(Debug, Clone, Serialize)]
pub struct BuildOutcome {
    pub project: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_id: Option<String>,
    pub status: BuildStatus,
    pub outcome: Outcome,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Things that did not work but did not stop the judgement (history, cache check, marker).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// The JSON summary an invocation returns and logs.
#[derive(Debug, Clone, Serialize)]
pub struct MonitorReport {
    pub trigger: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    pub dry_run: bool,
    pub builds: Vec<BuildOutcome>,
}

impl MonitorReport {
    pub fn count(&self, outcome: Outcome) -> usize {
        self.builds.iter().filter(|b| b.outcome == outcome).count()
    }
}

/// The monitor, built once per cold start.
pub struct BuildTimeMonitor {
    config: MonitorConfig,
    codebuild: CodeBuildProjects,
    s3: aws_sdk_s3::Client,
    publisher: SnsPublisher,
    region: String,
    clock: Arc<dyn Clock>,
}

impl BuildTimeMonitor {
    pub fn new(config: MonitorConfig, clients: &Clients) -> Self {
        BuildTimeMonitor {
            codebuild: CodeBuildProjects::new(clients.codebuild.clone()),
            s3: clients.s3.clone(),
            publisher: SnsPublisher::new(clients.sns.clone(), config.common.topic_arn.clone()),
            region: clients.region_or_default().to_owned(),
            config,
            clock: Arc::new(SystemClock),
        }
    }

    /// Uses another clock for "now" (tests, replays).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Handles one event: a final build state change judges that build; a scheduled event sweeps
    /// running builds; IN_PROGRESS is ignored (the sweep covers running builds).
    pub async fn handle(&self, event: &serde_json::Value) -> Result<MonitorReport, MonitorError> {
        let trigger = Trigger::parse(event)?;
        let event_id = trigger.event_id().map(str::to_owned);
        let (kind, builds) = match trigger {
            Trigger::BuildStateChange(change) => {
                let span = info_span!("monitor", project = %change.project, build_id = change.build_id.as_deref().unwrap_or("-"), status = %change.status, action = "judge");
                let outcome = self.on_state_change(change).instrument(span).await?;
                ("build-state-change", vec![outcome])
            }
            Trigger::Scheduled(sweep) => {
                let span = info_span!("monitor", project = "*", build_id = "-", action = "sweep");
                let account = sweep.account.clone();
                let outcomes = self.sweep(account).instrument(span).await?;
                ("scheduled-sweep", outcomes)
            }
        };
        let report = MonitorReport { trigger: kind, event_id, dry_run: self.config.common.dry_run, builds };
        info!(
            action = "summary",
            notified = report.count(Outcome::Notified),
            would_notify = report.count(Outcome::WouldNotify),
            already_notified = report.count(Outcome::AlreadyNotified),
            within_time = report.count(Outcome::WithinTime),
            report = %serde_json::to_string(&report).unwrap_or_default(),
            "monitor run finished"
        );
        Ok(report)
    }

    async fn on_state_change(&self, change: crate::event::BuildStateChange) -> Result<BuildOutcome, MonitorError> {
        let project = change.project.clone();
        let build_id = change.build_id.as_deref().map(short_build_id);
        let outcome = |outcome, reason: String| BuildOutcome {
            project: project.clone(),
            build_id: build_id.clone(),
            status: change.status.clone(),
            outcome,
            reason,
            verdict: None,
            subject: None,
            warnings: vec![],
        };
        if !change.status.is_final() {
            info!(action = "ignore", "not a final status: nothing to judge yet");
            return Ok(outcome(
                Outcome::Ignored,
                format!(
                    "status {}: judged when the build reaches a final status; the scheduled sweep watches running builds",
                    change.status
                ),
            ));
        }
        if let Err(why) = self.config.common.projects.check(&project) {
            info!(action = "skip", reason = %why, "out of scope");
            return Ok(outcome(Outcome::OutOfScope, format!("out of scope: {why}")));
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
                Err(e) => warnings
                    .push(format!("could not read the build with BatchGetBuilds ({e}): judged from the event alone")),
            }
        }
        facts.region.get_or_insert_with(|| self.region.clone());
        if facts.duration_seconds(self.clock.now()).is_none() {
            return Err(MonitorError::NoDuration {
                project,
                build: build_id.unwrap_or_else(|| "(no build-id)".into()),
                detail: if warnings.is_empty() { String::new() } else { format!(" ({})", warnings.join("; ")) },
            });
        }
        self.assess(facts, Kind::FinishedSlow, warnings).await
    }

    /// Judges a running build seen by the sweep (or given by a caller) and notifies once if it is
    /// overdue.
    pub async fn check_running(&self, facts: BuildFacts) -> Result<BuildOutcome, MonitorError> {
        self.assess(facts, Kind::RunningOverdue, vec![]).await
    }

    async fn sweep(&self, account: Option<String>) -> Result<Vec<BuildOutcome>, MonitorError> {
        let now = self.clock.now();
        let names = self.codebuild.list_names().await.map_err(MonitorError::Listing)?;
        let in_scope: Vec<String> =
            names.into_iter().filter(|n| self.config.common.projects.check(n).is_ok()).collect();
        let mut ids = Vec::new();
        for name in &in_scope {
            match self.codebuild.recent_build_ids(name, SWEEP_BUILDS_PER_PROJECT).await {
                Ok(found) => ids.extend(found),
                Err(e) => warn!(action = "sweep", project = %name, error = %e, "could not list recent builds"),
            }
        }
        let builds: Vec<BuildFacts> =
            self.codebuild.get_builds(&ids).await.map_err(MonitorError::Listing)?.iter().map(build_facts).collect();
        let lookback = chrono::Duration::hours(i64::from(self.config.sweep_lookback_hours));
        let running = running_candidates(builds, now, lookback, |project| {
            self.config.expected.for_project(project).0.min_high_minutes()
        });
        info!(
            action = "sweep",
            projects = in_scope.len(),
            builds = ids.len(),
            candidates = running.len(),
            "swept recent builds"
        );
        let mut outcomes = Vec::new();
        let mut failure = None;
        for mut build in running {
            if build.account.is_none() {
                build.account = account.clone();
            }
            let span = info_span!("monitor", project = %build.project, build_id = build.build_id.as_deref().unwrap_or("-"), action = "check-running");
            match self.assess(build, Kind::RunningOverdue, vec![]).instrument(span).await {
                Ok(o) => outcomes.push(o),
                Err(e) => failure = Some(e),
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(outcomes),
        }
    }

    async fn history(&self, facts: &BuildFacts) -> Result<HistorySummary, AwsError> {
        // Failed and stopped builds are in the list too: read a few more than the count needed.
        let limit = (self.config.baseline_builds * 2).clamp(10, 200);
        let ids = self.codebuild.recent_build_ids(&facts.project, limit).await?;
        let ids: Vec<String> = ids.into_iter().filter(|id| Some(id.as_str()) != facts.build_id.as_deref()).collect();
        let builds: Vec<BuildFacts> = self.codebuild.get_builds(&ids).await?.iter().map(build_facts).collect();
        Ok(summarize(&builds, facts.build_id.as_deref(), facts.start, self.config.baseline_builds))
    }

    fn bucket(&self, facts: &BuildFacts) -> Option<String> {
        let region = facts.region.as_deref().unwrap_or(&self.region);
        self.config.common.layout.resolve_bucket(facts.account.as_deref(), region)
    }

    async fn assess(
        &self,
        facts: BuildFacts,
        kind: Kind,
        mut warnings: Vec<String>,
    ) -> Result<BuildOutcome, MonitorError> {
        let now = self.clock.now();
        let history = self.history(&facts).await.map_err(|e| e.to_string());
        if let Err(e) = &history {
            warnings.push(format!("build history unavailable: {e}"));
        }
        let bucket = self.bucket(&facts);
        let managed_cache = bucket.as_ref().map(|b| self.config.common.layout.location(b, &facts.project));
        // The cache to look into: where this build's S3 cache lives, else where the guard puts it.
        let checked_cache = match facts.cache.as_ref().filter(|c| c.is_s3()).and_then(|c| c.location.clone()) {
            Some(location) => Some(location.trim_end_matches('/').to_owned()),
            None => managed_cache.clone(),
        };
        let cache_empty = match &checked_cache {
            Some(location) => {
                let (cache_bucket, prefix) = location.split_once('/').unwrap_or((location.as_str(), ""));
                match prefix_is_empty(&self.s3, cache_bucket, prefix).await {
                    Ok(empty) => Some(empty),
                    Err(e) => {
                        warnings.push(format!("could not check the cache at s3://{location}/: {e}"));
                        None
                    }
                }
            }
            None => None,
        };
        let (profile, profile_key) = self.config.expected.for_project(&facts.project);
        let variable = self.config.scenario_variable.as_str();
        let scenario = classify(&ScenarioInputs {
            variable,
            exported: facts.exported.get(variable).map(String::as_str).filter(|v| !v.trim().is_empty()),
            source_version: facts.source_version.as_deref(),
            history: Some(history.as_ref().map_err(String::as_str)),
            cache_empty,
            cache_location: checked_cache.as_deref(),
        });
        let input = JudgeInput {
            kind,
            build: &facts,
            now,
            expected: scenario.scenario.expected(profile),
            expected_from: profile_key.to_owned(),
            scenario,
            history: history.as_ref().ok(),
            policy: BaselinePolicy {
                factor: self.config.baseline_factor,
                min_samples: self.config.baseline_min_samples,
            },
            managed_cache: managed_cache.clone(),
        };
        let verdict = judge(&input).ok_or_else(|| MonitorError::NoDuration {
            project: facts.project.clone(),
            build: facts.build_id.clone().unwrap_or_default(),
            detail: String::new(),
        })?;
        for w in &warnings {
            warn!(action = "judge", warning = %w, "judged with incomplete information");
        }
        let mut outcome = BuildOutcome {
            project: facts.project.clone(),
            build_id: facts.build_id.clone(),
            status: facts.status.clone(),
            outcome: Outcome::WithinTime,
            reason: verdict.summary.clone(),
            verdict: None,
            subject: None,
            warnings,
        };
        if !verdict.slow {
            info!(action = "within-time", summary = %verdict.summary, "build within its expected time: nothing sent");
            outcome.verdict = Some(verdict);
            return Ok(outcome);
        }
        let notice = render::notice(&facts, &verdict);
        outcome.subject = Some(notice.subject().to_owned());
        outcome.verdict = Some(verdict);
        if self.config.common.dry_run {
            info!(action = "would-notify", subject = %notice.subject(), "dry run: slow build, notice not sent");
            outcome.outcome = Outcome::WouldNotify;
            return Ok(outcome);
        }
        let marker_name = format!("{}--{}", kind.as_str(), facts.build_id.as_deref().unwrap_or(&facts.project));
        let markers = bucket.as_ref().map(|b| Markers::new(self.s3.clone(), b.clone(), MARKER_NAMESPACE));
        let mut claimed = false;
        if let Some(markers) = &markers {
            let body = serde_json::json!({"kind": kind.as_str(), "project": facts.project, "build_id": facts.build_id,
                "subject": notice.subject(), "at": now.to_rfc3339()})
            .to_string();
            match markers.claim(&marker_name, &body).await {
                Ok(true) => claimed = true,
                Ok(false) => {
                    info!(action = "already-notified", marker = %markers.key(&marker_name), "this build and kind were already notified");
                    outcome.outcome = Outcome::AlreadyNotified;
                    outcome.reason =
                        format!("{}; already notified ({} exists)", outcome.reason, markers.key(&marker_name));
                    return Ok(outcome);
                }
                Err(e) => {
                    // Better a possible duplicate than a lost notice.
                    warn!(action = "notify", error = %e, "could not record the once-only marker: sending anyway");
                    outcome
                        .warnings
                        .push(format!("could not record the once-only marker ({e}): a redelivery may send this again"));
                }
            }
        } else {
            outcome
                .warnings
                .push("no cache bucket known (no CACHE_BUCKET, no account in the event): no once-only marker".into());
        }
        match self.publisher.publish_logged(&notice).await {
            Ok(_) => {
                outcome.outcome = Outcome::Notified;
                Ok(outcome)
            }
            Err(e) => {
                if let (true, Some(markers)) = (claimed, &markers)
                    && let Err(release) = markers.release(&marker_name).await
                {
                    error!(action = "release", error = %release, "could not release the marker: this notice will not be retried");
                }
                Err(MonitorError::Publish {
                    build: facts.build_id.clone().unwrap_or(facts.project.clone()),
                    kind: kind.as_str(),
                    error: e,
                })
            }
        }
    }
}

/// The builds a sweep checks: IN_PROGRESS, started within the lookback, and already running longer
/// than the shortest expected time of their project (shorter ones cannot be overdue in any
/// scenario, so they cost no history lookup).
pub fn running_candidates(
    builds: Vec<BuildFacts>,
    now: DateTime<Utc>,
    lookback: chrono::Duration,
    shortest_minutes: impl Fn(&str) -> f64,
) -> Vec<BuildFacts> {
    builds
        .into_iter()
        .filter(|b| b.status == BuildStatus::InProgress)
        .filter(|b| b.start.is_some_and(|s| s >= now - lookback && s <= now))
        .filter(|b| b.duration_seconds(now).is_some_and(|d| d as f64 > shortest_minutes(&b.project) * 60.0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn sweep_picks_running_overdue_candidates_only() {
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap();
        let build = |id: &str, status: BuildStatus, started_min_ago: i64| {
            let mut b = BuildFacts::new("p", status);
            b.build_id = Some(id.into());
            b.start = Some(now - chrono::Duration::minutes(started_min_ago));
            b
        };
        let builds = vec![
            build("p:running-long", BuildStatus::InProgress, 30),
            build("p:running-short", BuildStatus::InProgress, 4),
            build("p:done", BuildStatus::Succeeded, 30),
            build("p:ancient", BuildStatus::InProgress, 7 * 60),
        ];
        let picked = running_candidates(builds, now, chrono::Duration::hours(6), |_| 8.0);
        let ids: Vec<_> = picked.iter().filter_map(|b| b.build_id.as_deref()).collect();
        assert_eq!(ids, vec!["p:running-long"]);
    }
}
