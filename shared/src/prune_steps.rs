//! A pruner sweep driven in resumable steps, so that a person can stop it cleanly: each step is one
//! ordinary pruner run limited to a few listing pages (`RunLimits::max_pages`); the run saves its
//! resume state as a Lambda run stopped by its deadline does, and the next step (or the next
//! command) continues after it. Between steps the caller's stop flag is checked.
//!
//! Steps need listings that may be split: a size budget is applied only when one run lists a
//! whole project (PRUNE_PROJECT_BUDGET) or the whole root (PRUNE_TOTAL_BUDGET), so with a budget
//! the sweep must run as one step (see [`needs_one_step`]). PRUNE_MAX_DELETES_PER_RUN bounds the
//! whole sweep, not each step. Steps publish no notices: the caller reports the totals.

use crate::aws::Clients;
use crate::clock::Clock;
use crate::pruner::plan::Reason;
use crate::pruner::service::{KeyError, ProjectReport, PruneError, PruneReport, REPORTED_ERRORS};
use crate::pruner::{CachePruner, PrunerConfig, RunLimits};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the configuration needs whole listings (a size budget), so the sweep cannot be split.
pub fn needs_one_step(config: &PrunerConfig) -> bool {
    config.project_budget.is_some() || config.total_budget.is_some()
}

/// What the steps did together.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SweepTotals {
    pub steps: u32,
    pub bucket: String,
    pub prefix: String,
    /// The listing reached its end: the sweep is complete.
    pub finished: bool,
    /// The caller's stop flag ended the sweep between steps; the resume state is saved.
    pub interrupted: bool,
    /// Why the sweep ended before the end of the listing (cap, error, interruption).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<String>,
    /// The first step continued an earlier sweep after this key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumed_after: Option<String>,
    /// The next run continues after this key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume_after: Option<String>,
    pub scanned: u64,
    pub bytes_scanned: u64,
    pub planned: u64,
    pub bytes_planned: u64,
    pub deleted: u64,
    pub bytes_freed: u64,
    pub failed: u64,
    pub by_reason: BTreeMap<Reason, u64>,
    pub projects: BTreeMap<String, ProjectReport>,
    pub errors: Vec<KeyError>,
    pub notes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub versioning: Option<String>,
}

impl SweepTotals {
    /// Adds one step's report.
    pub fn absorb(&mut self, step: &PruneReport) {
        if self.steps == 0 {
            self.resumed_after = step.resumed_after.clone();
            self.bucket = step.bucket.clone();
            self.prefix = step.prefix.clone();
        }
        self.steps += 1;
        self.finished = step.finished;
        self.stopped = step.stopped.clone();
        self.resume_after = step.resume_after.clone();
        self.scanned += step.scanned;
        self.bytes_scanned += step.bytes_scanned;
        self.planned += step.planned;
        self.bytes_planned += step.bytes_planned;
        self.deleted += step.deleted;
        self.bytes_freed += step.bytes_freed;
        self.failed += step.failed;
        for (reason, n) in &step.by_reason {
            *self.by_reason.entry(*reason).or_default() += n;
        }
        for (name, p) in &step.projects {
            let total = self.projects.entry(name.clone()).or_default();
            total.plan.scanned += p.plan.scanned;
            total.plan.bytes_scanned += p.plan.bytes_scanned;
            total.plan.planned += p.plan.planned;
            total.plan.bytes_planned += p.plan.bytes_planned;
            total.plan.orphaned |= p.plan.orphaned;
            total.plan.out_of_scope |= p.plan.out_of_scope;
            total.plan.over_budget |= p.plan.over_budget;
            total.plan.budget_deferred |= p.plan.budget_deferred;
            total.deleted += p.deleted;
            total.bytes_freed += p.bytes_freed;
            total.failed += p.failed;
        }
        let room = REPORTED_ERRORS.saturating_sub(self.errors.len());
        self.errors.extend(step.errors.iter().take(room).cloned());
        for note in &step.notes {
            if !self.notes.contains(note) {
                self.notes.push(note.clone());
            }
        }
        self.versioning = step.versioning.clone().or(self.versioning.take());
    }
}

