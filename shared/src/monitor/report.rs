//! What an invocation of the monitor returns and logs: one entry per build looked at, with its
//! verdict, its cache evidence and what was sent.

use super::evidence::{CacheEvidence, Cause};
use super::judge::Verdict;
use super::log::causes::CauseKind;
use crate::event::BuildStatus;
use serde::Serialize;

/// What happened to one build (or to one notice about it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Not a final state (IN_PROGRESS): the sweep watches running builds.
    Ignored,
    OutOfScope,
    /// Judged and within its expected time and baseline: nothing sent.
    WithinTime,
    /// Stopped by someone: never a slow-build notice (its time says when it was stopped).
    Stopped,
    /// FAILED or FAULT: never a slow-build notice (the failure is the news).
    Unsuccessful,
    /// Its figures disagree (a time beyond its timeout plus its queued timeout): reported, not
    /// judged, nothing sent.
    Refused,
    Notified,
    /// Slow, but this build and kind were already notified (a redelivery, or the sweep and the
    /// final event racing).
    AlreadyNotified,
    /// Dry run: a notice would have been sent.
    WouldNotify,
    /// Slow, but a notice for this project and cause already went out in this window
    /// (`MONITOR_REPEAT_HOURS`): counted, and said in the next one (`repeat`).
    HeldBack,
    /// This build could not be judged (the sweep reports it and goes on).
    Failed,
}

/// The "cache not effective" notice a build completed a streak for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CacheNotice {
    /// The causes reached with this build.
    pub causes: Vec<Cause>,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// The notice a failed build got for the causes its log names (`failed_causes`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CauseNotice {
    /// The causes sent with this build (not yet notified that day).
    pub sent: Vec<CauseKind>,
    /// The causes already notified that day.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub already: Vec<CauseKind>,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
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
    /// Evidence that the cache works (final builds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<CacheEvidence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_notice: Option<CacheNotice>,
    /// A failed build's notice of the causes its log names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause_notice: Option<CauseNotice>,
    /// Causes this build no longer shows whose once-only markers were released.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub recovered: Vec<Cause>,
    /// Things that did not work but did not stop the judgement (history, cache check, marker).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl BuildOutcome {
    pub fn new(project: &str, build_id: Option<String>, status: BuildStatus, outcome: Outcome, reason: String) -> Self {
        BuildOutcome {
            project: project.to_owned(),
            build_id,
            status,
            outcome,
            reason,
            verdict: None,
            subject: None,
            evidence: None,
            cache_notice: None,
            cause_notice: None,
            recovered: vec![],
            warnings: vec![],
        }
    }
}

/// How the sweep went through the account's builds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SweepSummary {
    /// ListBuilds pages read (100 ids each) and builds read with BatchGetBuilds.
    pub pages: u32,
    pub builds_read: u32,
    pub running_in_scope: u32,
    pub candidates: u32,
    /// The listing reached builds older than the lookback (else it ended or hit the page cap).
    pub reached_lookback: bool,
    /// Ids ListBuilds named that BatchGetBuilds did not know (deleted meanwhile).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_found: Vec<String>,
}

/// The JSON summary an invocation returns and logs.
#[derive(Debug, Clone, Serialize)]
pub struct MonitorReport {
    pub trigger: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    pub dry_run: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepSummary>,
    pub builds: Vec<BuildOutcome>,
    /// A digest request's run (trigger `digest`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<super::digest::DigestReport>,
    /// What went to Security Hub (SECURITY_HUB_FINDINGS=true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub findings: Option<crate::findings::sink::FindingsReport>,
    /// An event the monitor does not handle (trigger `unhandled`): what it was and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
}

impl MonitorReport {
    pub fn count(&self, outcome: Outcome) -> usize {
        self.builds.iter().filter(|b| b.outcome == outcome).count()
    }
}
