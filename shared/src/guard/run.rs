//! One invocation's checks: read the projects, plan, gather the facts a plan needs (each AWS call
//! at most once per run), carry the plan out. Projects are checked a few at a time; one project's
//! problem stays that project's outcome.

use super::access::{self, CacheResources, Denial, RoleAccess};
use super::dedup;
use super::gates::FleetOverflow;
use super::kms::{self, CacheKey};
use super::look::{LocationLook, LookAt};
use super::plan::{BucketState, GuardPolicy, HealAction, HealPlan, RefusalCause};
use super::report::{Outcome, ProjectOutcome};
use super::service::CacheGuard;
use crate::aws::codebuild::BATCH_LIMIT;
use crate::aws::iam::Simulated;
use crate::aws::s3::{BucketEncryption, Markers, bucket_encryption, head_bucket};
use crate::aws::s3_objects::{ListRequest, list_page};
use crate::error::{AwsError, AwsErrorKind};
use crate::project::{CacheSetting, ProjectSnapshot};
use futures::StreamExt;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::OnceCell;
use tracing::{error, info, warn};

/// Projects checked at once in a sweep: enough to fit 1,000 projects in the timeout, few enough
/// to stay well under CodeBuild's and IAM's request rates.
const CONCURRENCY: usize = 8;

/// A notice a check wants sent; the dispatcher decides (markers, one per sweep).
#[derive(Debug, Clone)]
pub enum Pending {
    Healed(HealPlan),
    Refused(HealPlan),
    Warned(HealPlan),
    Failed { project: String, before: Option<CacheSetting>, reason: String, operation: &'static str },
}

impl Pending {
    /// How long this notice's marker holds: a day, except a heal loop's, which holds for the loop's
    /// window (`loop_days`): the loop is told once, not every day it lasts.
    pub fn repeat(&self, loop_days: u32) -> chrono::Duration {
        match self {
            Pending::Refused(plan) if plan.refusal == Some(RefusalCause::HealLoop) => {
                chrono::Duration::days(i64::from(loop_days))
            }
            _ => dedup::notice_repeat(),
        }
    }

    /// The once-a-day marker for this notice; None for a heal (claimed before UpdateProject).
    pub fn marker(&self) -> Option<String> {
        match self {
            Pending::Healed(_) => None,
            Pending::Refused(plan) => {
                Some(dedup::refusal_marker(&plan.project, plan.refusal.unwrap_or(RefusalCause::Bucket)))
            }
            Pending::Warned(plan) => Some(dedup::warning_marker(&plan.project, &plan.warnings)),
            Pending::Failed { project, operation, .. } => Some(dedup::failure_marker(project, operation)),
        }
    }
}

/// One project's outcome and the notice it wants.
pub struct Checked {
    pub outcome: ProjectOutcome,
    pub notice: Option<Pending>,
}

/// Whether retrying later may succeed: throttling, 5xx, no answer. Everything else (AccessDenied
/// from an SCP or boundary, InvalidInput, NotFound) is permanent for this project.
pub fn is_transient(error: &AwsError) -> bool {
    error.is_transient()
}

/// IAM's answers for one role and resource, or why IAM refused the simulation for good.
type Simulation = Result<Vec<Simulated>, String>;

/// The state of one invocation; every AWS fact is fetched at most once.
pub struct Run<'a> {
    pub guard: &'a CacheGuard,
    pub policy: GuardPolicy,
    bucket: OnceCell<Result<BucketState, AwsError>>,
    locations: OnceCell<Result<HashMap<String, Vec<String>>, AwsError>>,
    /// Simulations by (role, resource ARN).
    access: Mutex<HashMap<(String, String), Simulation>>,
    /// Default encryptions by bucket (Err: why S3 refused to say).
    encryptions: Mutex<HashMap<String, Result<BucketEncryption, String>>>,
    fleets: Mutex<HashMap<String, FleetOverflow>>,
    /// One page of each location looked at before a heal (the root is shared by every project).
    looks: Mutex<HashMap<LookAt, LocationLook>>,
}

impl<'a> Run<'a> {
    pub fn new(guard: &'a CacheGuard, policy: GuardPolicy) -> Self {
        Run {
            guard,
            policy,
            bucket: OnceCell::new(),
            locations: OnceCell::new(),
            access: Mutex::new(HashMap::new()),
            encryptions: Mutex::new(HashMap::new()),
            fleets: Mutex::new(HashMap::new()),
            looks: Mutex::new(HashMap::new()),
        }
    }

