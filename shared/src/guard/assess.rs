//! The guard's assessment of one project: its plan with every fact the guard checks first applied
//! (who else uses a location, the bucket, what the location holds, the service role's access, the
//! fleet), and the service role's access as the guard found it. Nothing is carried out. The guard's own runs use the plan;
//! the audit (`cache-sentinel audit`) shows all of it.

use super::access::{self, RoleAccess};
use super::gates::{gate_on_bucket, gate_on_sharing, note_fleet};
use super::look::{LookAt, gate_on_contents};
use super::loops::{LoopRule, gate_on_loop, gate_on_owner};
use super::owner::{owner_of, source_change};
use super::plan::{HealAction, HealPlan, location, plan_project};
use super::run::Run;
use crate::error::AwsError;
use crate::project::ProjectSnapshot;
use serde::Serialize;
use tracing::warn;

/// What the guard found of the service role's access to a project's cache location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum LocationAccess {
    /// Asked of IAM's policy simulator for the location (`bucket/prefix`).
    Checked { location: String, result: RoleAccess },
    /// Not asked, and why.
    NotChecked { reason: String },
}

/// One project as the guard sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assessment {
    pub plan: HealPlan,
    pub access: LocationAccess,
}

impl Run<'_> {
    /// The plan with the facts it depends on, fetching only those it needs, and the access found.
    /// `current_too`: also check the role's access to a project's current S3 location when the
    /// plan changes nothing (an audit asks whether that cache works; a sweep changes nothing there
    /// and does not ask).
    pub async fn assess(&self, project: &ProjectSnapshot, current_too: bool) -> Result<Assessment, AwsError> {
        let mut plan = plan_project(project, &self.policy);
        if plan.is_relocation() {
            let others = self.location_users(location(&plan.before), &project.name).await?;
            plan = gate_on_sharing(plan, &others);
        }
        if plan.action == HealAction::Heal {
            let state = self.bucket_state().await?;
            plan = gate_on_bucket(plan, &self.policy.bucket, &state, &self.guard.region);
        }
        let owner = owner_of(&project.tags);
        if plan.action == HealAction::Heal {
            plan = gate_on_owner(plan, owner.as_ref(), self.guard.config.owned_projects);
        }
        let rule = LoopRule { heals: self.guard.config.heal_loop_heals, days: self.guard.config.heal_loop_days };
        if plan.action == HealAction::Heal && rule.heals > 0 {
            let heals = match self.heals(&project.name).await {
                Ok(heals) => heals,
                Err(e) if e.is_transient() => return Err(e),
                Err(e) => {
                    warn!(action = "heal-history", project = %project.name, error = %e, "cannot read the project's heals: no loop check");
                    vec![]
                }
            };
            plan = gate_on_loop(plan, &heals, self.guard.clock.now(), rule, owner.as_ref());
        }
        if plan.action == HealAction::Heal
            && let Some(at) = LookAt::for_heal(&self.policy.layout, &project.name)
        {
            let look = self.look(&at).await?;
            let created = project.created.and_then(chrono::DateTime::from_timestamp_millis);
            plan = gate_on_contents(plan, &at, &look, created, &self.policy.layout, &self.policy.bucket);
        }
        let role = project.service_role.as_deref();
        let mut access = None;
        if plan.action == HealAction::Heal {
            let target = location(&plan.after).to_owned();
            let found = self.role_access(role, &target).await?;
            plan = access::gate_on_access(plan, role, &found);
            access = Some(LocationAccess::Checked { location: target, result: found });
        } else if current_too && plan.action == HealAction::NoChange && plan.before.s3_bucket().is_some() {
            let current = location(&plan.before).trim_end_matches('/').to_owned();
            let found = self.role_access(role, &current).await?;
            access = Some(LocationAccess::Checked { location: current, result: found });
        }
        if plan.action == HealAction::Keep
            && let Some(fleet) = &project.fleet_arn
        {
            let overflow = self.fleet_overflow(fleet).await;
            plan = note_fleet(plan, fleet, &overflow);
        }
        // A project some tool deploys gets its heal undone by the next deployment: the change to
        // make there.
        if plan.action == HealAction::Heal
            && let Some(owner) = &owner
        {
            plan.advice.push(source_change(owner, &plan.after));
        }
        let access = access.unwrap_or_else(|| LocationAccess::NotChecked { reason: not_checked(&plan).into() });
        Ok(Assessment { plan, access })
    }
}

/// Why the role's access was not asked, from the plan.
fn not_checked(plan: &HealPlan) -> &'static str {
    match plan.action {
        HealAction::Skip => "the guard leaves this project alone",
        HealAction::Keep => "LOCAL is the right cache here: no S3 location to check",
        HealAction::Refuse => {
            "the heal was refused before the role was checked (the bucket, or the location's contents)"
        }
        HealAction::NoChange => "only checked before a heal",
        HealAction::Heal => "not needed",
    }
}
