//! Which of the seed's scenarios a build is, and why, in this order of evidence: what the buildspec
//! exported (an override); no earlier successful build (a first build); an empty cache location
//! (a first build, unless the log shows layers cached); the same source version as the last success
//! (no change: whatever the log shows rebuilt was lost from the cache, and the reason says so); the
//! Docker log's first rebuilt step (`log::layer_change`: every step cached = no change, whatever
//! the commit; a dependency step first = a requirements change; a step after the cached dependency
//! steps = an app change; nothing cached = the cache did not work, said so, and judged as a change
//! of unknown kind); else a change of unknown kind. The judgement says which evidence decided.

use super::baseline::HistorySummary;
use super::expected::{Profile, Range};
use super::log::docker_steps::StepGroup;
use super::log::layer_change::{LayerChange, layer_change};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    First,
    NoChange,
    App,
    Requirements,
    /// The source changed but nothing says what: judged against the app-code expectation.
    UnknownChange,
}

impl Scenario {
    pub fn as_str(self) -> &'static str {
        match self {
            Scenario::First => "first",
            Scenario::NoChange => "no_change",
            Scenario::App => "app",
            Scenario::Requirements => "requirements",
            Scenario::UnknownChange => "unknown_change",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Scenario::First => "a first build",
            Scenario::NoChange => "a build with no source change",
            Scenario::App => "an application-code change",
            Scenario::Requirements => "a requirements change",
            Scenario::UnknownChange => "a source change of unknown kind (judged as an application-code change)",
        }
    }

    /// Builds of this scenario, in the plural ("only 2 earlier successful no-change builds").
    pub fn plural(self) -> &'static str {
        match self {
            Scenario::First => "first builds",
            Scenario::NoChange => "no-change builds",
            Scenario::App => "app-code-change builds",
            Scenario::Requirements => "requirements-change builds",
            Scenario::UnknownChange => "builds of a change of unknown kind",
        }
    }

    /// The expected range. An unknown change is judged as an application-code change: the
    /// stricter figure, because the point is to notice builds that are not fast; the notice says
    /// so and how to make the judgement exact.
    pub fn expected(self, profile: &Profile) -> Range {
        match self {
            Scenario::First => profile.first,
            Scenario::NoChange => profile.no_change,
            Scenario::App | Scenario::UnknownChange => profile.app,
            Scenario::Requirements => profile.requirements,
        }
    }

    /// Values a buildspec may export (case-insensitive).
    pub fn from_exported(value: &str) -> Option<Scenario> {
        match value.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "first" | "first_build" | "cold" => Some(Scenario::First),
            "no_change" | "nochange" | "none" | "unchanged" => Some(Scenario::NoChange),
            "app" | "application" | "code" | "app_code" => Some(Scenario::App),
            "requirements" | "deps" | "dependencies" | "requirements_txt" => Some(Scenario::Requirements),
            _ => None,
        }
    }
}

/// The evidence that decided the scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecidedBy {
    /// The buildspec's exported variable.
    Exported,
    /// The project's build history (no earlier success).
    History,
    /// The Docker log's first rebuilt step.
    DockerLog,
    /// The S3 cache location was empty when the build started.
    EmptyCache,
    /// The source version against the last successful build's.
    SourceVersion,
}

impl DecidedBy {
    pub fn describe(self) -> &'static str {
        match self {
            DecidedBy::Exported => "the buildspec's exported variable",
            DecidedBy::History => "the build history",
            DecidedBy::DockerLog => "the Docker log",
            DecidedBy::EmptyCache => "the empty cache location",
            DecidedBy::SourceVersion => "the source version",
        }
    }
}

/// The scenario assumed and the reasons, in words for the notice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioJudgement {
    pub scenario: Scenario,
    pub reason: String,
    pub decided_by: DecidedBy,
}

