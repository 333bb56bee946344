//! Carries heal plans out: reads projects, probes the bucket once, updates caches, notifies.

use super::GuardConfig;
use super::notice::{self, Failure, NoticeContext};
use super::plan::{BucketState, GuardPolicy, HealAction, HealPlan, gate_on_bucket, plan_project};
use crate::aws::Clients;
use crate::aws::codebuild::CodeBuildProjects;
use crate::aws::s3::head_bucket;
use crate::aws::sns::SnsPublisher;
use crate::error::{AwsError, AwsErrorKind};
use crate::event::{EventError, Trigger};
use crate::notify::Notice;
use crate::project::CacheSetting;
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::Mutex;
use tracing::{Instrument, error, info, info_span, warn};

/// Why an invocation failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    #[error("invalid event: {0}")]
    Event(#[from] EventError),
    #[error(
        "cannot tell the AWS account to name the cache bucket codebuild-cache-<account>-<region>: the event has no `account`; set CACHE_BUCKET"
    )]
    UnknownAccount,
    #[error("cannot list projects for the sweep: {0}")]
    Listing(AwsError),
    #[error("{failed} of {total} projects could not be checked or healed: {first}")]
    ProjectsFailed { failed: usize, total: usize, first: String },
}

impl GuardError {
    /// The error's name as Lambda reports it (`errorType`), so logs and alarms show the cause.
    pub fn error_type(&self) -> &'static str {
        match self {
            GuardError::Event(_) => "CacheGuard.InvalidEvent",
            GuardError::UnknownAccount => "CacheGuard.UnknownAccount",
            GuardError::Listing(_) => "CacheGuard.ListingFailed",
            GuardError::ProjectsFailed { .. } => "CacheGuard.ProjectsFailed",
        }
    }
}

/// What happened to one project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Unchanged,
    Healed,
    /// Dry run: the heal that would have been made.
    WouldHeal,
    Skipped,
    Refused,
    Failed,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProjectOutcome {
    pub project: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_id: Option<String>,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<CacheSetting>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<CacheSetting>,
    pub reason: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub advice: Vec<String>,
    /// Whether a notice was published to the topic (false with no topic configured: logged only).
    pub notified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<AwsError>,
}

/// The JSON summary an invocation returns and logs.
#[derive(Debug, Clone, Serialize)]
pub struct GuardReport {
    pub trigger: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    pub dry_run: bool,
    pub bucket: String,
    pub projects: Vec<ProjectOutcome>,
}

impl GuardReport {
    pub fn count(&self, outcome: Outcome) -> usize {
        self.projects.iter().filter(|p| p.outcome == outcome).count()
    }
}

/// The guard, built once per cold start.
pub struct CacheGuard {
    config: GuardConfig,
    projects: CodeBuildProjects,
    s3: aws_sdk_s3::Client,
    publisher: SnsPublisher,
    region: String,
    recent_notices: Mutex<RecentKeys>,
}

impl CacheGuard {
    pub fn new(config: GuardConfig, clients: &Clients) -> Self {
        let publisher = SnsPublisher::new(clients.sns.clone(), config.common.topic_arn.clone());
        CacheGuard {
            projects: CodeBuildProjects::new(clients.codebuild.clone()),
            s3: clients.s3.clone(),
            publisher,
            region: clients.region_or_default().to_owned(),
            config,
            recent_notices: Mutex::new(RecentKeys::new(1024)),
        }
    }

