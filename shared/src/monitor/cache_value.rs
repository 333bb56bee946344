//! Whether the cache pays for itself: what its own work took in this build (`log::cache_cost`:
//! restore, upload, import, export, docker load and save) against what it saved, the time the
//! Docker steps it let this build reuse took in the project's last build that ran them (their
//! BuildKit `DONE` times). Pure: the monitor finds that earlier build (`collect`), this weighs.
//!
//! A cache that costs more than it saves is usually a large archive of layers on S3 (docker save
//! into a cached path, restored and uploaded whole every build) or `mode=max` exports of a huge
//! image; the cheaper setup is a registry cache in ECR with `mode=min`, or fewer cached paths.

use super::log::cache_cost::CacheCost;
use super::log::docker_steps::{Step, StepGroup};
use serde::Serialize;

/// Below a minute of cache work the question is not worth another log read.
pub const WORTH_WEIGHING_SECONDS: u64 = 60;

/// What the cache cost and saved in one build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CacheValue {
    pub cost_seconds: u64,
    /// What the reused steps took when they last ran; None when no earlier build shows them run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub saved_seconds: Option<u64>,
    /// Layer steps (FROM left out) this build reused, and how many of them were found run (with a
    /// time) in the earlier build.
    pub reused_steps: u32,
    pub timed_steps: u32,
    /// The earlier build the saved time comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_build: Option<String>,
    pub costs_more: bool,
}

/// The layer steps a build reused (FROM is never built, so never saved).
pub fn reused(group: &StepGroup) -> Vec<&Step> {
    group.steps.iter().filter(|s| !s.from && s.outcome.reused()).collect()
}

/// The milliseconds the `current` build's reused steps took where `earlier` ran them (matched by
/// stage and instruction), and how many were matched.
pub fn saved_by(current: &StepGroup, earlier: &StepGroup) -> (u64, u32) {
    let mut millis = 0;
    let mut matched = 0;
    for step in reused(current) {
        let ran = earlier.steps.iter().find(|e| {
            e.instruction == step.instruction && e.outcome.ran() && e.millis.is_some() && earlier.stage == current.stage
        });
        if let Some(ran) = ran {
            millis += ran.millis.unwrap_or(0);
            matched += 1;
        }
    }
    (millis, matched)
}

/// Weighs the cost against the saving. None when the cache's work took under a minute, or the
/// log shows no Docker build to judge the saving by (a pip cache saves what no log times).
pub fn weigh(cost: &CacheCost, current: Option<&StepGroup>, earlier: Option<(&str, &StepGroup)>) -> Option<CacheValue> {
    let cost_seconds = cost.total_seconds();
    let current = current?;
    if cost_seconds < WORTH_WEIGHING_SECONDS {
        return None;
    }
    let reused_steps = reused(current).len() as u32;
    let (saved_seconds, timed_steps, from_build) = if reused_steps == 0 {
        (Some(0), 0, None)
    } else {
        match earlier.map(|(id, group)| (id, saved_by(current, group))) {
            Some((id, (millis, matched))) if matched > 0 => (Some(millis / 1000), matched, Some(id.to_owned())),
            _ => (None, 0, None),
        }
    };
    let costs_more = saved_seconds.is_some_and(|saved| cost_seconds > saved);
    Some(CacheValue { cost_seconds, saved_seconds, reused_steps, timed_steps, from_build, costs_more })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::log::docker_steps::StepOutcome;

    fn step(instruction: &str, outcome: StepOutcome, seconds: u64) -> Step {
        Step {
            label: String::new(),
            instruction: instruction.into(),
            from: instruction.starts_with("FROM"),
            outcome,
            millis: Some(seconds * 1000),
        }
    }

    fn group(steps: Vec<Step>) -> StepGroup {
        StepGroup { build: 1, stage: None, total: None, millis: 0, steps }
    }

    fn cost(restore: u64, upload: u64) -> CacheCost {
        CacheCost { restore_seconds: Some(restore), upload_seconds: Some(upload), ..CacheCost::default() }
    }

    #[test]
    fn nine_minutes_of_cache_work_that_saved_four_costs_more_than_it_saves() {
        use StepOutcome::{Cached, Rebuilt};
        let now = group(vec![
            step("FROM pytorch", Cached, 0),
            step("RUN apt-get install", Cached, 0),
            step("RUN pip install -r requirements.txt", Cached, 0),
            step("COPY . .", Rebuilt, 5),
        ]);
        let before = group(vec![
            step("FROM pytorch", Cached, 400),
            step("RUN apt-get install", Rebuilt, 60),
            step("RUN pip install -r requirements.txt", Rebuilt, 180),
            step("COPY . .", Rebuilt, 5),
        ]);
        let v = weigh(&cost(300, 240), Some(&now), Some(("tts:1", &before))).unwrap();
        assert_eq!((v.cost_seconds, v.saved_seconds, v.reused_steps, v.timed_steps), (540, Some(240), 2, 2));
        assert!(v.costs_more);
        assert_eq!(v.from_build.as_deref(), Some("tts:1"));
        // The same work saving 20 minutes pays for itself.
        let slow_before = group(vec![step("RUN pip install -r requirements.txt", Rebuilt, 1200)]);
        let v = weigh(&cost(300, 240), Some(&now), Some(("tts:0", &slow_before))).unwrap();
        assert_eq!((v.saved_seconds, v.timed_steps, v.costs_more), (Some(1200), 1, false));
    }

    #[test]
    fn nothing_reused_saves_nothing_and_unknown_savings_say_nothing() {
        use StepOutcome::Rebuilt;
        let none_reused = group(vec![step("FROM x", StepOutcome::Cached, 0), step("RUN a", Rebuilt, 30)]);
        let v = weigh(&cost(120, 60), Some(&none_reused), None).unwrap();
        assert_eq!((v.saved_seconds, v.costs_more), (Some(0), true));
        let reused = group(vec![step("RUN a", StepOutcome::Cached, 0)]);
        let v = weigh(&cost(120, 60), Some(&reused), None).unwrap();
        assert_eq!((v.saved_seconds, v.costs_more), (None, false), "no earlier build ran it: cannot tell");
        assert_eq!(weigh(&cost(20, 30), Some(&reused), None), None, "under a minute");
        assert_eq!(weigh(&cost(600, 60), None, None), None, "no Docker build to judge by");
    }
}
