//! What an invocation returns and logs: one outcome per project, plain data.

use super::plan::{HealPlan, RefusalCause};
use crate::error::AwsError;
use crate::project::CacheSetting;
use serde::Serialize;

/// What happened to one project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Unchanged,
    Healed,
    /// Dry run: the heal that would have been made.
    WouldHeal,
    /// LOCAL is right for this project (fleet, Docker server): left as it is.
    Kept,
    /// Another invocation claimed this heal (ten builds starting at once): it makes the change.
    Duplicate,
    Skipped,
    /// Not healed: it would break builds, or AWS refused it for good. Reported, not retried.
    Refused,
    /// A transient error (throttling, 5xx, unreachable): the invocation fails and is retried.
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<RefusalCause>,
    /// Whether a notice naming this project was published (false with no topic: logged only).
    pub notified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<AwsError>,
}

impl ProjectOutcome {
    pub fn from_plan(plan: &HealPlan, build_id: Option<String>, outcome: Outcome) -> Self {
        ProjectOutcome {
            project: plan.project.clone(),
            build_id,
            outcome,
            before: Some(plan.before.clone()),
            after: Some(plan.after.clone()),
            reason: plan.reason.clone(),
            advice: plan.advice.clone(),
            warnings: plan.warnings.clone(),
            refusal: plan.refusal,
            notified: false,
            error: None,
        }
    }

    pub fn skipped(project: &str, build_id: Option<String>, reason: String) -> Self {
        ProjectOutcome {
            project: project.to_owned(),
            build_id,
            outcome: Outcome::Skipped,
            before: None,
            after: None,
            reason,
            advice: vec![],
            warnings: vec![],
            refusal: None,
            notified: false,
            error: None,
        }
    }
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
    /// Why notices were not sent, when they were not (no bucket for markers, SNS errors).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notice_problems: Vec<String>,
    /// An event the guard does not handle (trigger `unhandled`): what it was and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// What went to Security Hub (SECURITY_HUB_FINDINGS=true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub findings: Option<crate::findings::sink::FindingsReport>,
}

impl GuardReport {
    pub fn count(&self, outcome: Outcome) -> usize {
        self.projects.iter().filter(|p| p.outcome == outcome).count()
    }
}
