//! Expected build times per scenario, per project: the seed write-up's figures by default, or a
//! JSON object of project pattern -> profile (`ExpectedTimes::parse_json`).

use crate::filter::glob_match;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// A range of minutes; a build is over its expected time when it takes longer than `high`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Range {
    pub low_minutes: f64,
    pub high_minutes: f64,
}

impl Range {
    /// A build cannot be judged against less than a minute; none runs longer than 36 hours.
    pub const MIN_HIGH_MINUTES: f64 = 1.0;
    pub const MAX_MINUTES: f64 = 2160.0;

    pub const fn new(low_minutes: f64, high_minutes: f64) -> Self {
        Range { low_minutes, high_minutes }
    }

    pub fn high_seconds(&self) -> u64 {
        (self.high_minutes * 60.0).round() as u64
    }

    pub fn parse(raw: &str) -> Result<Range, String> {
        let raw = raw.trim();
        let number = |s: &str| -> Result<f64, String> {
            let s = s.trim().trim_end_matches("min").trim();
            s.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n >= 0.0)
                .ok_or_else(|| format!("{raw:?} is not a range of minutes like \"8-12\""))
        };
        let (low, high) = match raw.split_once('-') {
            Some((low, high)) => (number(low)?, number(high)?),
            None => (0.0, number(raw)?),
        };
        if !(Range::MIN_HIGH_MINUTES..=Range::MAX_MINUTES).contains(&high) || low > high {
            return Err(format!(
                "{raw:?}: the range must be LOW-HIGH minutes with 0 <= LOW <= HIGH and HIGH within 1-2160 (CodeBuild's longest timeout)"
            ));
        }
        Ok(Range::new(low, high))
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{} min", minutes(self.low_minutes), minutes(self.high_minutes))
    }
}

fn minutes(m: f64) -> String {
    if m.fract() == 0.0 { format!("{}", m as u64) } else { format!("{m}") }
}

/// The four scenarios of the seed write-up.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Profile {
    pub first: Range,
    pub no_change: Range,
    pub app: Range,
    pub requirements: Range,
}

impl Profile {
    /// The seed write-up: first build ~25 min (20-28), no change 5-8, app code 8-12, requirements 15-20.
    pub const SEED: Profile = Profile {
        first: Range::new(20.0, 28.0),
        no_change: Range::new(5.0, 8.0),
        app: Range::new(8.0, 12.0),
        requirements: Range::new(15.0, 20.0),
    };

    /// The shortest upper bound: a running build below it cannot be overdue in any scenario.
    pub fn min_high_minutes(&self) -> f64 {
        [self.first, self.no_change, self.app, self.requirements]
            .iter()
            .map(|r| r.high_minutes)
            .fold(f64::INFINITY, f64::min)
    }
}

impl Default for Profile {
    fn default() -> Self {
        Profile::SEED
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
struct PartialProfile {
    first: Option<Range>,
    no_change: Option<Range>,
    app: Option<Range>,
    requirements: Option<Range>,
}

impl PartialProfile {
    fn over(&self, base: &Profile) -> Profile {
        Profile {
            first: self.first.unwrap_or(base.first),
            no_change: self.no_change.unwrap_or(base.no_change),
            app: self.app.unwrap_or(base.app),
            requirements: self.requirements.unwrap_or(base.requirements),
        }
    }
}

/// Expected times for every project.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedTimes {
    fallback: Profile,
    /// (pattern, profile), most specific first.
    patterns: Vec<(String, Profile)>,
}

impl Default for ExpectedTimes {
    fn default() -> Self {
        ExpectedTimes { fallback: Profile::SEED, patterns: vec![] }
    }
}

impl ExpectedTimes {
    /// Parses `{"tts-*": {"first": "20-28", "app": "8-12"}, "*": {"no_change": "5-8"}}`: keys are
    /// project names or globs (`*`, `?`), values profiles with any of `first`, `no_change`, `app`,
    /// `requirements`, each `"LOW-HIGH"` minutes (or `"N"` for 0-N). A project uses its exact name,
    /// else the glob with the most literal characters (ties: alphabetical), else `*`; keys a
    /// profile leaves out come from `*`, else the defaults. The error names the bad entry.
    pub fn parse_json(raw: &str) -> Result<Self, String> {
        let value: serde_json::Value = serde_json::from_str(raw).map_err(|e| format!("not valid JSON: {e}"))?;
        let obj = value.as_object().ok_or("expected a JSON object of project pattern -> profile")?;
        let mut partials: BTreeMap<String, PartialProfile> = BTreeMap::new();
        for (pattern, profile) in obj {
            if pattern.is_empty() || pattern.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err(format!("project pattern {pattern:?} is empty or contains white space"));
            }
            let fields = profile
                .as_object()
                .ok_or_else(|| format!("entry {pattern:?}: expected an object like {{\"app\": \"8-12\"}}"))?;
            let mut partial = PartialProfile::default();
            for (key, range) in fields {
                let text = match range {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Number(n) => n.to_string(),
                    other => {
                        return Err(format!(
                            "entry {pattern:?}.{key}: expected a range string like \"8-12\", got {other}"
                        ));
                    }
                };
                let range = Range::parse(&text).map_err(|e| format!("entry {pattern:?}.{key}: {e}"))?;
                let slot = match key.as_str() {
                    "first" => &mut partial.first,
                    "no_change" => &mut partial.no_change,
                    "app" => &mut partial.app,
                    "requirements" => &mut partial.requirements,
                    other => {
                        return Err(format!(
                            "entry {pattern:?}: unknown key {other:?} (use first, no_change, app, requirements)"
                        ));
                    }
                };
                *slot = Some(range);
            }
            partials.insert(pattern.clone(), partial);
        }
        let fallback = partials.remove("*").map(|p| p.over(&Profile::SEED)).unwrap_or(Profile::SEED);
        let mut patterns: Vec<(String, Profile)> =
            partials.into_iter().map(|(k, p)| (k.clone(), p.over(&fallback))).collect();
        // Exact names first, then by literal characters (more = more specific), then alphabetical.
        let rank = |p: &str| {
            let globs = p.chars().filter(|c| *c == '*' || *c == '?').count();
            (globs > 0, std::cmp::Reverse(p.chars().count() - globs))
        };
        patterns.sort_by(|(a, _), (b, _)| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
        Ok(ExpectedTimes { fallback, patterns })
    }

