//! The audit: per project, the cache it has now, what the guard would do and why, and how its last
//! build compared with its expected range, with a verdict on whether someone needs to look.
//!
//! Composed from the guard's own assessment (`CacheGuard::assess`: the plan with every fact the
//! guard checks before a heal: the bucket, the service role's access, a shared location, the fleet)
//! and the monitor's judgement (`recent_builds`); it changes nothing and sends nothing.
//! Only the projects in scope (PROJECT_INCLUDE/EXCLUDE) are read; the others are listed by name.

use crate::aws::Clients;
use crate::aws::codebuild::CodeBuildProjects;
use crate::aws::s3::head_bucket;
use crate::clock::Clock;
use crate::error::{AwsError, AwsErrorKind};
use crate::guard::plan::{HealAction, HealPlan};
use crate::guard::{CacheGuard, GuardConfig};
use crate::monitor::MonitorConfig;
use crate::monitor::judge::fmt_duration;
use crate::project::{CacheSetting, ProjectSnapshot};
use crate::recent_builds::{BuildRow, ProjectBuilds, read_recent};
use serde::Serialize;
use std::sync::Arc;

/// One project's audit line.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectAudit {
    pub project: String,
    /// The cache as CodeBuild reports it now.
    pub cache: CacheSetting,
    /// What the guard would do, and why (a heal the bucket cannot take is a refusal).
    pub guard: HealPlan,
    /// The newest build, judged against its scenario's range and the project's baseline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_build: Option<BuildRow>,
    /// Why someone should look at this project; empty when nothing needs attention.
    pub attention: Vec<String>,
    /// The project's builds could not be read (the rest of its line stands).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<AwsError>,
}

/// The whole audit.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    pub region: String,
    pub bucket: String,
    pub bucket_status: BucketStatus,
    pub projects: Vec<ProjectAudit>,
    /// Projects PROJECT_INCLUDE/EXCLUDE leave out: not read, not judged.
    pub out_of_scope: Vec<String>,
    /// Listed by ListProjects but gone by the time BatchGetProjects read them.
    pub vanished: Vec<String>,
}

impl AuditReport {
    /// Projects someone should look at.
    pub fn needing_attention(&self) -> usize {
        self.projects.iter().filter(|p| !p.attention.is_empty()).count()
    }

    /// Projects whose audit is incomplete because a call failed.
    pub fn errors(&self) -> usize {
        self.projects.iter().filter(|p| p.error.is_some()).count()
    }
}

/// What HeadBucket said of the cache bucket (the guard's view, or why it could not be asked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum BucketStatus {
    Usable { region: Option<String> },
    Missing,
    Forbidden { reason: String },
    Unreachable { reason: String },
}

/// Why a project needs attention: a heal is due or refused, or its last build was slow.
pub fn attention(plan: &HealPlan, last_build: Option<&BuildRow>) -> Vec<String> {
    let mut why = Vec::new();
    match plan.action {
        HealAction::Heal => why.push(format!("cache is {}: the guard would switch it to {}", plan.before, plan.after)),
        HealAction::Refuse => {
            why.push(format!("off the S3 cache, and the guard would refuse to heal: {}", plan.reason))
        }
        HealAction::NoChange | HealAction::Skip => {}
        HealAction::Keep => why.extend(plan.warnings.iter().cloned()),
    }
    if let Some(build) = last_build.filter(|b| b.slow) {
        let took = build.duration_seconds.map(fmt_duration).unwrap_or_else(|| "?".into());
        let over = if build.over_expected {
            format!("over the {} expected for {}", build.expected, build.scenario.as_str())
        } else {
            "over its baseline".to_owned()
        };
        let number = build.build_number.map(|n| format!(" #{n}")).unwrap_or_default();
        why.push(format!("last build{number} took {took}, {over}"));
    }
    why
}

/// Reads and judges projects for the audit. Built once; `audit_project` may run concurrently.
pub struct Auditor {
    guard_config: GuardConfig,
    guard: CacheGuard,
    monitor: MonitorConfig,
    codebuild: CodeBuildProjects,
    s3: aws_sdk_s3::Client,
    region: String,
    clock: Arc<dyn Clock>,
}

/// The audit's inputs, read once: the projects in scope, the bucket the guard would use, and what
/// the guard would decide for each project (in the order of `projects`).
pub struct AuditScope {
    pub bucket: String,
    pub bucket_status: BucketStatus,
    pub projects: Vec<ProjectSnapshot>,
    pub plans: Vec<Result<HealPlan, AwsError>>,
    pub out_of_scope: Vec<String>,
    pub vanished: Vec<String>,
}

impl Auditor {
    pub fn new(guard: GuardConfig, monitor: MonitorConfig, clients: &Clients, clock: Arc<dyn Clock>) -> Self {
        Auditor {
            guard: CacheGuard::new(guard.clone(), clients).with_clock(clock.clone()),
            guard_config: guard,
            monitor,
            codebuild: CodeBuildProjects::new(clients.codebuild.clone()),
            s3: clients.s3.clone(),
            region: clients.region_or_default().to_owned(),
            clock,
        }
    }

