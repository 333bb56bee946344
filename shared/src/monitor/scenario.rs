//! Which of the seed's scenarios a build is, and why: what the buildspec exported, else the
//! history (no earlier success = first build; same source as the last success = no change), else
//! an empty cache (first build), else a change of unknown kind.

use super::baseline::HistorySummary;
use super::expected::{Profile, Range};
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

/// The scenario assumed and the reasons, in words for the notice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScenarioJudgement {
    pub scenario: Scenario,
    pub reason: String,
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
}

pub fn classify(inputs: &ScenarioInputs<'_>) -> ScenarioJudgement {
    let var = inputs.variable;
    let mut notes = Vec::new();
    if let Some(value) = inputs.exported {
        match Scenario::from_exported(value) {
            Some(scenario) => {
                return ScenarioJudgement { scenario, reason: format!("the buildspec exported {var}={value}") };
            }
            None => notes.push(format!(
                "{var}={value:?} is not a known scenario (first, no_change, app, requirements), ignored"
            )),
        }
    }
    let judged = |scenario, reason: String, notes: &[String]| {
        let reason = if notes.is_empty() { reason } else { format!("{reason}; {}", notes.join("; ")) };
        ScenarioJudgement { scenario, reason }
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
        return judged(Scenario::First, "no earlier successful build of this project".into(), &notes);
    }
    if inputs.cache_empty == Some(true) {
        let at = inputs.cache_location.map(|l| format!(" at s3://{l}/")).unwrap_or_default();
        return judged(Scenario::First, format!("the project's S3 cache{at} is empty"), &notes);
    }
    if let Some(h) = history {
        match (inputs.source_version, h.last_success_source.as_deref()) {
            (Some(now), Some(last)) if now == last => {
                let id = h.last_success_id.as_deref().unwrap_or("the last successful build");
                return judged(
                    Scenario::NoChange,
                    format!("same source version {now} as the last successful build {id}"),
                    &notes,
                );
            }
            (Some(now), Some(last)) => {
                notes.insert(0, format!("source version {now} differs from {last} of the last successful build"));
            }
            _ => notes.insert(0, "source versions unknown, so a change is assumed".into()),
        }
    } else {
        notes.insert(0, "without history a change is assumed".into());
    }
    notes.push(format!(
        "the kind of change is unknown (the buildspec exported no {var}), so the application-code expectation applies: the stricter figure, so slow builds are not missed; if requirements changed, expect the requirements range and read this as a possible false alarm; export {var}=app or {var}=requirements from the buildspec (computed from its diff) to judge exactly"
    ));
    ScenarioJudgement { scenario: Scenario::UnknownChange, reason: notes.join("; ") }
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