    /// The profile of a project and the key it came from (`*` or `default` for the fallback).
    pub fn for_project(&self, project: &str) -> (&Profile, &str) {
        self.patterns
            .iter()
            .find(|(pattern, _)| glob_match(pattern, project))
            .map(|(pattern, profile)| (profile, pattern.as_str()))
            .unwrap_or((&self.fallback, "*"))
    }

    pub fn shortest_high_minutes(&self) -> f64 {
        self.patterns.iter().map(|(_, p)| p.min_high_minutes()).fold(self.fallback.min_high_minutes(), f64::min)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_and_reject() {
        assert_eq!(Range::parse("8-12").unwrap(), Range::new(8.0, 12.0));
        assert_eq!(Range::parse(" 20 - 28 ").unwrap(), Range::new(20.0, 28.0));
        assert_eq!(Range::parse("12").unwrap(), Range::new(0.0, 12.0));
        assert_eq!(Range::parse("7.5-10").unwrap().to_string(), "7.5-10 min");
        assert!(Range::parse("12-8").is_err());
        assert!(Range::parse("fast").is_err());
        assert!(Range::parse("0").is_err());
        assert!(Range::parse("0.001").is_err());
        assert!(Range::parse("0-0.5").is_err());
        assert!(Range::parse("10-2161").is_err());
        assert_eq!(Range::parse("1").unwrap(), Range::new(0.0, 1.0));
        assert!(Range::parse("-5").is_err());
    }

    #[test]
    fn defaults_are_the_seed_figures() {
        let times = ExpectedTimes::default();
        let (p, key) = times.for_project("anything");
        assert_eq!(key, "*");
        assert_eq!(p.first.to_string(), "20-28 min");
        assert_eq!(p.no_change.to_string(), "5-8 min");
        assert_eq!(p.app.to_string(), "8-12 min");
        assert_eq!(p.requirements.to_string(), "15-20 min");
    }

    #[test]
    fn most_specific_pattern_wins_and_missing_keys_inherit() {
        let times = ExpectedTimes::parse_json(
            r#"{"tts-*": {"first": "30-40"}, "tts-service-*": {"app": "10-14"}, "tts-service-build": {"no_change": 6}, "*": {"requirements": "16-22"}}"#,
        )
        .unwrap();
        let (p, key) = times.for_project("tts-service-build");
        assert_eq!(key, "tts-service-build");
        assert_eq!(p.no_change, Range::new(0.0, 6.0));
        assert_eq!(p.requirements, Range::new(16.0, 22.0), "inherits from *");
        assert_eq!(p.first, Range::new(20.0, 28.0), "exact entry does not inherit from other globs");
        let (p, key) = times.for_project("tts-service-web");
        assert_eq!(key, "tts-service-*");
        assert_eq!(p.app, Range::new(10.0, 14.0));
        let (p, key) = times.for_project("tts-other");
        assert_eq!(key, "tts-*");
        assert_eq!(p.first, Range::new(30.0, 40.0));
        let (p, key) = times.for_project("web");
        assert_eq!(key, "*");
        assert_eq!(p.requirements, Range::new(16.0, 22.0));
        assert_eq!(p.app, Range::new(8.0, 12.0));
    }

    #[test]
    fn bad_entries_are_named() {
        let err = ExpectedTimes::parse_json(r#"{"tts-*": {"app": "12-8"}}"#).unwrap_err();
        assert!(err.contains("\"tts-*\".app"), "{err}");
        let err = ExpectedTimes::parse_json(r#"{"tts-*": {"aap": "8-12"}}"#).unwrap_err();
        assert!(err.contains("aap"), "{err}");
        let err = ExpectedTimes::parse_json(r#"{"tts-*": "8-12"}"#).unwrap_err();
        assert!(err.contains("tts-*"), "{err}");
        assert!(ExpectedTimes::parse_json("[1]").is_err());
        assert!(ExpectedTimes::parse_json("{").unwrap_err().contains("JSON"));
    }
}
