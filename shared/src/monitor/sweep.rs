//! The sweep over running builds (every few minutes): the account's builds newest first
//! (ListBuilds, 100 ids a page), read 100 at a time (BatchGetBuilds), until a whole page started
//! before the lookback. Running builds of projects in scope that already ran longer than the
//! shortest expected time of their project are judged, one "still running" notice each. One
//! build's failure is reported with that build; only a failed listing fails the sweep (so that it
//! is retried).

use super::error::MonitorError;
use super::report::{BuildOutcome, Outcome, SweepSummary};
use super::service::BuildTimeMonitor;
use crate::aws::codebuild::build_facts;
use crate::build::BuildFacts;
use crate::event::BuildStatus;
use chrono::{DateTime, Utc};
use tracing::{Instrument, info, info_span, warn};

/// At most this many ListBuilds pages (100 builds each) per sweep, whatever the lookback: a bound
/// on the sweep's calls and time in accounts that start thousands of builds an hour.
pub const SWEEP_MAX_PAGES: u32 = 200;

impl BuildTimeMonitor {
    pub(super) async fn sweep(
        &self,
        account: Option<String>,
    ) -> Result<(SweepSummary, Vec<BuildOutcome>), MonitorError> {
        let now = self.clock.now();
        let lookback = chrono::Duration::hours(i64::from(self.config.sweep_lookback_hours));
        let mut summary = SweepSummary::default();
        let mut candidates = Vec::new();
        let mut token: Option<String> = None;
        while summary.pages < SWEEP_MAX_PAGES {
            let (ids, next) = self.codebuild.list_build_ids_page(token.take()).await.map_err(MonitorError::Listing)?;
            summary.pages += 1;
            let (builds, not_found) = self.codebuild.get_builds_reporting(&ids).await.map_err(MonitorError::Listing)?;
            summary.builds_read += builds.len() as u32;
            summary.not_found.extend(not_found);
            let builds: Vec<BuildFacts> = builds.iter().map(build_facts).collect();
            // The listing is newest first: a page that started wholly before the lookback ends it.
            let past_lookback =
                !builds.is_empty() && builds.iter().all(|b| b.start.is_some_and(|s| s < now - lookback));
            let running: Vec<BuildFacts> = builds
                .into_iter()
                .filter(|b| b.status == BuildStatus::InProgress)
                .filter(|b| self.config.common.projects.check(&b.project).is_ok())
                .collect();
            summary.running_in_scope += running.len() as u32;
            candidates.extend(running_candidates(running, now, lookback, |project| {
                self.config.expected.for_project(project).0.min_high_minutes()
            }));
            summary.reached_lookback = past_lookback;
            match next {
                Some(next) if !past_lookback => token = Some(next),
                _ => break,
            }
        }
        if summary.pages >= SWEEP_MAX_PAGES && !summary.reached_lookback {
            warn!(action = "sweep", pages = summary.pages, "stopped at the page cap before the lookback");
        }
        summary.candidates = candidates.len() as u32;
        info!(
            action = "sweep",
            pages = summary.pages,
            builds = summary.builds_read,
            candidates = summary.candidates,
            "swept recent builds"
        );
        let mut outcomes = Vec::new();
        for mut build in candidates {
            if build.account.is_none() {
                build.account = account.clone();
            }
            let span = info_span!("monitor", project = %build.project, build_id = build.build_id.as_deref().unwrap_or("-"), action = "check-running");
            let (project, id, status) = (build.project.clone(), build.build_id.clone(), build.status.clone());
            match self.check_running(build).instrument(span).await {
                Ok(outcome) => outcomes.push(outcome),
                Err(e) => {
                    warn!(action = "check-running", project = %project, error = %e, "could not judge a running build");
                    outcomes.push(BuildOutcome::new(&project, id, status, Outcome::Failed, e.to_string()));
                }
            }
        }
        Ok((summary, outcomes))
    }
}

/// The builds a sweep checks: IN_PROGRESS, started within the lookback, and already building
/// longer than the shortest expected time of their project (shorter ones cannot be overdue in any
/// scenario, so they cost no history lookup). Building time leaves out queueing and provisioning.
pub fn running_candidates(
    builds: Vec<BuildFacts>,
    now: DateTime<Utc>,
    lookback: chrono::Duration,
    shortest_minutes: impl Fn(&str) -> f64,
) -> Vec<BuildFacts> {
    builds
        .into_iter()
        .filter(|b| b.status == BuildStatus::InProgress)
        .filter(|b| b.start.is_some_and(|s| s >= now - lookback && s <= now))
        .filter(|b| b.own_seconds(now).is_some_and(|d| d as f64 > shortest_minutes(&b.project) * 60.0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::PhaseTime;
    use chrono::TimeZone;

    #[test]
    fn sweep_picks_running_overdue_candidates_only() {
        let now = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap();
        let build = |id: &str, status: BuildStatus, started_min_ago: i64| {
            let mut b = BuildFacts::new("p", status);
            b.build_id = Some(id.into());
            b.start = Some(now - chrono::Duration::minutes(started_min_ago));
            b
        };
        let mut queued = build("p:queued-long", BuildStatus::InProgress, 30);
        queued.phases = vec![PhaseTime { phase: "QUEUED".into(), seconds: Some(25 * 60), status: None }];
        let builds = vec![
            build("p:running-long", BuildStatus::InProgress, 30),
            build("p:running-short", BuildStatus::InProgress, 4),
            build("p:done", BuildStatus::Succeeded, 30),
            build("p:ancient", BuildStatus::InProgress, 7 * 60),
            queued,
        ];
        let picked = running_candidates(builds, now, chrono::Duration::hours(6), |_| 8.0);
        let ids: Vec<_> = picked.iter().filter_map(|b| b.build_id.as_deref()).collect();
        assert_eq!(ids, vec!["p:running-long"], "25 of its 30 minutes queued: 5 minutes building");
    }
}