    /// Checks the named projects: out-of-scope names cost no call; the rest are read 100 at a time.
    pub async fn check_projects(&self, names: &[String], build_id: Option<String>) -> Vec<Checked> {
        let mut checked = Vec::with_capacity(names.len());
        let mut to_read = Vec::new();
        for name in names {
            match self.policy.projects.check(name) {
                Err(why) => {
                    checked.push(plain(ProjectOutcome::skipped(name, build_id.clone(), format!("out of scope: {why}"))))
                }
                Ok(()) => to_read.push(name.clone()),
            }
        }
        for chunk in to_read.chunks(BATCH_LIMIT) {
            let (found, mut unread) = self.read(chunk, &build_id).await;
            checked.append(&mut unread);
            let results: Vec<Checked> = futures::stream::iter(found)
                .map(|project| self.check(project, build_id.clone()))
                .buffered(CONCURRENCY)
                .collect()
                .await;
            checked.extend(results);
        }
        checked
    }

    /// BatchGetProjects; when AWS refuses a batch for good (one project outside the guard's
    /// permissions), each project is read on its own so only that one is refused.
    async fn read(&self, names: &[String], build_id: &Option<String>) -> (Vec<ProjectSnapshot>, Vec<Checked>) {
        let mut unread = Vec::new();
        let (found, missing) = match self.guard.projects.get(names).await {
            Ok(read) => read,
            Err(e) if names.len() > 1 && !is_transient(&e) => {
                warn!(action = "read", error = %e, "a batch was refused; reading its projects one by one");
                let mut found = Vec::new();
                for name in names {
                    let (mut one, mut rest) = Box::pin(self.read(std::slice::from_ref(name), build_id)).await;
                    found.append(&mut one);
                    unread.append(&mut rest);
                }
                return (found, unread);
            }
            Err(e) => {
                error!(action = "read", error = %e, "could not read projects");
                for name in names {
                    unread.push(self.fault(name, None, build_id.clone(), e.clone()));
                }
                return (Vec::new(), unread);
            }
        };
        for name in missing {
            info!(action = "skip", project = %name, "project no longer exists");
            unread.push(plain(ProjectOutcome::skipped(
                &name,
                build_id.clone(),
                "project does not exist (deleted before the event was handled?)".into(),
            )));
        }
        (found, unread)
    }

    /// The plan for one project with the facts it depends on applied; nothing carried out.
    pub async fn plan(&self, project: &ProjectSnapshot) -> Result<HealPlan, AwsError> {
        Ok(self.assess(project, false).await?.plan)
    }

    async fn check(&self, project: ProjectSnapshot, build_id: Option<String>) -> Checked {
        match self.plan(&project).await {
            Ok(plan) => self.carry_out(plan, &project, build_id).await,
            Err(e) => self.fault(&project.name, Some(project.cache.clone()), build_id, e),
        }
    }

    /// HeadBucket, once per run. Transient errors are errors; the rest are states.
    pub async fn bucket_state(&self) -> Result<BucketState, AwsError> {
        self.bucket
            .get_or_init(|| async {
                let state = match head_bucket(&self.guard.s3, &self.policy.bucket).await {
                    Ok(region) => Ok(BucketState::Usable { region }),
                    Err(e) if e.is(AwsErrorKind::NotFound) => Ok(BucketState::Missing),
                    Err(e) if e.is(AwsErrorKind::WrongRegion) => {
                        Ok(BucketState::OtherRegion { region: e.bucket_region.clone() })
                    }
                    Err(e) if !is_transient(&e) => Ok(BucketState::Forbidden { reason: e.to_string() }),
                    Err(e) => Err(e),
                };
                info!(action = "probe-bucket", bucket = %self.policy.bucket, state = ?state, "checked the cache bucket");
                state
            })
            .await
            .clone()
    }

    /// The markers in the cache bucket, when there is a bucket to hold them.
    pub async fn markers(&self) -> Option<Markers> {
        matches!(self.bucket_state().await, Ok(BucketState::Usable { .. }))
            .then(|| Markers::new(self.guard.s3.clone(), self.policy.bucket.clone(), dedup::NAMESPACE))
    }

