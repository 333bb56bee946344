//! The verdict on one build: pure, over plain data. Slow = its own time (the duration minus QUEUED
//! and PROVISIONING) over its scenario's expected time (the range's upper bound), or clearly over
//! its baseline (p90 x factor, with enough samples). A build someone stopped is slow only if it ran
//! past its expected time before it was stopped.

use super::baseline::{Baseline, HistorySummary};
use super::cache_standing::CacheStanding;
use super::expected::Range;
use super::log::docker_steps::StepGroup;
use super::log::layer_order::OrderFinding;
use super::scenario::{Scenario, ScenarioJudgement};
use crate::build::BuildFacts;
use crate::compute::{self, Prices};
use crate::event::BuildStatus;
use crate::notify::Severity;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Which notice a verdict is about; at most one of each kind is sent per build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Seen by the sweep: still running and already past its expected time.
    RunningOverdue,
    /// A final state change of a build that took too long.
    FinishedSlow,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::RunningOverdue => "running-overdue",
            Kind::FinishedSlow => "finished-slow",
        }
    }
}

/// The baseline check's settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BaselinePolicy {
    pub factor: f64,
    pub min_samples: usize,
}

/// The phase that overran most: the largest excess over its median in history when there is
/// one, else simply the longest phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PhaseOverrun {
    pub phase: String,
    pub seconds: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub median_seconds: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub kind: Kind,
    pub slow: bool,
    pub severity: Severity,
    /// From start to end (or now): what the build took in all.
    pub duration_seconds: u64,
    /// The figure judged: the duration minus QUEUED and PROVISIONING.
    pub judged_seconds: u64,
    /// QUEUED and PROVISIONING, reported apart (a full fleet or account concurrency, not the cache).
    pub queued_seconds: u64,
    pub provisioning_seconds: u64,
    pub scenario: ScenarioJudgement,
    pub expected: Range,
    /// The MONITOR_EXPECTED_TIMES key the expectation came from.
    pub expected_from: String,
    pub over_expected: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline: Option<Baseline>,
    /// p90 x factor when the baseline has enough samples.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_limit_seconds: Option<u64>,
    pub baseline_factor: f64,
    pub over_baseline: bool,
    /// Why the baseline was or was not used.
    pub baseline_note: String,
    /// The limit the build was judged by: the lower of the expected range's upper bound and the
    /// history's (same scenario, enough samples).
    pub limit: AppliedLimit,
    /// Why the build's figures were not judged (its time is beyond its timeout plus its queued
    /// timeout: fields that disagree); no notice then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub times_refused: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_phase: Option<PhaseOverrun>,
    /// A build off the S3 cache: its setting as the likely cause, and what the guard did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_standing: Option<CacheStanding>,
    pub advice: Vec<String>,
    /// One line for logs and the JSON result.
    pub summary: String,
}

/// Which limit a build was judged by, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AppliedLimit {
    pub seconds: u64,
    pub from: String,
}

/// CodeBuild's bounds when the build does not name its own (API reference, CreateProject:
/// `timeoutInMinutes` 5 to 2160, `queuedTimeoutInMinutes` 5 to 480).
const MAX_TIMEOUT_MINUTES: u64 = 2160;
const MAX_QUEUED_TIMEOUT_MINUTES: u64 = 480;
/// Slack beyond the two timeouts for SUBMITTED and FINALIZING, which neither timeout covers.
const SLACK_SECONDS: u64 = 15 * 60;

/// A duration no build can have: beyond its timeout plus its queued timeout (CodeBuild stops it
/// there), so the fields it came from disagree; said in the report, never emailed.
fn implausible(build: &BuildFacts, total: u64) -> Option<String> {
    let timeout = build.timeout_minutes.unwrap_or(MAX_TIMEOUT_MINUTES);
    let queued = build.queued_timeout_minutes.unwrap_or(MAX_QUEUED_TIMEOUT_MINUTES);
    let bound = (timeout + queued) * 60 + SLACK_SECONDS;
    (total > bound).then(|| {
        format!(
            "its times disagree: {} from its start to its end is beyond its timeout ({timeout} min) plus its queued timeout ({queued} min), which CodeBuild enforces",
            fmt_duration(total)
        )
    })
}

