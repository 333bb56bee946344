//! The audit: per project, the cache it has now, what the guard would do and why (or why it
//! leaves the cache as it is), the service role's access to the location as the guard found it,
//! how its last build compared with its expected range, and what the monitor's records say of the
//! cache, with a verdict on whether someone needs to look.
//!
//! Composed from the guard's own assessment (`CacheGuard::assess`: the plan with every fact the
//! guard checks before a heal, and the role's access), the monitor's judgement (`recent_builds`,
//! through `monitor::judge_build`) and the monitor's cache records (`monitor::cache_records`); it
//! changes nothing and sends nothing. Only the projects in scope (PROJECT_INCLUDE/EXCLUDE) are
//! read; the others are counted.

use crate::aws::Clients;
use crate::aws::codebuild::CodeBuildProjects;
use crate::aws::s3::{Markers, head_bucket};
use crate::clock::Clock;
use crate::error::{AwsError, AwsErrorKind};
use crate::guard::access::problem_with_current;
use crate::guard::dedup;
use crate::guard::history::heals;
use crate::guard::loops::LoopRule;
use crate::guard::owner::{Owner, owner_of};
use crate::guard::plan::{HealAction, HealPlan};
use crate::guard::{Assessment, CacheGuard, GuardConfig, LocationAccess};
use crate::monitor::MonitorConfig;
use crate::monitor::cache_records::read_standing;
use crate::monitor::judge::fmt_duration;
use crate::monitor::render_cache::{explain, short};
use crate::monitor::streak::CacheStanding;
use crate::project::{CacheSetting, ProjectSnapshot};
use crate::pruner::deployment::Deployment;
use crate::pruner::state::{StateStore, SweepStanding};
use crate::recent_builds::{BuildRow, ProjectBuilds, read_recent};
use serde::Serialize;
use std::sync::Arc;

/// One project's audit line.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectAudit {
    pub project: String,
    /// The cache as CodeBuild reports it now.
    pub cache: CacheSetting,
    /// What the guard would do, and why (a heal the bucket or the role cannot take is a refusal;
    /// `guard.leave` says why a cache off the managed location is left as it is).
    pub guard: HealPlan,
    /// The service role's access to the cache location, as the guard found it.
    pub access: LocationAccess,
    /// The newest build, judged on its own time against its scenario's range and the baseline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_build: Option<BuildRow>,
    /// What the monitor's per-build records say of the cache.
    pub evidence: Evidence,
    /// Why someone should look at this project; empty when nothing needs attention.
    pub attention: Vec<String>,
    /// What to change: the guard's advice, the statement a role lacks, what a cache problem needs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub advice: Vec<String>,
    /// Who deploys the project, as its tags say (CloudFormation, Terraform).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
    /// The guard's heals of the project within GUARD_HEAL_LOOP_DAYS (None: not read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heals: Option<usize>,
    /// Calls that failed for this project (the rest of its line stands).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<AwsError>,
}

/// The monitor's cache evidence for a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Evidence {
    /// Its records, the newest first (`records` > 0).
    Read(CacheStanding),
    /// No build of the project judged by the monitor yet (not deployed, or the records expired).
    NoRecords,
    /// Not looked for, and why (not on the S3 cache, no usable bucket).
    NotRead { reason: String },
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
    /// What the pruner's state says of its sweeps in this account and region (`Auditor::sweeps`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweeps: Option<SweepStanding>,
}

impl AuditReport {
    /// Projects someone should look at.
    pub fn needing_attention(&self) -> usize {
        self.projects.iter().filter(|p| !p.attention.is_empty()).count()
    }

    /// Projects whose audit is incomplete because a call failed.
    pub fn errors(&self) -> usize {
        self.projects.iter().filter(|p| !p.errors.is_empty()).count()
    }
}