/// Runs the sweep (`event`: a scheduled event) in steps of `pages` listing pages until it
/// finishes, stops on its own (cap, error), or `stop` is set; `on_step` sees the totals after each
/// step. `pages` None: one step without a page limit (what budgets need).
pub async fn sweep_in_steps(
    config: &PrunerConfig,
    clients: &Clients,
    clock: Arc<dyn Clock>,
    event: &serde_json::Value,
    pages: Option<usize>,
    stop: &AtomicBool,
    mut on_step: impl FnMut(&SweepTotals),
) -> Result<SweepTotals, PruneError> {
    let mut totals = SweepTotals::default();
    loop {
        let mut step_config = config.clone();
        step_config.common.topic_arn = None;
        step_config.max_deletes_per_run = config.max_deletes_per_run.saturating_sub(totals.planned as usize).max(1);
        let pruner = CachePruner::new(step_config, clients).with_clock(clock.clone());
        let report = pruner.handle(event, RunLimits { deadline: None, max_pages: pages }).await?;
        let progressed = report.scanned > 0;
        totals.absorb(&report);
        on_step(&totals);
        let own_stop = report.stopped.as_deref().filter(|s| *s != "page limit reached");
        if report.finished || own_stop.is_some() || pages.is_none() {
            break;
        }
        if totals.planned as usize >= config.max_deletes_per_run {
            totals.stopped = Some(format!("cap of {} deletions per run reached", config.max_deletes_per_run));
            break;
        }
        if stop.load(Ordering::SeqCst) {
            totals.interrupted = true;
            totals.stopped = Some("interrupted".into());
            break;
        }
        if !progressed {
            totals.stopped = Some("a step listed nothing: stopped to avoid looping".into());
            break;
        }
    }
    Ok(totals)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pruner::plan::ProjectStats;

    fn step(scanned: u64, deleted: u64, finished: bool) -> PruneReport {
        let mut report = blank();
        report.scanned = scanned;
        report.planned = deleted;
        report.deleted = deleted;
        report.bytes_freed = deleted * 10;
        report.finished = finished;
        report.by_reason.insert(Reason::MaxAge, deleted);
        let mut p = ProjectReport {
            plan: ProjectStats { scanned, planned: deleted, ..Default::default() },
            ..Default::default()
        };
        p.deleted = deleted;
        report.projects.insert("tts".into(), p);
        report.notes.push("same note".into());
        report
    }

    fn blank() -> PruneReport {
        PruneReport {
            trigger: "scheduled-sweep",
            event_id: None,
            project: None,
            build_id: None,
            ignored: None,
            dry_run: false,
            bucket: "b".into(),
            prefix: String::new(),
            finished: false,
            stopped: None,
            resumed_after: None,
            resume_after: None,
            scanned: 0,
            bytes_scanned: 0,
            planned: 0,
            bytes_planned: 0,
            deleted: 0,
            bytes_freed: 0,
            failed: 0,
            by_reason: BTreeMap::new(),
            skipped: Default::default(),
            capped: false,
            total_bytes_after: None,
            total_budget: None,
            projects: BTreeMap::new(),
            errors: vec![],
            notes: vec![],
            versioning: None,
            api_calls: BTreeMap::new(),
            deletions: vec![],
            notified: false,
        }
    }

    #[test]
    fn totals_add_up_the_steps() {
        let mut totals = SweepTotals::default();
        totals.absorb(&step(1000, 900, false));
        totals.absorb(&step(500, 400, true));
        assert_eq!((totals.steps, totals.scanned, totals.deleted, totals.bytes_freed), (2, 1500, 1300, 13000));
        assert_eq!(totals.by_reason.get(&Reason::MaxAge), Some(&1300));
        assert_eq!(totals.projects["tts"].deleted, 1300);
        assert_eq!(totals.projects["tts"].plan.scanned, 1500);
        assert!(totals.finished);
        assert_eq!(totals.notes, vec!["same note"], "a note repeated by every step is kept once");
    }
}