    /// What the service role may do at the location: SimulatePrincipalPolicy for the objects (once
    /// per role and location) and the bucket (once per role and bucket, shared by the projects of a
    /// sweep). Permanent simulation errors make it unverifiable.
    pub(super) async fn role_access(&self, role: Option<&str>, location: &str) -> Result<RoleAccess, AwsError> {
        let Some(role) = role else { return Ok(RoleAccess::NoServiceRole) };
        let resources = CacheResources::of(location, role);
        let access = match self.simulate(role, &access::OBJECT_ACTIONS, &resources.objects).await? {
            Err(reason) => RoleAccess::Unverifiable { reason },
            Ok(objects) => match self.simulate(role, &access::BUCKET_ACTIONS, &resources.bucket).await? {
                Ok(bucket) => access::judge(&objects, &bucket),
                Err(_) => access::judge(&objects, &[]),
            },
        };
        let access = match access {
            RoleAccess::Granted { bucket_denied, .. } => self.key_access(role, location, bucket_denied).await?,
            other => other,
        };
        info!(action = "check-access", role, location, access = ?access, "simulated the service role's cache access");
        Ok(access)
    }

    /// A granted access, with the bucket's KMS key checked on top: for SSE-KMS with a customer
    /// managed key, kms:GenerateDataKey and kms:Decrypt simulated on the key as S3 calls them
    /// (`kms:ViaService`); a key the guard cannot check is said (`key_unchecked`).
    async fn key_access(&self, role: &str, location: &str, bucket_denied: Vec<Denial>) -> Result<RoleAccess, AwsError> {
        let bucket = location.split('/').next().unwrap_or(location);
        let key = match self.encryption(bucket).await? {
            Ok(encryption) => CacheKey::of(&encryption, &self.guard.region, role),
            Err(reason) => CacheKey::Unknown { reason },
        };
        let key_unchecked = key.warning(bucket, &self.guard.region);
        let granted = RoleAccess::Granted { bucket_denied, key_unchecked };
        let CacheKey::Customer { arn } = &key else { return Ok(granted) };
        let via = kms::via_s3(kms::key_region(arn).unwrap_or(&self.guard.region));
        Ok(match self.simulate_in(role, &kms::KMS_ACTIONS, arn, &[("kms:ViaService", &via)]).await? {
            Ok(results) => access::judge_key(granted, &results),
            Err(reason) => RoleAccess::Unverifiable { reason },
        })
    }

    /// GetBucketEncryption, once per bucket and run: Ok(Err(why)) when S3 refused it for good.
    async fn encryption(&self, bucket: &str) -> Result<Result<BucketEncryption, String>, AwsError> {
        if let Some(known) = self.encryptions.lock().ok().and_then(|m| m.get(bucket).cloned()) {
            return Ok(known);
        }
        let answer = match bucket_encryption(&self.guard.s3, bucket).await {
            Ok(encryption) => Ok(encryption),
            Err(e) if !is_transient(&e) => Err(e.to_string()),
            Err(e) => return Err(e),
        };
        info!(action = "check-encryption", bucket, encryption = ?answer, "read the cache bucket's default encryption");
        if let Ok(mut known) = self.encryptions.lock() {
            known.insert(bucket.to_owned(), answer.clone());
        }
        Ok(answer)
    }

    /// One simulation, remembered for the run: Ok(Ok(answers)), Ok(Err(why)) when IAM refused it
    /// for good, Err on a transient error (not remembered).
    async fn simulate(&self, role: &str, actions: &[&str], resource: &str) -> Result<Simulation, AwsError> {
        self.simulate_in(role, actions, resource, &[]).await
    }