/// Everything a verdict depends on.
#[derive(Debug, Clone)]
pub struct JudgeInput<'a> {
    pub kind: Kind,
    pub build: &'a BuildFacts,
    pub now: DateTime<Utc>,
    pub scenario: ScenarioJudgement,
    pub expected: Range,
    pub expected_from: String,
    pub history: Option<&'a HistorySummary>,
    pub policy: BaselinePolicy,
    /// The managed S3 cache location (bucket/prefix) the guard would set, for advice.
    pub managed_cache: Option<String>,
    /// For a build off the S3 cache: the likely cause and what the guard did (when read).
    pub cache_standing: Option<CacheStanding>,
    /// The Docker build of its log that decides, when the log was read and shows one.
    pub docker: Option<&'a StepGroup>,
    /// The Dockerfile lines its log shows defeating the cache (`log::layer_order`).
    pub order: &'a [OrderFinding],
    /// Builds of a changed source in the 7 days up to this one (`judge_build::changed_in_week`);
    /// None when the history could not be read.
    pub changed_this_week: Option<u32>,
    /// Per-minute prices over the compute table's (`MONITOR_COMPUTE_PRICES`).
    pub compute_prices: &'a Prices,
}

pub fn judge(input: &JudgeInput<'_>) -> Option<Verdict> {
    let total = input.build.duration_seconds(input.now)?;
    let duration = input.build.own_seconds(input.now)?;
    let expected_limit = input.expected.high_seconds();
    let over_expected = duration > expected_limit;
    // The baseline is of earlier successful builds of the same scenario (`like_with_like`).
    let baseline = input.history.and_then(|h| h.baseline.clone());
    let kind_of = input.scenario.scenario.plural();
    let (baseline_limit, baseline_note) = match &baseline {
        None if input.history.is_none() => (None, "build history unavailable, so no baseline".to_owned()),
        None => (None, format!("no earlier successful {kind_of} to compare with")),
        Some(b) if b.samples < input.policy.min_samples => (
            None,
            format!(
                "only {} earlier successful {kind_of}, fewer than the {} needed to judge by the baseline",
                b.samples, input.policy.min_samples
            ),
        ),
        Some(b) => {
            let limit = (b.p90_seconds as f64 * input.policy.factor).round() as u64;
            (
                Some(limit),
                format!(
                    "slow above {} (p90 x {} of {} earlier {kind_of})",
                    fmt_duration(limit),
                    input.policy.factor,
                    b.samples
                ),
            )
        }
    };
    let over_baseline = baseline_limit.is_some_and(|l| duration > l);
    let limit = match baseline_limit {
        Some(b) if b < expected_limit => AppliedLimit {
            seconds: b,
            from: format!(
                "the history: p90 x {} of the last {} successful {kind_of}",
                input.policy.factor,
                baseline.as_ref().map_or(0, |b| b.samples)
            ),
        },
        _ => AppliedLimit {
            seconds: expected_limit,
            from: format!("the upper bound of the expected {}", input.expected),
        },
    };
    let status = &input.build.status;
    let timed_out = *status == BuildStatus::TimedOut;
    // A failed, faulted or stopped build's time says when it ended, not how fast it builds: never a
    // slow-build notice (the failure is the news). A timed-out one never finished: always one.
    let unsuccessful = matches!(status, BuildStatus::Failed | BuildStatus::Stopped | BuildStatus::Fault);
    let times_refused = implausible(input.build, total);
    let slow = times_refused.is_none() && (timed_out || (!unsuccessful && (over_expected || over_baseline)));
    let severity = if timed_out || (slow && duration >= 2 * expected_limit) {
        Severity::Error
    } else if slow {
        Severity::Warning
    } else {
        Severity::Info
    };
    let top_phase = top_phase(input.build, input.history);
    let advice = if slow { advise(input, total, duration, top_phase.as_ref()) } else { vec![] };
    let verb = match input.kind {
        Kind::RunningOverdue => "running for",
        Kind::FinishedSlow => "took",
    };
    let waiting = if total > duration {
        format!(" ({} in all, {} of it queued and provisioning)", fmt_duration(total), fmt_duration(total - duration))
    } else {
        String::new()
    };
    let mut summary = format!(
        "{} {verb} {}{waiting}; expected {} for {} ({})",
        input.build.project,
        fmt_duration(duration),
        input.expected,
        input.scenario.scenario.describe(),
        if over_expected { "over" } else { "within" }
    );
    if let (Some(b), Some(limit)) = (&baseline, baseline_limit) {
        summary.push_str(&format!(
            "; baseline p90 {} x {} = {} ({})",
            fmt_duration(b.p90_seconds),
            input.policy.factor,
            fmt_duration(limit),
            if over_baseline { "over" } else { "within" }
        ));
    }
    let ending = match (&times_refused, status) {
        (Some(why), _) => format!(": not judged, {why}"),
        (None, BuildStatus::TimedOut) => match input.build.timeout_minutes {
            Some(m) => format!(": timed out, it ran into the project's timeout of {m} min"),
            None => ": timed out, it ran into the project's timeout".to_owned(),
        },
        (None, BuildStatus::Failed | BuildStatus::Fault) => {
            format!(": {status}, a build that did not succeed gets no slow-build notice")
        }
        (None, BuildStatus::Stopped) => ": stopped, a stopped build gets no slow-build notice".to_owned(),
        (None, _) if slow => format!(": slow (limit {}, {})", fmt_duration(limit.seconds), limit.from),
        (None, _) => ": ok".to_owned(),
    };
    summary.push_str(&ending);
    Some(Verdict {
        kind: input.kind,
        slow,
        severity,
        duration_seconds: total,
        judged_seconds: duration,
        queued_seconds: input.build.phase_seconds("QUEUED").unwrap_or(0),
        provisioning_seconds: input.build.phase_seconds("PROVISIONING").unwrap_or(0),
        scenario: input.scenario.clone(),
        expected: input.expected,
        expected_from: input.expected_from.clone(),
        over_expected,
        baseline,
        baseline_limit_seconds: baseline_limit,
        baseline_factor: input.policy.factor,
        over_baseline,
        baseline_note,
        limit,
        times_refused,
        top_phase,
        cache_standing: input.cache_standing.clone(),
        advice,
        summary,
    })
}