    /// Every project in the region (all ListProjects pages), the ones in scope read with
    /// BatchGetProjects (by 100), the cache bucket probed (HeadBucket), and the guard's assessment.
    pub async fn scope(&self, account: Option<&str>) -> Result<AuditScope, AuditError> {
        let bucket =
            self.guard_config.common.layout.resolve_bucket(account, &self.region).ok_or(AuditError::UnknownBucket)?;
        let names = self.codebuild.list_names().await.map_err(AuditError::Aws)?;
        let (in_scope, out_of_scope): (Vec<String>, Vec<String>) =
            names.into_iter().partition(|n| self.guard_config.common.projects.check(n).is_ok());
        let (mut projects, vanished) = self.codebuild.get(&in_scope).await.map_err(AuditError::Aws)?;
        projects.sort_by(|a, b| a.name.cmp(&b.name));
        let bucket_status = match head_bucket(&self.s3, &bucket).await {
            Ok(region) => BucketStatus::Usable { region },
            Err(e) if e.is(AwsErrorKind::NotFound) => BucketStatus::Missing,
            Err(e) if e.is(AwsErrorKind::AccessDenied) => BucketStatus::Forbidden { reason: e.to_string() },
            Err(e) => BucketStatus::Unreachable { reason: e.to_string() },
        };
        let plans = self.guard.assess(bucket.clone(), &projects).await;
        Ok(AuditScope { bucket, bucket_status, projects, plans, out_of_scope, vanished })
    }

    /// One project: the guard's plan and its last build (ListBuildsForProject, BatchGetBuilds).
    pub async fn audit_project(&self, scope: &AuditScope, index: usize) -> ProjectAudit {
        let project = &scope.projects[index];
        let (plan, plan_error) = match &scope.plans[index] {
            Ok(plan) => (plan.clone(), None),
            Err(e) => (unchecked(project, e), Some(e.clone())),
        };
        let (last_build, build_error) =
            match read_recent(&self.codebuild, &project.name, 1, &self.monitor, self.clock.now()).await {
                Ok(ProjectBuilds { mut builds, .. }) => (builds.drain(..).next(), None),
                Err(e) => (None, Some(e)),
            };
        let error = plan_error.or(build_error);
        ProjectAudit {
            project: project.name.clone(),
            cache: project.cache.clone(),
            attention: attention(&plan, last_build.as_ref()),
            guard: plan,
            last_build,
            error,
        }
    }

    /// The report from the scope and the per-project lines (in the scope's order).
    pub fn report(&self, scope: AuditScope, projects: Vec<ProjectAudit>) -> AuditReport {
        AuditReport {
            region: self.region.clone(),
            bucket: scope.bucket,
            bucket_status: scope.bucket_status,
            projects,
            out_of_scope: scope.out_of_scope,
            vanished: scope.vanished,
        }
    }
}

/// The line of a project the guard could not assess (an AWS call failed): nothing decided.
fn unchecked(project: &ProjectSnapshot, error: &AwsError) -> HealPlan {
    HealPlan {
        project: project.name.clone(),
        action: HealAction::Skip,
        before: project.cache.clone(),
        after: project.cache.clone(),
        reason: format!("not assessed: {error}"),
        advice: vec![],
        warnings: vec![],
        refusal: None,
    }
}

/// Why the audit could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(
        "cannot name the cache bucket codebuild-cache-<account>-<region>: the account is unknown; set CACHE_BUCKET"
    )]
    UnknownBucket,
    #[error("{0}")]
    Aws(AwsError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::BuildStatus;
    use crate::monitor::expected::Range;
    use crate::monitor::scenario::Scenario;

    fn plan(action: HealAction) -> HealPlan {
        HealPlan {
            project: "p".into(),
            action,
            before: CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]),
            after: CacheSetting::s3("b/p"),
            reason: "bucket b does not exist".into(),
            advice: vec![],
            warnings: vec![],
            refusal: None,
        }
    }

    fn row(slow: bool, over_expected: bool) -> BuildRow {
        BuildRow {
            build_id: "p:1".into(),
            build_number: Some(7),
            status: BuildStatus::Succeeded,
            start: None,
            duration_seconds: Some(900),
            judged_seconds: Some(900),
            queued_seconds: None,
            scenario: Scenario::App,
            scenario_reason: String::new(),
            expected: Range::new(8.0, 12.0),
            expected_from: "*".into(),
            over_expected,
            over_baseline: slow && !over_expected,
            slow,
            summary: String::new(),
        }
    }

    #[test]
    fn attention_follows_the_plan_and_the_last_build() {
        assert!(attention(&plan(HealAction::NoChange), None).is_empty());
        assert!(attention(&plan(HealAction::Skip), Some(&row(false, false))).is_empty());
        let heal = attention(&plan(HealAction::Heal), None);
        assert_eq!(heal, vec!["cache is LOCAL (LOCAL_DOCKER_LAYER_CACHE): the guard would switch it to S3 at b/p"]);
        let refuse = attention(&plan(HealAction::Refuse), None);
        assert!(refuse[0].contains("refuse") && refuse[0].contains("does not exist"), "{refuse:?}");
        let slow = attention(&plan(HealAction::NoChange), Some(&row(true, true)));
        assert_eq!(slow, vec!["last build #7 took 15 min 0 s, over the 8-12 min expected for app"]);
        let baseline = attention(&plan(HealAction::NoChange), Some(&row(true, false)));
        assert!(baseline[0].ends_with("over its baseline"), "{baseline:?}");
    }
}
