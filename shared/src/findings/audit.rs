//! The audit's findings, for teams that import by hand (`cache-sentinel audit --format asff`): what
//! needs attention now, as the functions would report it, each a new finding seen once (an audit
//! is a snapshot: it archives nothing). Pure.

use super::asff::{Finding, Kind, Place, Subject, to_asff};
use super::monitor::{cache_not_effective, over_range};
use super::open::{Observation, decide};
use crate::audit::{AuditReport, Evidence};
use crate::guard::HealAction;
use crate::monitor::judge::fmt_duration;
use chrono::{DateTime, Utc};
use serde_json::Value;

pub fn observations(report: &AuditReport) -> Vec<Observation> {
    let mut out = Vec::new();
    for line in &report.projects {
        let subject = Subject::Project(line.project.clone());
        let plan = &line.guard;
        match plan.action {
            HealAction::Heal => out.push(Observation::Present {
                kind: Kind::OffS3Cache,
                subject: subject.clone(),
                title: format!("{} is on {}, not the S3 cache", line.project, plan.before),
                detail: format!(
                    "A LOCAL cache lives on the one build host that wrote it. cache-guard would switch it to {}.",
                    plan.after
                ),
                remediation: format!(
                    "Set the project's cache to {} (cache-sentinel heal --apply, or deploy cache-sentinel).",
                    plan.after
                ),
            }),
            HealAction::Refuse => out.push(Observation::Present {
                kind: Kind::HealRefused,
                subject: subject.clone(),
                title: format!("cache-guard would refuse to move {} to the S3 cache", line.project),
                detail: format!("It is on {}. {}", plan.before, plan.reason),
                remediation: if line.advice.is_empty() { plan.reason.clone() } else { line.advice.join(" ") },
            }),
            HealAction::NoChange | HealAction::Keep | HealAction::Skip => {}
        }
        if let Some(build) = line.last_build.as_ref().filter(|b| b.slow) {
            out.push(over_range(
                &line.project,
                format!(
                    "Its last build ({}) took {} of its own time; {} builds are expected to take {}.",
                    build.build_id,
                    build.judged_seconds.map(fmt_duration).unwrap_or_else(|| "?".into()),
                    build.scenario.as_str(),
                    build.expected
                ),
                "Read the slow-build email (or cache-sentinel report --logs): it names the cause from the build log and the fix.",
            ));
        }
        if let Evidence::Read(standing) = &line.evidence
            && !standing.not_effective.is_empty()
        {
            let at =
                plan.before.location.as_deref().map_or_else(|| "the cache location".into(), |l| format!("s3://{l}/"));
            out.push(cache_not_effective(&line.project, &standing.not_effective, &at));
        }
    }
    out
}

/// The audit's findings in ASFF, as BatchImportFindings takes them (`aws securityhub
/// batch-import-findings`).
pub fn asff(report: &AuditReport, account: &str, now: DateTime<Utc>) -> Vec<Value> {
    let place = Place::new(&report.region, account);
    let findings: Vec<Finding> =
        decide(&place, &observations(report), &[], now).into_iter().map(|s| s.finding).collect();
    findings.iter().map(|f| to_asff(&place, f)).collect()
}