fn top_phase(build: &BuildFacts, history: Option<&HistorySummary>) -> Option<PhaseOverrun> {
    let timed = build.phases.iter().filter_map(|p| p.seconds.map(|s| (p, s)));
    let medians = history.map(|h| &h.phase_medians).filter(|m| !m.is_empty());
    let best = match medians {
        Some(m) => timed.max_by_key(|(p, s)| (*s as i64 - m.get(&p.phase).copied().unwrap_or(0) as i64, *s)),
        None => timed.max_by_key(|(_, s)| *s),
    }?;
    (best.1 > 0).then(|| PhaseOverrun {
        phase: best.0.phase.clone(),
        seconds: best.1,
        median_seconds: medians.and_then(|m| m.get(&best.0.phase).copied()),
    })
}

fn advise(input: &JudgeInput<'_>, total: u64, duration: u64, top: Option<&PhaseOverrun>) -> Vec<String> {
    let build = input.build;
    let mut advice = Vec::new();
    let on_s3 = build.cache.as_ref().is_some_and(|c| c.is_s3());
    match &build.cache {
        Some(cache) if cache.is_s3() => {}
        _ if input.cache_standing.is_some() => {
            advice.extend(input.cache_standing.iter().flat_map(|s| s.advice.iter().cloned()));
        }
        other => {
            let what = other.as_ref().map(|c| c.to_string()).unwrap_or_else(|| "no cache reported".into());
            let to = input.managed_cache.as_deref().map(|l| format!(" at {l}")).unwrap_or_default();
            advice.push(format!(
                "The build ran with {what}, not the S3 cache: LOCAL caches are lost when CodeBuild changes hosts. cache-guard switches the project to S3{to} on its next build state change or sweep; if it did not, read its notices and logs (PROJECT_INCLUDE/EXCLUDE, the ignore tag, the bucket)."
            ));
        }
    }
    if input.scenario.scenario == Scenario::First && on_s3 {
        advice.push("This was judged as a first build: it fills the cache, and the next build of the same source should take the no-change time.".into());
    }
    let share = |phase: &str| build.phase_seconds(phase).map(|s| s * 100 / duration.max(1)).unwrap_or(0);
    let is_top = |phase: &str| top.is_some_and(|t| t.phase == phase);
    if is_top("PRE_BUILD") || share("PRE_BUILD") >= 20 {
        advice.push("PRE_BUILD is long: pre-pull the base image (docker pull of the previous image and the ~4 GB base) and pass several --cache-from images (the last build's image and the base) to docker build, so layers come from the registry instead of being rebuilt.".into());
    }
    // The log names the lines to change: those, exactly; else the general rule when BUILD is long.
    if !input.order.is_empty() {
        advice.extend(input.order.iter().map(|f| format!("Dockerfile: {}", f.describe())));
        // What the order costs a week: every build of a changed source reran the install.
        let rerun = input.order.iter().filter(|f| f.mistake.reruns_installs()).map(|f| f.rebuilt_millis).max();
        if let (Some(ms @ 1..), Some(builds @ 1..)) = (rerun, input.changed_this_week) {
            let minutes = (ms * u64::from(builds)).div_ceil(60_000);
            advice.push(format!(
                "What the order costs: {builds} {} of a changed source in the 7 days up to this one; if each reran the install as this one did ({}), about {minutes} min a week that the reordered Dockerfile would reuse.",
                if builds == 1 { "build" } else { "builds" },
                fmt_duration(ms.div_ceil(1000))
            ));
        }
    } else if is_top("BUILD") || share("BUILD") >= 50 {
        advice.push("BUILD is long: order the Dockerfile so dependency layers come first: COPY requirements.txt and RUN pip install before COPY of the application code, so an app-code change reuses the dependency layers.".into());
    }
    // Compute comes last and only once the cache and the layer order are right: on the S3 cache
    // with nothing against it, and, for a Docker build, layers beyond the base image reused. Before
    // that a bigger type pays for minutes the cache would save (figures: `compute`'s table).
    let cache_right = on_s3 && input.cache_standing.is_none();
    let layers_right =
        input.docker.is_none_or(|g| g.reused() > 1) && !input.order.iter().any(|f| f.mistake.reruns_installs());
    if cache_right
        && layers_right
        && let Some(compute) = build.compute_type.as_deref()
        && let Some(text) = compute::advice(
            build.environment_type.as_deref(),
            compute,
            total,
            build.status.is_final(),
            input.compute_prices,
        )
    {
        advice.push(text);
    }
    advice
}

