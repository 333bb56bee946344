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
    /// The resolved source version (commit) when known, else the requested one.
    pub source_version: Option<String>,
    /// CodeBuild exported environment variables (BatchGetBuilds only).
    pub exported: BTreeMap<String, String>,
    pub region: Option<String>,
    pub account: Option<String>,
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
            source_version: None,
            exported: BTreeMap::new(),
            region: None,
            account: None,
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
    fn ids() {
        assert_eq!(short_build_id("arn:aws:codebuild:r:1:build/p:u"), "p:u");
        assert_eq!(short_build_id("p:u"), "p:u");
        assert_eq!(
            arn_region_account("arn:aws:codebuild:ap-south-1:123456789012:build/p:u"),
            Some(("ap-south-1".into(), "123456789012".into()))
        );
    }
}