    /// As `simulate`, with the request's condition keys (the same for every call of a resource).
    async fn simulate_in(
        &self,
        role: &str,
        actions: &[&str],
        resource: &str,
        context: &[(&str, &str)],
    ) -> Result<Simulation, AwsError> {
        let key = (role.to_owned(), resource.to_owned());
        if let Some(known) = self.access.lock().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(known);
        }
        let answer = match self.guard.simulator.simulate_in(role, actions, resource, context).await {
            Ok(results) => Ok(results),
            Err(e) if !is_transient(&e) => Err(e.to_string()),
            Err(e) => return Err(e),
        };
        if let Ok(mut known) = self.access.lock() {
            known.insert(key, answer.clone());
        }
        Ok(answer)
    }

    /// The other projects whose cache is at `location` (every project's cache, read once per run,
    /// only when a relocation is planned).
    pub(super) async fn location_users(&self, location: &str, project: &str) -> Result<Vec<String>, AwsError> {
        let all = self
            .locations
            .get_or_init(|| async {
                let names = self.guard.projects.list_names().await?;
                let (found, _) = self.guard.projects.get(&names).await?;
                let mut users: HashMap<String, Vec<String>> = HashMap::new();
                for p in found.into_iter().filter(|p| p.cache.is_s3()) {
                    users.entry(normalized(location_of(&p.cache))).or_default().push(p.name);
                }
                Ok(users)
            })
            .await
            .as_ref()
            .map_err(Clone::clone)?;
        Ok(all.get(&normalized(location)).into_iter().flatten().filter(|n| *n != project).cloned().collect())
    }

    /// One ListObjectsV2 page of a location before a heal (the root with the delimiter), once per
    /// location per run. Errors are the project's (transient ones retried).
    pub(super) async fn look(&self, at: &LookAt) -> Result<LocationLook, AwsError> {
        if let Some(known) = self.looks.lock().ok().and_then(|m| m.get(at).cloned()) {
            return Ok(known);
        }
        let own;
        let request = match at {
            LookAt::Root => ListRequest { delimiter: Some("/"), ..ListRequest::default() },
            LookAt::Own { prefix } => {
                own = format!("{prefix}/");
                ListRequest { prefix: &own, ..ListRequest::default() }
            }
        };
        let page = list_page(&self.guard.s3, &self.policy.bucket, request).await?;
        let look = LocationLook { objects: page.objects, folders: page.prefixes };
        info!(action = "look", location = ?at, objects = look.objects.len(), folders = look.folders.len(), "looked at the location before a heal");
        if let Ok(mut known) = self.looks.lock() {
            known.insert(at.clone(), look.clone());
        }
        Ok(look)
    }

    /// BatchGetFleets, once per fleet per run.
    pub(super) async fn fleet_overflow(&self, fleet: &str) -> FleetOverflow {
        if let Some(known) = self.fleets.lock().ok().and_then(|m| m.get(fleet).cloned()) {
            return known;
        }
        let overflow = match self.guard.projects.get_fleets(&[fleet.to_owned()]).await {
            Ok(fleets) => match fleets.first().map(|f| f.overflow_behavior.as_deref()) {
                Some(Some("ON_DEMAND")) => FleetOverflow::OnDemand,
                Some(_) => FleetOverflow::Queue,
                None => FleetOverflow::Unknown { reason: "BatchGetFleets does not know it".into() },
            },
            Err(e) => FleetOverflow::Unknown { reason: e.to_string() },
        };
        if let Ok(mut known) = self.fleets.lock() {
            known.insert(fleet.to_owned(), overflow.clone());
        }
        overflow
    }

    async fn carry_out(&self, plan: HealPlan, project: &ProjectSnapshot, build_id: Option<String>) -> Checked {
        let dry_run = self.guard.config.common.dry_run;
        let (outcome, notice) = match plan.action {
            HealAction::NoChange => {
                info!(action = "none", project = %plan.project, cache = %plan.before, reason = %plan.reason, "no change needed");
                (Outcome::Unchanged, None)
            }
            HealAction::Skip => {
                info!(action = "skip", project = %plan.project, reason = %plan.reason, "skipped");
                (Outcome::Skipped, None)
            }
            HealAction::Keep => {
                info!(action = "keep", project = %plan.project, reason = %plan.reason, warnings = ?plan.warnings, "LOCAL is right here: kept");
                let warn = !dry_run && !plan.warnings.is_empty();
                (Outcome::Kept, warn.then(|| Pending::Warned(plan.clone())))
            }
            HealAction::Refuse => {
                warn!(action = "refuse", project = %plan.project, reason = %plan.reason, "heal refused");
                (Outcome::Refused, (!dry_run).then(|| Pending::Refused(plan.clone())))
            }
            HealAction::Heal if dry_run => {
                info!(action = "would-heal", project = %plan.project, before = %plan.before, after = %plan.after, "dry run: would heal");
                (Outcome::WouldHeal, None)
            }
            HealAction::Heal => return self.heal(plan, project, build_id).await,
        };
        Checked { outcome: ProjectOutcome::from_plan(&plan, build_id, outcome), notice }
    }

    /// Claims the heal, then UpdateProject with the cache only; the claim is given back when the
    /// update fails, so a later delivery retries.
    async fn heal(&self, plan: HealPlan, project: &ProjectSnapshot, build_id: Option<String>) -> Checked {
        let before = Some(plan.before.clone());
        let Some(markers) = self.markers().await else {
            // Not reached: a heal passed the bucket gate, so the bucket is usable.
            return self.fault(&plan.project, before, build_id, no_bucket(&self.policy.bucket));
        };
        let name = dedup::heal_marker(&plan, project.last_modified);
        let now = self.guard.clock.now();
        match markers.claim_until(&name, now, now + dedup::heal_claim_ttl()).await {
            Ok(true) => {}
            Ok(false) => {
                info!(action = "duplicate", project = %plan.project, marker = %markers.key(&name), "another invocation claimed this heal");
                let mut outcome = ProjectOutcome::from_plan(&plan, build_id, Outcome::Duplicate);
                outcome.reason = format!("another invocation claimed this heal ({}) and makes it", markers.key(&name));
                return plain(outcome);
            }
            Err(e) => return self.fault(&plan.project, before, build_id, e),
        }
        let failure = match self.guard.projects.update_cache(&plan.project, &plan.after).await {
            Ok(applied) if applied == plan.after => {
                info!(action = "heal", project = %plan.project, before = %plan.before, after = %applied, "healed: cache switched to S3");
                let outcome = ProjectOutcome::from_plan(&plan, build_id, Outcome::Healed);
                return Checked { outcome, notice: Some(Pending::Healed(plan)) };
            }
            Ok(applied) => AwsError::new(
                "codebuild:UpdateProject",
                AwsErrorKind::Service,
                "CacheNotApplied",
                format!("CodeBuild reports the cache as {applied} after the update"),
            ),
            Err(e) => e,
        };
        if let Err(e) = markers.release(&name).await {
            warn!(action = "release", project = %plan.project, error = %e, "could not give the heal claim back; it lapses within the hour");
        }
        self.fault(&plan.project, before, build_id, failure)
    }

    /// An AWS error for one project: transient ones fail it (the invocation is retried), the rest
    /// refuse it (reported, not retried).
    pub fn fault(
        &self,
        project: &str,
        before: Option<CacheSetting>,
        build_id: Option<String>,
        error: AwsError,
    ) -> Checked {
        let transient = is_transient(&error);
        error!(action = "fail", project = %project, transient, error = %error, "could not check or heal the project");
        let (outcome, reason) = if transient {
            (Outcome::Failed, error.to_string())
        } else {
            (
                Outcome::Refused,
                format!(
                    "not switched: AWS refused {} for this project ({error}); the next build or sweep retries once the cause is fixed",
                    error.operation
                ),
            )
        };
        let mut result = ProjectOutcome::skipped(project, build_id, reason.clone());
        result.outcome = outcome;
        result.before = before.clone();
        result.after = before.clone();
        result.error = Some(error.clone());
        let notice = match (transient, before) {
            (false, Some(before)) => {
                result.refusal = Some(RefusalCause::AwsRefused);
                Some(Pending::Refused(HealPlan {
                    project: project.to_owned(),
                    action: HealAction::Refuse,
                    after: before.clone(),
                    before,
                    reason,
                    advice: vec![],
                    warnings: vec![],
                    refusal: Some(RefusalCause::AwsRefused),
                    leave: None,
                }))
            }
            (_, before) => {
                Some(Pending::Failed { project: project.to_owned(), before, reason, operation: error.operation })
            }
        };
        Checked { outcome: result, notice: notice.filter(|_| !self.guard.config.common.dry_run) }
    }
}

fn plain(outcome: ProjectOutcome) -> Checked {
    Checked { outcome, notice: None }
}

fn location_of(cache: &CacheSetting) -> &str {
    cache.location.as_deref().unwrap_or_default()
}

fn normalized(location: &str) -> String {
    location.trim_end_matches('/').to_owned()
}

fn no_bucket(bucket: &str) -> AwsError {
    AwsError::new(
        "s3:PutObject",
        AwsErrorKind::NotFound,
        "NoSuchBucket",
        format!("no bucket {bucket} to hold the heal claim"),
    )
}