    /// Handles one event: a build state change checks that project, a scheduled event sweeps all.
    pub async fn handle(&self, event: &serde_json::Value) -> Result<GuardReport, GuardError> {
        let trigger = Trigger::parse(event)?;
        let bucket = self
            .config
            .common
            .layout
            .resolve_bucket(trigger.account(), &self.region)
            .ok_or(GuardError::UnknownAccount)?;
        let policy = GuardPolicy {
            bucket: bucket.clone(),
            layout: self.config.common.layout.clone(),
            projects: self.config.common.projects.clone(),
            ignore_tag: self.config.ignore_tag.clone(),
            relocate_custom_s3: self.config.relocate_custom_s3,
        };
        let mut run = Run { guard: self, policy, bucket_status: None, event_id: trigger.event_id().map(str::to_owned) };

        let (kind, outcomes) = match &trigger {
            Trigger::BuildStateChange(change) => {
                let span = info_span!("guard", project = %change.project, build_id = change.build_id.as_deref().unwrap_or("-"), status = %change.status, action = "check");
                let outcome = async {
                    if let Some(region) = change.region.as_deref().filter(|r| *r != self.region) {
                        return ProjectOutcome::skipped(
                            &change.project,
                            change.build_id.clone(),
                            format!(
                                "event from region {region}, but this guard manages {}; deploy the guard in {region}",
                                self.region
                            ),
                        );
                    }
                    run.check_projects(std::slice::from_ref(&change.project), change.build_id.clone()).await.remove(0)
                }
                .instrument(span)
                .await;
                ("build-state-change", vec![outcome])
            }
            Trigger::Scheduled(_) => {
                let span = info_span!("guard", project = "*", build_id = "-", action = "sweep");
                let outcomes = async {
                    let names = self.projects.list_names().await.map_err(GuardError::Listing)?;
                    info!(projects = names.len(), "sweeping every project in the region");
                    Ok::<_, GuardError>(run.check_projects(&names, None).await)
                }
                .instrument(span)
                .await?;
                ("scheduled-sweep", outcomes)
            }
        };

        let report = GuardReport {
            trigger: kind,
            event_id: run.event_id.clone(),
            dry_run: self.config.common.dry_run,
            bucket,
            projects: outcomes,
        };
        let failed: Vec<&ProjectOutcome> = report.projects.iter().filter(|p| p.outcome == Outcome::Failed).collect();
        info!(
            action = "summary",
            healed = report.count(Outcome::Healed),
            would_heal = report.count(Outcome::WouldHeal),
            unchanged = report.count(Outcome::Unchanged),
            skipped = report.count(Outcome::Skipped),
            refused = report.count(Outcome::Refused),
            failed = failed.len(),
            report = %serde_json::to_string(&report).unwrap_or_default(),
            "guard run finished"
        );
        if let Some(first) = failed.first() {
            // Fail the invocation so EventBridge retries and the error alarm fires; notices were
            // already sent and are not repeated for the same cause.
            return Err(GuardError::ProjectsFailed {
                failed: failed.len(),
                total: report.projects.len(),
                first: format!("{}: {}", first.project, first.reason),
            });
        }
        Ok(report)
    }

    async fn notify(&self, key: String, notice: Notice) -> bool {
        if !self.recent_notices.lock().map(|mut r| r.insert(key)).unwrap_or(true) {
            info!(action = "notify", subject = %notice.subject(), "same notice already sent by this instance: not repeated");
            return false;
        }
        matches!(self.publisher.publish_logged(&notice).await, Ok(Some(_)))
    }
}

/// The state of one invocation: the policy and the bucket status, probed at most once.
struct Run<'a> {
    guard: &'a CacheGuard,
    policy: GuardPolicy,
    bucket_status: Option<BucketState>,
    event_id: Option<String>,
}