/// What HeadBucket said of the cache bucket (the guard's view, or why it could not be asked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum BucketStatus {
    Usable {
        region: Option<String>,
    },
    Missing,
    Forbidden {
        reason: String,
    },
    /// S3 answered 301: the bucket is in another region (`region`, when S3 named it), where
    /// CodeBuild projects of this region cannot use it.
    OtherRegion {
        region: Option<String>,
    },
    Unreachable {
        reason: String,
    },
}

/// Why a project needs attention, and what to change: a heal is due or refused, a warning, a role
/// that may not use the cache it has, a last build over its range, a cache not effective.
pub fn attention(
    plan: &HealPlan,
    role: Option<&str>,
    access: &LocationAccess,
    last_build: Option<&BuildRow>,
    evidence: &Evidence,
) -> (Vec<String>, Vec<String>) {
    let mut why = Vec::new();
    // What this project lacks first, then the guard's general advice.
    let mut advice = Vec::new();
    match plan.action {
        HealAction::Heal => why.push(format!("cache is {}: the guard would switch it to {}", plan.before, plan.after)),
        HealAction::Refuse => {
            why.push(format!("off the S3 cache, and the guard would refuse to heal: {}", plan.reason))
        }
        HealAction::NoChange | HealAction::Skip => {}
        HealAction::Keep => why.extend(plan.warnings.iter().cloned()),
    }
    if plan.action == HealAction::NoChange
        && let LocationAccess::Checked { location, result } = access
        && let Some((problem, statement)) = problem_with_current(role, location, result)
    {
        why.push(problem);
        advice.push(statement);
    }
    if let Some(build) = last_build.filter(|b| b.slow) {
        let took = build.judged_seconds.map(fmt_duration).unwrap_or_else(|| "?".into());
        let over = if build.over_expected {
            format!("over the {} expected for {}", build.expected, build.scenario.as_str())
        } else {
            "over its baseline".to_owned()
        };
        let number = build.build_number.map(|n| format!(" #{n}")).unwrap_or_default();
        why.push(format!("last build{number} took {took} of its own time, {over}"));
    }
    if let Evidence::Read(standing) = evidence {
        let at = plan.before.location.as_deref().map_or_else(|| "the cache location".into(), |l| format!("s3://{l}/"));
        for cause in &standing.not_effective {
            let streak = standing.causes.iter().find(|c| c.cause == *cause).map_or(0, |c| c.streak);
            why.push(format!("cache not effective: {} in the last {streak} builds", short(*cause)));
            advice.push(explain(*cause, &at));
        }
    }
    advice.extend(plan.advice.iter().cloned());
    (why, advice)
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

/// The audit's inputs, read once: the projects in scope, the bucket the guard would use, and the
/// guard's assessment of each project (in the order of `projects`).
pub struct AuditScope {
    pub bucket: String,
    pub bucket_status: BucketStatus,
    pub projects: Vec<ProjectSnapshot>,
    pub assessments: Vec<Result<Assessment, AwsError>>,
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
            Err(e) if e.is(AwsErrorKind::WrongRegion) => BucketStatus::OtherRegion { region: e.bucket_region },
            Err(e) => BucketStatus::Unreachable { reason: e.to_string() },
        };
        let assessments = self.guard.assess(bucket.clone(), &projects).await;
        Ok(AuditScope { bucket, bucket_status, projects, assessments, out_of_scope, vanished })
    }

    /// One project: the guard's assessment, its last build (ListBuildsForProject, BatchGetBuilds)
    /// and, on the S3 cache, the monitor's records (one ListObjectsV2).
    pub async fn audit_project(&self, scope: &AuditScope, index: usize) -> ProjectAudit {
        let project = &scope.projects[index];
        let mut errors = Vec::new();
        let (plan, access) = match &scope.assessments[index] {
            Ok(a) => (a.plan.clone(), a.access.clone()),
            Err(e) => {
                errors.push(e.clone());
                (unchecked(project, e), LocationAccess::NotChecked { reason: format!("not assessed: {e}") })
            }
        };
        let last_build = match read_recent(&self.codebuild, &project.name, 1, &self.monitor, self.clock.now()).await {
            Ok(ProjectBuilds { mut builds, .. }) => builds.drain(..).next(),
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let evidence = self.evidence(scope, project).await.unwrap_or_else(|e| {
            let reason = format!("could not be read: {e}");
            errors.push(e);
            Evidence::NotRead { reason }
        });
        let heals = match self.heals(scope, &project.name).await {
            Ok(heals) => heals,
            Err(e) => {
                errors.push(e);
                None
            }
        };
        let (mut attention, mut advice) =
            attention(&plan, project.service_role.as_deref(), &access, last_build.as_ref(), &evidence);
        if let BucketStatus::OtherRegion { region } = &scope.bucket_status
            && project.cache.s3_bucket() == Some(scope.bucket.as_str())
        {
            let at = region.as_deref().unwrap_or("another region");
            attention.push(format!(
                "its cache bucket {} is in {at}, not in {}: CodeBuild needs the S3 cache bucket in the project's region, so the cache never restores",
                scope.bucket, self.region
            ));
            advice.push(format!("Move the project's cache to a bucket in {}.", self.region));
        }
        ProjectAudit {
            project: project.name.clone(),
            cache: project.cache.clone(),
            guard: plan,
            access,
            last_build,
            evidence,
            attention,
            advice,
            owner: owner_of(&project.tags),
            heals,
            errors,
        }
    }

    /// The guard's heals of the project within the heal-loop window (one ListObjectsV2 of its heal
    /// markers), when the cache bucket can hold them.
    async fn heals(&self, scope: &AuditScope, project: &str) -> Result<Option<usize>, AwsError> {
        if !matches!(scope.bucket_status, BucketStatus::Usable { .. }) {
            return Ok(None);
        }
        let markers = Markers::new(self.s3.clone(), scope.bucket.clone(), dedup::NAMESPACE);
        let healed = heals(&self.s3, &markers, &scope.bucket, project).await?;
        let rule = LoopRule { heals: self.guard_config.heal_loop_heals, days: self.guard_config.heal_loop_days };
        Ok(Some(rule.recent(&healed, self.clock.now())))
    }

    /// The monitor's records of a project on the S3 cache, in the cache bucket.
    async fn evidence(&self, scope: &AuditScope, project: &ProjectSnapshot) -> Result<Evidence, AwsError> {
        if !project.cache.is_s3() {
            return Ok(Evidence::NotRead { reason: "not on the S3 cache".into() });
        }
        match &scope.bucket_status {
            BucketStatus::Usable { .. } => {}
            BucketStatus::OtherRegion { region } => {
                let at = region.as_deref().unwrap_or("another region");
                let reason = format!("the cache bucket {} is in {at}, not in {}", scope.bucket, self.region);
                return Ok(Evidence::NotRead { reason });
            }
            _ => {
                return Ok(Evidence::NotRead { reason: format!("the cache bucket {} is not usable", scope.bucket) });
            }
        }
        let standing = read_standing(&self.s3, &scope.bucket, &project.name, &self.monitor).await?;
        Ok(if standing.records == 0 { Evidence::NoRecords } else { Evidence::Read(standing) })
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
            sweeps: None,
        }
    }

    /// When the pruner's last full sweep finished here: its state for this account and region, in
    /// the cache bucket (one GetObject). Needs the account (the state's key names it).
    pub async fn sweeps(&self, scope: &AuditScope, account: Option<&str>) -> SweepStanding {
        let Some(account) = account else {
            return SweepStanding::NotRead { reason: "the AWS account is unknown".into() };
        };
        if !matches!(scope.bucket_status, BucketStatus::Usable { .. }) {
            return SweepStanding::NotRead { reason: format!("the cache bucket {} is not usable", scope.bucket) };
        }
        let deployment = Deployment::new(&scope.bucket, Some(account), &self.region);
        match StateStore::new(self.s3.clone(), &deployment).load().await {
            Ok(loaded) => SweepStanding::of(&loaded),
            Err(e) => SweepStanding::NotRead { reason: e.to_string() },
        }
    }

    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
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
        leave: None,
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
            leave: None,
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
            log: None,
            from_log: None,
            environment_type: None,
            compute_type: None,
            minutes_over_range: 0.0,
            cost_over_usd: None,
        }
    }

    fn none() -> LocationAccess {
        LocationAccess::NotChecked { reason: "only checked before a heal".into() }
    }

    fn why(plan: &HealPlan, last: Option<&BuildRow>) -> Vec<String> {
        attention(plan, None, &none(), last, &Evidence::NoRecords).0
    }

    #[test]
    fn attention_follows_the_plan_and_the_last_build() {
        assert!(why(&plan(HealAction::NoChange), None).is_empty());
        assert!(why(&plan(HealAction::Skip), Some(&row(false, false))).is_empty());
        let heal = why(&plan(HealAction::Heal), None);
        assert_eq!(heal, vec!["cache is LOCAL (LOCAL_DOCKER_LAYER_CACHE): the guard would switch it to S3 at b/p"]);
        let refuse = why(&plan(HealAction::Refuse), None);
        assert!(refuse[0].contains("refuse") && refuse[0].contains("does not exist"), "{refuse:?}");
        let slow = why(&plan(HealAction::NoChange), Some(&row(true, true)));
        assert_eq!(slow, vec!["last build #7 took 15 min 0 s of its own time, over the 8-12 min expected for app"]);
        let baseline = why(&plan(HealAction::NoChange), Some(&row(true, false)));
        assert!(baseline[0].ends_with("over its baseline"), "{baseline:?}");
    }

    #[test]
    fn a_role_that_may_not_use_the_cache_in_use_needs_attention_with_the_statement() {
        use crate::aws::iam::{Decision, Simulated};
        use crate::guard::access::judge;
        let mut on_s3 = plan(HealAction::NoChange);
        on_s3.before = CacheSetting::s3("b/p");
        on_s3.after = on_s3.before.clone();
        let put = Simulated {
            action: "s3:PutObject".into(),
            resource: "arn:aws:s3:::b/p/*".into(),
            decision: Decision::ImplicitDeny,
            matched_policies: vec![],
            missing_context: vec![],
        };
        let get = Simulated { action: "s3:GetObject".into(), decision: Decision::Allowed, ..put.clone() };
        let denied = LocationAccess::Checked { location: "b/p".into(), result: judge(&[get, put], &[]) };
        let role = Some("arn:aws:iam::123456789012:role/r");
        let (why, advice) = attention(&on_s3, role, &denied, None, &Evidence::NoRecords);
        assert_eq!(why.len(), 1, "{why:?}");
        assert!(why[0].contains("may not use the cache at b/p: s3:PutObject not allowed"), "{why:?}");
        assert!(advice[0].contains("\"Resource\": \"arn:aws:s3:::b/p/*\""), "{advice:?}");
    }

    #[test]
    fn a_cache_not_effective_needs_attention_with_what_to_change() {
        use crate::monitor::streak::{Record, standing};
        let mut on_s3 = plan(HealAction::NoChange);
        on_s3.before = CacheSetting::s3("b/p");
        let record = |i: i64, code: &str| Record {
            start_ms: 1_795_166_101_000 - i * 60_000,
            build: format!("b{i}"),
            problems: crate::monitor::evidence::Problems::from_code(code).unwrap(),
        };
        let records = vec![record(0, "nnyn"), record(1, "nnyn"), record(2, "nnyn")];
        let evidence = Evidence::Read(standing(&records, 3));
        let (why, advice) = attention(&on_s3, None, &none(), None, &evidence);
        assert_eq!(why, vec!["cache not effective: no cache in the buildspec in the last 3 builds"]);
        assert!(advice[0].contains("Cache is not defined in the buildspec"), "{advice:?}");
        let two = Evidence::Read(standing(&records[..2], 3));
        assert!(attention(&on_s3, None, &none(), None, &two).0.is_empty(), "two builds are no streak of three");
    }
}