/// What classification looks at.
#[derive(Debug, Clone, Default)]
pub struct ScenarioInputs<'a> {
    /// The configured variable's name and the value the build exported, if any.
    pub variable: &'a str,
    pub exported: Option<&'a str>,
    /// The build's source version.
    pub source_version: Option<&'a str>,
    /// The history, or why it is unavailable.
    pub history: Option<Result<&'a HistorySummary, &'a str>>,
    /// Whether the project's cache prefix is empty; None when not checked or unknown.
    pub cache_empty: Option<bool>,
    /// The cache location checked, for the reason text.
    pub cache_location: Option<&'a str>,
    /// The Docker build (or stage) of the log that decides, when the log was read and shows one.
    pub docker: Option<&'a StepGroup>,
}

pub fn classify(inputs: &ScenarioInputs<'_>) -> ScenarioJudgement {
    let var = inputs.variable;
    let mut notes = Vec::new();
    if let Some(value) = inputs.exported {
        match Scenario::from_exported(value) {
            Some(scenario) => {
                return ScenarioJudgement {
                    scenario,
                    reason: format!("the buildspec exported {var}={value}"),
                    decided_by: DecidedBy::Exported,
                };
            }
            None => notes.push(format!(
                "{var}={value:?} is not a known scenario (first, no_change, app, requirements), ignored"
            )),
        }
    }
    let judged = |scenario, reason: String, notes: &[String], decided_by| {
        let reason = if notes.is_empty() { reason } else { format!("{reason}; {}", notes.join("; ")) };
        ScenarioJudgement { scenario, reason, decided_by }
    };
    let history = match inputs.history {
        Some(Ok(h)) => Some(h),
        Some(Err(why)) => {
            notes.push(format!("build history unavailable ({why})"));
            None
        }
        None => None,
    };
    if history.is_some_and(|h| h.successful == 0) {
        return judged(
            Scenario::First,
            "no earlier successful build of this project".into(),
            &notes,
            DecidedBy::History,
        );
    }
    let at = inputs.cache_location.map(|l| format!(" at s3://{l}/")).unwrap_or_default();
    let layers = inputs.docker.and_then(layer_change);
    // An empty cache is a first build, unless the log shows layers cached (a registry cache).
    if inputs.cache_empty == Some(true) {
        match &layers {
            Some((LayerChange::NothingCached, words)) => {
                let words = words.replace(": the cache did not work", "");
                let reason = format!("the project's S3 cache{at} is empty and {words}");
                return judged(Scenario::First, reason, &notes, DecidedBy::EmptyCache);
            }
            None => {
                return judged(
                    Scenario::First,
                    format!("the project's S3 cache{at} is empty"),
                    &notes,
                    DecidedBy::EmptyCache,
                );
            }
            Some(_) => {
                notes.push(format!("the project's S3 cache{at} is empty, but the Docker log shows layers cached"))
            }
        }
    }
    // The same source as the last success: nothing changed, whatever the log shows rebuilt (then
    // layers were lost, which is what a slow build's email must say).
    if let Some(h) = history
        && let (Some(now), Some(last)) = (inputs.source_version, h.last_success_source.as_deref())
        && now == last
    {
        let id = h.last_success_id.as_deref().unwrap_or("the last successful build");
        if let Some((change, words)) = &layers
            && *change != LayerChange::NothingRebuilt
        {
            notes.push(format!("yet {words}: the cache lost layers"));
        }
        let reason = format!("same source version {now} as the last successful build {id}");
        return judged(Scenario::NoChange, reason, &notes, DecidedBy::SourceVersion);
    }
    if let Some((change, words)) = layers {
        let scenario = match change {
            LayerChange::NothingRebuilt => Some(Scenario::NoChange),
            LayerChange::Dependencies => Some(Scenario::Requirements),
            LayerChange::AfterDependencies => Some(Scenario::App),
            // Whatever changed, the dependencies were reinstalled: a requirements change's work.
            LayerChange::BeforeDependencies => Some(Scenario::Requirements),
            LayerChange::NothingCached => None,
        };
        match scenario {
            Some(scenario) => return judged(scenario, words, &notes, DecidedBy::DockerLog),
            None => notes.push(format!("{words}, so the build is judged by its source version")),
        }
    }
    match history.map(|h| (inputs.source_version, h.last_success_source.as_deref())) {
        Some((Some(now), Some(last))) => {
            notes.insert(0, format!("source version {now} differs from {last} of the last successful build"))
        }
        Some(_) => notes.insert(0, "source versions unknown, so a change is assumed".into()),
        None => notes.insert(0, "without history a change is assumed".into()),
    }
    let no_log = if inputs.docker.is_some() { "" } else { ", no Docker log showed its layers" };
    notes.push(format!(
        "the kind of change is unknown (the buildspec exported no {var}{no_log}), so the application-code expectation applies: the stricter figure, so slow builds are not missed; if requirements changed, expect the requirements range and read this as a possible false alarm; export {var}=app or {var}=requirements from the buildspec (computed from its diff) to judge exactly"
    ));
    ScenarioJudgement {
        scenario: Scenario::UnknownChange,
        reason: notes.join("; "),
        decided_by: DecidedBy::SourceVersion,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(successful: usize, last: Option<&str>) -> HistorySummary {
        HistorySummary {
            successful,
            last_success_source: last.map(str::to_owned),
            last_success_id: last.map(|_| "p:prev".to_owned()),
            baseline: None,
            phase_medians: Default::default(),
        }
    }

    fn inputs<'a>(h: &'a HistorySummary) -> ScenarioInputs<'a> {
        ScenarioInputs {
            variable: "CACHE_SENTINEL_SCENARIO",
            history: Some(Ok(h)),
            source_version: Some("abc"),
            ..Default::default()
        }
    }

    #[test]
    fn exported_variable_wins() {
        let h = history(5, Some("abc"));
        let mut i = inputs(&h);
        i.exported = Some("requirements");
        let j = classify(&i);
        assert_eq!(j.scenario, Scenario::Requirements);
        assert!(j.reason.contains("CACHE_SENTINEL_SCENARIO=requirements"), "{}", j.reason);
        i.exported = Some("APP");
        assert_eq!(classify(&i).scenario, Scenario::App);
        i.exported = Some("banana");
        let j = classify(&i);
        assert_eq!(j.scenario, Scenario::NoChange, "unknown value ignored, history decides");
        assert!(j.reason.contains("banana"), "{}", j.reason);
    }

    #[test]
    fn first_build_from_history_or_empty_cache() {
        let h = history(0, None);
        assert_eq!(classify(&inputs(&h)).scenario, Scenario::First);
        let h = history(3, Some("abc"));
        let mut i = inputs(&h);
        i.cache_empty = Some(true);
        i.cache_location = Some("bucket/p");
        let j = classify(&i);
        assert_eq!(j.scenario, Scenario::First);
        assert!(j.reason.contains("s3://bucket/p/"), "{}", j.reason);
    }

    #[test]
    fn same_source_is_no_change_else_unknown_change() {
        let h = history(3, Some("abc"));
        let j = classify(&inputs(&h));
        assert_eq!(j.scenario, Scenario::NoChange);
        assert!(j.reason.contains("p:prev"), "{}", j.reason);
        let h = history(3, Some("old"));
        let j = classify(&inputs(&h));
        assert_eq!(j.scenario, Scenario::UnknownChange);
        assert!(j.reason.contains("differs from old"), "{}", j.reason);
        assert!(j.reason.contains("application-code expectation"), "{}", j.reason);
        assert_eq!(Scenario::UnknownChange.expected(&Profile::SEED), Profile::SEED.app);
    }

    fn steps(log: &str) -> StepGroup {
        let mut reader = crate::monitor::log::docker_steps::DockerSteps::new();
        log.lines().for_each(|l| reader.line(l));
        reader.finish().expect("a Docker build").decisive
    }

    const REQUIREMENTS: &str = "#4 [1/4] FROM python:3.11\n#4 DONE 0.0s\n#5 [2/4] WORKDIR /app\n#5 CACHED\n#6 [3/4] COPY requirements.txt .\n#6 DONE 0.1s\n#7 [4/4] COPY . .\n#7 DONE 0.2s\n";
    const APP: &str = "#4 [1/4] FROM python:3.11\n#4 DONE 0.0s\n#5 [2/4] COPY requirements.txt .\n#5 CACHED\n#6 [3/4] RUN pip install -r requirements.txt\n#6 CACHED\n#7 [4/4] COPY tts/ ./tts/\n#7 DONE 0.2s\n";
    const ALL_CACHED: &str = "#4 [1/3] FROM python:3.11\n#4 DONE 0.0s\n#5 [2/3] COPY requirements.txt .\n#5 CACHED\n#6 [3/3] COPY . .\n#6 CACHED\n";
    const NOTHING_CACHED: &str = "#4 [1/3] FROM python:3.11\n#4 DONE 0.0s\n#5 [2/3] WORKDIR /app\n#5 DONE 0.0s\n#6 [3/3] COPY . .\n#6 DONE 0.1s\n";

    #[test]
    fn the_docker_log_decides_after_the_exported_variable_and_a_first_build() {
        let h = history(3, Some("old"));
        let cases = [
            (REQUIREMENTS, Scenario::Requirements, "[3/4] COPY requirements.txt ."),
            (APP, Scenario::App, "[4/4] COPY tts/ ./tts/"),
            (ALL_CACHED, Scenario::NoChange, "every step cached (3 of 3 steps cached)"),
        ];
        for (log, scenario, says) in cases {
            let group = steps(log);
            let j = classify(&ScenarioInputs { docker: Some(&group), ..inputs(&h) });
            assert_eq!((j.scenario, j.decided_by), (scenario, DecidedBy::DockerLog), "{}", j.reason);
            assert!(j.reason.contains(says), "{}", j.reason);
        }
        // A docs-only commit with every step cached is a no-change build, whatever the commit.
        let group = steps(ALL_CACHED);
        assert_eq!(classify(&ScenarioInputs { docker: Some(&group), ..inputs(&h) }).scenario, Scenario::NoChange);
        // The exported variable and a first build come first.
        let group = steps(REQUIREMENTS);
        let exported = ScenarioInputs { docker: Some(&group), exported: Some("app"), ..inputs(&h) };
        assert_eq!(classify(&exported).decided_by, DecidedBy::Exported);
        let never = history(0, None);
        let first = classify(&ScenarioInputs { docker: Some(&group), ..inputs(&never) });
        assert_eq!((first.scenario, first.decided_by), (Scenario::First, DecidedBy::History));
    }

    #[test]
    fn nothing_cached_is_a_broken_cache_unless_the_cache_was_empty() {
        let h = history(3, Some("old"));
        let group = steps(NOTHING_CACHED);
        let j = classify(&ScenarioInputs { docker: Some(&group), ..inputs(&h) });
        assert_eq!((j.scenario, j.decided_by), (Scenario::UnknownChange, DecidedBy::SourceVersion));
        assert!(
            j.reason
                .contains("no step cached before the first rebuilt one, [2/3] WORKDIR /app: the cache did not work"),
            "{}",
            j.reason
        );
        let same = history(3, Some("abc"));
        assert_eq!(classify(&ScenarioInputs { docker: Some(&group), ..inputs(&same) }).scenario, Scenario::NoChange);
        let empty = ScenarioInputs { docker: Some(&group), cache_empty: Some(true), ..inputs(&h) };
        let j = classify(&empty);
        assert_eq!((j.scenario, j.decided_by), (Scenario::First, DecidedBy::EmptyCache));
        assert!(!j.reason.contains("did not work"), "{}", j.reason);
    }

    #[test]
    fn unavailable_history_is_said() {
        let i = ScenarioInputs {
            variable: "V",
            history: Some(Err("AccessDenied")),
            cache_empty: Some(false),
            ..Default::default()
        };
        let j = classify(&i);
        assert_eq!(j.scenario, Scenario::UnknownChange);
        assert!(j.reason.contains("history unavailable (AccessDenied)"), "{}", j.reason);
    }
}