/// "33 min 36 s", "45 s", "1 h 02 min".
pub fn fmt_duration(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 {
        format!("{h} h {m:02} min")
    } else if m > 0 {
        format!("{m} min {s} s")
    } else {
        format!("{s} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::PhaseTime;
    use crate::event::BuildStatus;
    use crate::monitor::expected::Profile;
    use crate::project::CacheSetting;
    use chrono::TimeZone;

    fn build(minutes: u64, phases: &[(&str, u64)], cache: CacheSetting) -> BuildFacts {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).unwrap();
        let mut b = BuildFacts::new("tts", BuildStatus::Succeeded);
        b.start = Some(t0);
        b.end = Some(t0 + chrono::Duration::seconds(minutes as i64 * 60));
        b.phases =
            phases.iter().map(|(p, s)| PhaseTime { phase: (*p).into(), seconds: Some(*s), status: None }).collect();
        b.cache = Some(cache);
        b.compute_type = Some("BUILD_GENERAL1_LARGE".into());
        b
    }

    static NO_PRICES: Prices = Prices::EMPTY;

    fn history(durations: &[u64]) -> HistorySummary {
        HistorySummary {
            successful: durations.len(),
            last_success_source: None,
            last_success_id: None,
            baseline: Baseline::from_durations(durations),
            phase_medians: Default::default(),
        }
    }

    fn input<'a>(b: &'a BuildFacts, scenario: Scenario, h: Option<&'a HistorySummary>) -> JudgeInput<'a> {
        JudgeInput {
            kind: Kind::FinishedSlow,
            build: b,
            now: Utc::now(),
            scenario: ScenarioJudgement {
                scenario,
                reason: "test".into(),
                decided_by: crate::monitor::scenario::DecidedBy::SourceVersion,
            },
            expected: scenario.expected(&Profile::SEED),
            expected_from: "*".into(),
            history: h,
            policy: BaselinePolicy { factor: 1.5, min_samples: 5 },
            managed_cache: Some("bucket/tts".into()),
            cache_standing: None,
            docker: None,
            order: &[],
            changed_this_week: None,
            compute_prices: &NO_PRICES,
        }
    }

    #[test]
    fn thresholds_are_the_upper_bound_exclusive() {
        let s3 = CacheSetting::s3("bucket/tts");
        let at = build(12, &[], s3.clone());
        let v = judge(&input(&at, Scenario::App, None)).unwrap();
        assert!(!v.slow && !v.over_expected, "12 min is within 8-12");
        assert_eq!(v.severity, Severity::Info);
        assert!(v.advice.is_empty());
        let over = build(13, &[], s3.clone());
        let v = judge(&input(&over, Scenario::App, None)).unwrap();
        assert!(v.slow && v.over_expected);
        assert_eq!(v.severity, Severity::Warning);
        let first = build(27, &[], s3.clone());
        assert!(!judge(&input(&first, Scenario::First, None)).unwrap().slow);
        let twice = build(24, &[], s3);
        assert_eq!(judge(&input(&twice, Scenario::App, None)).unwrap().severity, Severity::Error);
    }

    #[test]
    fn baseline_needs_enough_samples() {
        let b = build(10, &[], CacheSetting::s3("x"));
        let v = judge(&input(&b, Scenario::App, None)).unwrap();
        assert!(v.baseline_note.contains("history unavailable"), "{}", v.baseline_note);
        let none = history(&[]);
        let v = judge(&input(&b, Scenario::App, Some(&none))).unwrap();
        assert!(v.baseline_note.contains("no earlier successful app-code-change builds"), "{}", v.baseline_note);
        let few = history(&[120, 130, 140]);
        let v = judge(&input(&b, Scenario::App, Some(&few))).unwrap();
        assert!(!v.slow, "within 8-12 and too few samples");
        assert!(v.baseline_note.contains("only 3"), "{}", v.baseline_note);
        let many = history(&[240, 250, 260, 270, 280, 290, 300]);
        let v = judge(&input(&b, Scenario::App, Some(&many))).unwrap();
        assert_eq!(v.baseline_limit_seconds, Some(450));
        assert!(v.slow && v.over_baseline && !v.over_expected);
        assert!(v.summary.contains("baseline p90 5 min 0 s x 1.5 = 7 min 30 s (over)"), "{}", v.summary);
        assert_eq!(v.limit.seconds, 450, "the history's limit applied: lower than the range's 12 min");
        assert!(v.limit.from.contains("p90 x 1.5 of the last 7 successful app-code-change builds"), "{}", v.limit.from);
        let high = history(&[600, 610, 620, 630, 640, 650, 660]);
        let v = judge(&input(&b, Scenario::App, Some(&high))).unwrap();
        assert_eq!(v.limit.seconds, 720, "the history may only lower the limit, never raise it");
        assert!(v.limit.from.contains("expected 8-12 min"), "{}", v.limit.from);
    }

    #[test]
    fn advice_follows_the_phases_cache_and_compute() {
        let b = build(33, &[("PRE_BUILD", 412), ("BUILD", 1396)], CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));
        let v = judge(&input(&b, Scenario::UnknownChange, None)).unwrap();
        assert_eq!(v.top_phase.as_ref().map(|p| p.phase.as_str()), Some("BUILD"));
        let all = v.advice.join("\n");
        assert!(all.contains("not the S3 cache") && all.contains("bucket/tts"), "{all}");
        assert!(all.contains("--cache-from"), "{all}");
        assert!(all.contains("requirements.txt"), "{all}");
        assert!(!all.contains("Compute type"), "no compute advice while the cache is LOCAL: {all}");
    }

    #[test]
    fn compute_advice_comes_once_the_cache_and_layers_are_right() {
        use crate::monitor::log::docker_steps::{Step, StepGroup, StepOutcome};
        let step = |n: u32, instruction: &str, outcome| Step {
            label: format!("[{n}/3]"),
            instruction: instruction.into(),
            from: n == 1,
            outcome,
            millis: None,
        };
        let b = build(33, &[("PRE_BUILD", 412), ("BUILD", 1396)], CacheSetting::s3("bucket/tts"));
        let v = judge(&input(&b, Scenario::UnknownChange, None)).unwrap();
        let compute = v.advice.last().expect("advice");
        // 33 minutes in all: 33 billed minutes at LARGE's $0.02, and 2XLARGE ten times that.
        assert!(
            compute.starts_with("Compute type is BUILD_GENERAL1_LARGE (8 vCPU, 16 GiB), $0.020 a minute"),
            "{compute}"
        );
        assert!(compute.contains("33 billed minutes cost about $0.66"), "{compute}");
        assert!(compute.contains("BUILD_GENERAL1_2XLARGE (72 vCPU, 144 GiB) costs $0.20 a minute (on-demand, us-east-1): $6.60 for as many minutes, 10.0x as much"), "{compute}");
        // A Docker build that reused nothing but its base image: the layer order first.
        let rebuilt = StepGroup {
            build: 1,
            stage: None,
            total: Some(3),
            millis: 0,
            steps: vec![
                step(1, "FROM pytorch/pytorch", StepOutcome::Cached),
                step(2, "COPY . .", StepOutcome::Rebuilt),
                step(3, "RUN pip install -r requirements.txt", StepOutcome::Rebuilt),
            ],
        };
        let with_docker = JudgeInput { docker: Some(&rebuilt), ..input(&b, Scenario::UnknownChange, None) };
        let v = judge(&with_docker).unwrap();
        assert!(!v.advice.join("\n").contains("Compute type"), "{:?}", v.advice);
    }

    #[test]
    fn top_phase_uses_history_medians() {
        let b = build(30, &[("PRE_BUILD", 900), ("BUILD", 1000)], CacheSetting::s3("x"));
        let mut h = history(&[600; 6]);
        h.phase_medians = [("PRE_BUILD".to_owned(), 60), ("BUILD".to_owned(), 900)].into_iter().collect();
        let v = judge(&input(&b, Scenario::App, Some(&h))).unwrap();
        let top = v.top_phase.unwrap();
        assert_eq!((top.phase.as_str(), top.seconds, top.median_seconds), ("PRE_BUILD", 900, Some(60)));
    }

    #[test]
    fn queueing_and_provisioning_are_not_judged() {
        let mut b = build(20, &[("QUEUED", 360), ("PROVISIONING", 60), ("BUILD", 700)], CacheSetting::s3("x"));
        let v = judge(&input(&b, Scenario::App, None)).unwrap();
        assert_eq!(
            (v.duration_seconds, v.judged_seconds, v.queued_seconds, v.provisioning_seconds),
            (1200, 780, 360, 60)
        );
        assert!(v.slow, "13 min of its own is over 8-12");
        assert!(v.summary.contains("took 13 min 0 s (20 min 0 s in all, 7 min 0 s of it queued"), "{}", v.summary);
        b.phases[0].seconds = Some(600);
        assert!(!judge(&input(&b, Scenario::App, None)).unwrap().slow, "9 min of its own: within");
    }

    #[test]
    fn failed_and_stopped_builds_never_get_a_notice_timed_out_ones_always() {
        let many = history(&[240, 250, 260, 270, 280, 290, 300]);
        for status in [BuildStatus::Stopped, BuildStatus::Failed, BuildStatus::Fault] {
            let mut b = build(30, &[], CacheSetting::s3("x"));
            b.status = status.clone();
            let v = judge(&input(&b, Scenario::App, Some(&many))).unwrap();
            assert!(v.over_expected && !v.slow, "{status}: 30 min, over 8-12, but no slow-build notice");
            assert!(v.summary.contains("gets no slow-build notice"), "{}", v.summary);
        }
        let mut b = build(10, &[], CacheSetting::s3("x"));
        b.status = BuildStatus::TimedOut;
        b.timeout_minutes = Some(10);
        let v = judge(&input(&b, Scenario::App, None)).unwrap();
        assert!(!v.over_expected && v.slow, "within 8-12, but it ran into its timeout");
        assert_eq!(v.severity, Severity::Error);
        assert!(v.summary.ends_with("timed out, it ran into the project's timeout of 10 min"), "{}", v.summary);
    }

    #[test]
    fn a_time_beyond_the_timeouts_is_refused_not_judged() {
        let mut b = build(60 * 24 * 3, &[], CacheSetting::s3("x"));
        b.timeout_minutes = Some(60);
        b.queued_timeout_minutes = Some(480);
        let v = judge(&input(&b, Scenario::NoChange, None)).unwrap();
        assert!(!v.slow, "three days: no build lasts that long");
        let why = v.times_refused.expect("refused");
        assert!(why.contains("timeout (60 min) plus its queued timeout (480 min)"), "{why}");
        let long = build(60 * 40, &[], CacheSetting::s3("x"));
        let v = judge(&input(&long, Scenario::NoChange, None)).unwrap();
        assert!(v.times_refused.is_none() && v.slow, "40 h: CodeBuild allows 36 h + 8 h when the build names none");
        let mut week = build(60 * 24 * 7, &[], CacheSetting::s3("x"));
        week.status = BuildStatus::TimedOut;
        assert!(!judge(&input(&week, Scenario::NoChange, None)).unwrap().slow, "beyond CodeBuild's own bounds");
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(fmt_duration(0), "0 s");
        assert_eq!(fmt_duration(45), "45 s");
        assert_eq!(fmt_duration(2016), "33 min 36 s");
        assert_eq!(fmt_duration(3720), "1 h 02 min");
    }
}
