//! Plain-data model of one CodeBuild build, as cache-sentinel sees it (like `project.rs` for
//! projects): the AWS adapter fills it from BatchGetBuilds (`aws::codebuild::build_facts`), the
//! monitor from the EventBridge event (`monitor::facts`), and the monitor merges the two.

use crate::event::BuildStatus;
use crate::project::CacheSetting;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// One phase and how long it took (None while it runs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhaseTime {
    pub phase: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// Where a build's log went: the CloudWatch Logs group and stream, and whether CloudWatch and S3
/// logging were enabled (BatchGetBuilds says; the event names only the group and stream).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LogsLocation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cloudwatch_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub s3_enabled: Option<bool>,
}

/// The phases in which a build waits for capacity rather than builds: reserved fleets with QUEUE
/// overflow and account concurrency limits stretch them without any cache problem.
pub const WAITING_PHASES: [&str; 2] = ["QUEUED", "PROVISIONING"];

/// One build.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BuildFacts {
    pub project: String,
    /// The build id `project:uuid` (an ARN is reduced to it).
    pub build_id: Option<String>,
    pub build_number: Option<u64>,
    pub status: BuildStatus,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub phases: Vec<PhaseTime>,
    pub cache: Option<CacheSetting>,
    pub compute_type: Option<String>,
    /// `environment.type` (LINUX_CONTAINER, ARM_CONTAINER...), for the compute table.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment_type: Option<String>,
    /// The resolved source version (commit) when known, else the requested one.
    pub source_version: Option<String>,
    /// CodeBuild exported environment variables (BatchGetBuilds only).
    pub exported: BTreeMap<String, String>,
    pub region: Option<String>,
    pub account: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logs: Option<LogsLocation>,
    /// The build's timeout (`timeoutInMinutes`, the event's `timeout-in-minutes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_minutes: Option<u64>,
    /// How long it may wait in the queue (`queuedTimeoutInMinutes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queued_timeout_minutes: Option<u64>,
    /// The batch build it is a job of (`buildBatchArn`, BatchGetBuilds only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
    /// Its job in the batch: the build group's `identifier` (BatchGetBuildBatches), such as
    /// `linux_arm64` in a build list or `build2` in a matrix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
}

impl BuildFacts {
    pub fn new(project: &str, status: BuildStatus) -> Self {
        BuildFacts {
            project: project.to_owned(),
            build_id: None,
            build_number: None,
            status,
            start: None,
            end: None,
            phases: vec![],
            cache: None,
            compute_type: None,
            environment_type: None,
            source_version: None,
            exported: BTreeMap::new(),
            region: None,
            account: None,
            logs: None,
            timeout_minutes: None,
            queued_timeout_minutes: None,
            batch: None,
            job: None,
        }
    }

    /// Seconds from start to end, or to `now` for a running build.
    pub fn duration_seconds(&self, now: DateTime<Utc>) -> Option<u64> {
        let start = self.start?;
        let end = if self.status.is_final() { self.end? } else { self.end.unwrap_or(now) };
        Some((end - start).num_seconds().max(0) as u64)
    }

    pub fn phase_seconds(&self, phase: &str) -> Option<u64> {
        self.phases.iter().filter(|p| p.phase == phase).filter_map(|p| p.seconds).max()
    }

    /// Seconds spent in QUEUED and PROVISIONING (finished phases; 0 when not reported).
    pub fn waiting_seconds(&self) -> u64 {
        WAITING_PHASES.iter().filter_map(|p| self.phase_seconds(p)).sum()
    }

    /// The build's own time: the duration minus QUEUED and PROVISIONING. A running build still in
    /// one of those phases (reported without a duration yet) has not started building: 0.
    pub fn own_seconds(&self, now: DateTime<Utc>) -> Option<u64> {
        let total = self.duration_seconds(now)?;
        let still_waiting = !self.status.is_final()
            && self.phases.last().is_some_and(|p| WAITING_PHASES.contains(&p.phase.as_str()) && p.seconds.is_none());
        Some(if still_waiting { 0 } else { total.saturating_sub(self.waiting_seconds()) })
    }
}

/// `arn:aws:codebuild:region:account:build/project:uuid` -> `project:uuid`; ids pass through.
pub fn short_build_id(id: &str) -> String {
    match id.split_once(":build/") {
        Some((_, short)) if id.starts_with("arn:") => short.to_owned(),
        _ => id.to_owned(),
    }
}

/// Region and account from a build ARN.
pub fn arn_region_account(arn: &str) -> Option<(String, String)> {
    let parts: Vec<&str> = arn.split(':').collect();
    (parts.len() >= 6 && parts[0] == "arn" && !parts[3].is_empty() && !parts[4].is_empty())
        .then(|| (parts[3].to_owned(), parts[4].to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_time_leaves_out_queueing_and_provisioning() {
        let t0 = DateTime::from_timestamp(1_795_166_101, 0).unwrap();
        let phase = |phase: &str, seconds: Option<u64>| PhaseTime { phase: phase.into(), seconds, status: None };
        let mut b = BuildFacts::new("p", BuildStatus::Succeeded);
        b.start = Some(t0);
        b.end = Some(t0 + chrono::Duration::seconds(1000));
        b.phases = vec![phase("QUEUED", Some(360)), phase("PROVISIONING", Some(40)), phase("BUILD", Some(600))];
        assert_eq!((b.duration_seconds(t0), b.waiting_seconds(), b.own_seconds(t0)), (Some(1000), 400, Some(600)));
        let mut running = b.clone();
        running.status = BuildStatus::InProgress;
        running.end = None;
        running.phases = vec![phase("SUBMITTED", Some(0)), phase("QUEUED", None)];
        let now = t0 + chrono::Duration::seconds(900);
        assert_eq!(running.own_seconds(now), Some(0), "still queued: not building yet");
        running.phases = vec![phase("QUEUED", Some(100)), phase("BUILD", None)];
        assert_eq!(running.own_seconds(now), Some(800));
    }

    #[test]
    fn ids() {
        assert_eq!(short_build_id("arn:aws:codebuild:r:1:build/p:u"), "p:u");
        assert_eq!(short_build_id("p:u"), "p:u");
        assert_eq!(
            arn_region_account("arn:aws:codebuild:ap-south-1:123456789012:build/p:u"),
            Some(("ap-south-1".into(), "123456789012".into()))
        );
    }
}