impl Run<'_> {
    async fn check_projects(&mut self, names: &[String], build_id: Option<String>) -> Vec<ProjectOutcome> {
        // Patterns first: out-of-scope projects cost no CodeBuild call.
        let mut outcomes = Vec::with_capacity(names.len());
        let mut to_read = Vec::new();
        for name in names {
            match self.policy.projects.check(name) {
                Err(why) => {
                    outcomes.push(ProjectOutcome::skipped(name, build_id.clone(), format!("out of scope: {why}")))
                }
                Ok(()) => to_read.push(name.clone()),
            }
        }
        if to_read.is_empty() {
            return outcomes;
        }
        let (found, missing) = match self.guard.projects.get(&to_read).await {
            Ok(read) => read,
            Err(e) => {
                error!(action = "read", error = %e, "could not read projects");
                for name in &to_read {
                    outcomes.push(self.failed(name, build_id.clone(), None, e.clone()).await);
                }
                return outcomes;
            }
        };
        for name in missing {
            info!(action = "skip", project = %name, "project no longer exists");
            outcomes.push(ProjectOutcome::skipped(
                &name,
                build_id.clone(),
                "project does not exist (deleted before the event was handled?)".into(),
            ));
        }
        for project in found {
            let plan = plan_project(&project, &self.policy);
            let plan = if plan.action == HealAction::Heal {
                let status = self.bucket_status().await;
                gate_on_bucket(plan, &self.policy.bucket, &status, &self.guard.region)
            } else {
                plan
            };
            outcomes.push(self.carry_out(plan, build_id.clone()).await);
        }
        outcomes
    }

    async fn bucket_status(&mut self) -> BucketState {
        if self.bucket_status.is_none() {
            let status = match head_bucket(&self.guard.s3, &self.policy.bucket).await {
                Ok(region) => BucketState::Usable { region },
                Err(e) if e.is(AwsErrorKind::NotFound) => BucketState::Missing,
                Err(e) if e.is(AwsErrorKind::AccessDenied) => BucketState::Forbidden { reason: e.to_string() },
                Err(e) => BucketState::Unreachable { reason: e.to_string() },
            };
            info!(action = "probe-bucket", bucket = %self.policy.bucket, status = ?status, "checked the cache bucket");
            self.bucket_status = Some(status);
        }
        self.bucket_status.clone().unwrap_or(BucketState::Missing)
    }

    async fn carry_out(&self, plan: HealPlan, build_id: Option<String>) -> ProjectOutcome {
        let dry_run = self.guard.config.common.dry_run;
        let mut outcome = ProjectOutcome {
            project: plan.project.clone(),
            build_id,
            outcome: Outcome::Unchanged,
            before: Some(plan.before.clone()),
            after: Some(plan.after.clone()),
            reason: plan.reason.clone(),
            advice: plan.advice.clone(),
            notified: false,
            error: None,
        };
        match plan.action {
            HealAction::NoChange => {
                info!(action = "none", project = %plan.project, cache = %plan.before, reason = %plan.reason, "no change needed");
            }
            HealAction::Skip => {
                info!(action = "skip", project = %plan.project, reason = %plan.reason, "skipped");
                outcome.outcome = Outcome::Skipped;
            }
            HealAction::Refuse => {
                warn!(action = "refuse", project = %plan.project, reason = %plan.reason, "heal refused");
                outcome.outcome = Outcome::Refused;
                if !dry_run {
                    let key = format!("refuse/{}/{}", plan.project, plan.reason);
                    outcome.notified = self.guard.notify(key, notice::refused(&plan, &self.notice_context())).await;
                }
            }
            HealAction::Heal if dry_run => {
                info!(action = "would-heal", project = %plan.project, before = %plan.before, after = %plan.after, "dry run: would heal");
                outcome.outcome = Outcome::WouldHeal;
            }
            HealAction::Heal => match self.guard.projects.update_cache(&plan.project, &plan.after).await {
                Ok(applied) if applied == plan.after => {
                    info!(action = "heal", project = %plan.project, before = %plan.before, after = %applied, "healed: cache switched to S3");
                    outcome.outcome = Outcome::Healed;
                    let key =
                        format!("heal/{}/{}/{}", plan.project, self.event_id.as_deref().unwrap_or("-"), plan.before);
                    outcome.notified = self.guard.notify(key, notice::healed(&plan, &self.notice_context())).await;
                }
                Ok(applied) => {
                    let e = AwsError {
                        operation: "codebuild:UpdateProject",
                        kind: AwsErrorKind::Service,
                        code: "CacheNotApplied".into(),
                        message: format!("CodeBuild reports the cache as {applied} after the update"),
                    };
                    return self.failed(&plan.project, outcome.build_id, Some(plan.before.clone()), e).await;
                }
                Err(e) => {
                    return self.failed(&plan.project, outcome.build_id, Some(plan.before.clone()), e).await;
                }
            },
        }
        outcome
    }

    async fn failed(
        &self,
        project: &str,
        build_id: Option<String>,
        before: Option<CacheSetting>,
        error: AwsError,
    ) -> ProjectOutcome {
        error!(action = "fail", project = %project, error = %error, "could not check or heal the project");
        let reason = error.to_string();
        let mut outcome = ProjectOutcome {
            project: project.to_owned(),
            build_id,
            outcome: Outcome::Failed,
            before: before.clone(),
            after: before.clone(),
            reason: reason.clone(),
            advice: vec![],
            notified: false,
            error: Some(error.clone()),
        };
        if !self.guard.config.common.dry_run {
            let key = format!("fail/{project}/{}/{}", error.operation, error.code);
            let failure = Failure { project, before: before.as_ref(), reason: &reason };
            outcome.notified = self.guard.notify(key, notice::failed(&failure, &self.notice_context())).await;
        }
        outcome
    }

    fn notice_context(&self) -> NoticeContext<'_> {
        NoticeContext { region: &self.guard.region, event_id: self.event_id.as_deref() }
    }
}

impl ProjectOutcome {
    fn skipped(project: &str, build_id: Option<String>, reason: String) -> Self {
        ProjectOutcome {
            project: project.to_owned(),
            build_id,
            outcome: Outcome::Skipped,
            before: None,
            after: None,
            reason,
            advice: vec![],
            notified: false,
            error: None,
        }
    }
}

/// A bounded set of recently used keys: a warm instance does not repeat the same notice when
/// EventBridge redelivers an event or a sweep finds the same refusal again.
struct RecentKeys {
    order: VecDeque<String>,
    capacity: usize,
}

impl RecentKeys {
    fn new(capacity: usize) -> Self {
        RecentKeys { order: VecDeque::with_capacity(capacity), capacity }
    }

    /// True when the key was not there (and now is).
    fn insert(&mut self, key: String) -> bool {
        if self.order.contains(&key) {
            return false;
        }
        if self.order.len() == self.capacity {
            self.order.pop_front();
        }
        self.order.push_back(key);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::RecentKeys;

    #[test]
    fn recent_keys_are_bounded() {
        let mut r = RecentKeys::new(2);
        assert!(r.insert("a".into()));
        assert!(!r.insert("a".into()));
        assert!(r.insert("b".into()));
        assert!(r.insert("c".into()));
        assert!(r.insert("a".into()), "a was evicted");
    }
}
