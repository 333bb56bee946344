//! Reads a build (`crate::build::BuildFacts`) from the EventBridge event, and merges it with what
//! BatchGetBuilds returned (`aws::codebuild::build_facts`).

use super::dates::parse_codebuild_time;
use crate::build::{BuildFacts, LogsLocation, PhaseTime, short_build_id};
use crate::event::BuildStateChange;
use crate::project::CacheSetting;
use chrono::{DateTime, Utc};
use serde_json::Value;

/// A field of the event's `additional-information` that is there but unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CodeBuild event field additional-information.{field} is invalid: {reason}")]
pub struct FactsError {
    pub field: String,
    pub reason: String,
}

impl BuildFacts {
    /// Reads a build state change event: typed fields where aws_lambda_events parsed the event, the
    /// robust fallback parser where it did not. A present but unparsable time is an error.
    pub fn from_event(change: &BuildStateChange) -> Result<Self, FactsError> {
        let mut facts = BuildFacts::new(&change.project, change.status.clone());
        facts.build_id = change.build_id.as_deref().map(short_build_id);
        facts.region = change.region.clone();
        facts.account = change.account.clone();
        let info = &change.additional_information;
        facts.build_number = info.get("build-number").and_then(Value::as_f64).filter(|n| *n >= 0.0).map(|n| n as u64);
        facts.compute_type = info.pointer("/environment/compute-type").and_then(Value::as_str).map(str::to_owned);
        facts.environment_type = info.pointer("/environment/type").and_then(Value::as_str).map(str::to_owned);
        facts.source_version = info.get("source-version").and_then(Value::as_str).map(str::to_owned);
        facts.cache = info.get("cache").and_then(cache_from_json);
        facts.logs = info.get("logs").and_then(logs_from_json);

        let minutes = |field: &str| info.get(field).and_then(Value::as_f64).filter(|n| *n > 0.0).map(|n| n as u64);
        facts.timeout_minutes = minutes("timeout-in-minutes");
        facts.queued_timeout_minutes = minutes("queued-timeout-in-minutes");
        let mut spans = vec![];
        if let Some(typed) = &change.typed {
            let typed = &typed.detail.additional_information;
            facts.start = Some(typed.build_start_time);
            for phase in &typed.phases {
                let seconds = phase.duration.as_ref().map(|d| d.0.num_seconds().max(0) as u64);
                facts.phases.push(PhaseTime {
                    phase: phase.phase_type.clone(),
                    seconds,
                    status: phase.phase_status.clone(),
                });
                spans.push(PhaseSpan {
                    completed: phase.phase_type == "COMPLETED",
                    start: Some(phase.start_time),
                    end: phase.end_time,
                    seconds,
                });
            }
        } else {
            let time = |v: Option<&Value>, field: String| -> Result<Option<DateTime<Utc>>, FactsError> {
                match v {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::String(s)) => {
                        parse_codebuild_time(s).map(Some).map_err(|reason| FactsError { field, reason })
                    }
                    Some(other) => Err(FactsError { field, reason: format!("expected a date string, got {other}") }),
                }
            };
            facts.start = time(info.get("build-start-time"), "build-start-time".into())?;
            match info.get("phases") {
                None | Some(Value::Null) => {}
                Some(Value::Array(phases)) => {
                    for (i, phase) in phases.iter().enumerate() {
                        let name = phase.get("phase-type").and_then(Value::as_str).ok_or_else(|| FactsError {
                            field: format!("phases[{i}].phase-type"),
                            reason: "missing or not a string".into(),
                        })?;
                        let seconds = match phase.get("duration-in-seconds") {
                            None | Some(Value::Null) => None,
                            Some(v) => Some(v.as_f64().filter(|n| *n >= 0.0).ok_or_else(|| FactsError {
                                field: format!("phases[{i}].duration-in-seconds"),
                                reason: format!("expected a number of seconds, got {v}"),
                            })? as u64),
                        };
                        let start = time(phase.get("start-time"), format!("phases[{i}].start-time"))?;
                        let end = time(phase.get("end-time"), format!("phases[{i}].end-time"))?;
                        spans.push(PhaseSpan { completed: name == "COMPLETED", start, end, seconds });
                        facts.phases.push(PhaseTime {
                            phase: name.to_owned(),
                            seconds,
                            status: phase.get("phase-status").and_then(Value::as_str).map(str::to_owned),
                        });
                    }
                }
                Some(other) => {
                    return Err(FactsError {
                        field: "phases".into(),
                        reason: format!("expected an array, got {other}"),
                    });
                }
            }
        }
        facts.end = if facts.status.is_final() { agreed_end(&spans) } else { None };
        Ok(facts)
    }

    /// Fills what the event lacked from BatchGetBuilds: the event's own times and phases win (they
    /// are what EventBridge reported for this build); exported variables and the resolved source
    /// version only BatchGetBuilds knows.
    pub fn merge(mut self, api: &BuildFacts) -> Self {
        self.build_id = self.build_id.or_else(|| api.build_id.clone());
        self.build_number = self.build_number.or(api.build_number);
        self.start = self.start.or(api.start);
        if self.status.is_final() {
            self.end = self.end.or(api.end);
        }
        if self.phases.iter().all(|p| p.seconds.is_none()) && !api.phases.is_empty() {
            self.phases = api.phases.clone();
        }
        self.cache = self.cache.or_else(|| api.cache.clone());
        self.timeout_minutes = self.timeout_minutes.or(api.timeout_minutes);
        self.queued_timeout_minutes = self.queued_timeout_minutes.or(api.queued_timeout_minutes);
        self.compute_type = self.compute_type.or_else(|| api.compute_type.clone());
        self.environment_type = self.environment_type.or_else(|| api.environment_type.clone());
        self.batch = self.batch.or_else(|| api.batch.clone());
        if api.source_version.is_some() {
            self.source_version = api.source_version.clone();
        }
        for (k, v) in &api.exported {
            self.exported.entry(k.clone()).or_insert_with(|| v.clone());
        }
        // BatchGetBuilds also says whether CloudWatch and S3 logging were on.
        self.logs = match (self.logs, &api.logs) {
            (Some(event), Some(api)) => Some(LogsLocation {
                group: event.group.or_else(|| api.group.clone()),
                stream: event.stream.or_else(|| api.stream.clone()),
                cloudwatch_enabled: api.cloudwatch_enabled,
                s3_enabled: api.s3_enabled,
            }),
            (event, api) => event.or_else(|| api.clone()),
        };
        self
    }
}

/// One phase's times as the event gives them.
struct PhaseSpan {
    completed: bool,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    seconds: Option<u64>,
}

/// The build's end from fields that agree: the COMPLETED phase's start (CodeBuild opens it when
/// the build ends), else the latest phase end whose end-time agrees with its start and duration
/// (within a minute; a phase whose end-time disagrees ends at its start plus its duration). AWS's
/// own published sample event has a QUEUED phase of 0 seconds whose end-time is two years after its
/// start: taking end-times alone made that a build of 17,795 hours.
fn agreed_end(spans: &[PhaseSpan]) -> Option<DateTime<Utc>> {
    if let Some(completed) = spans.iter().find(|s| s.completed).and_then(|s| s.start) {
        return Some(completed);
    }
    spans
        .iter()
        .filter_map(|s| match (s.start, s.end, s.seconds) {
            (Some(start), Some(end), Some(seconds)) => {
                let by_duration = start + chrono::Duration::seconds(seconds as i64);
                Some(if (end - by_duration).num_seconds().abs() <= 60 { end } else { by_duration })
            }
            (Some(start), None, Some(seconds)) => Some(start + chrono::Duration::seconds(seconds as i64)),
            (_, end, _) => end,
        })
        .max()
}

/// `additional-information.logs`: `group-name`, `stream-name` (and `deep-link`, not needed).
fn logs_from_json(v: &Value) -> Option<LogsLocation> {
    let text = |k: &str| v.get(k).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
    let logs = LogsLocation { group: text("group-name"), stream: text("stream-name"), ..Default::default() };
    (logs.group.is_some() || logs.stream.is_some()).then_some(logs)
}

fn cache_from_json(v: &Value) -> Option<CacheSetting> {
    let cache_type = v.get("type").and_then(Value::as_str)?.to_owned();
    Some(CacheSetting {
        cache_type,
        location: v.get("location").and_then(Value::as_str).filter(|l| !l.is_empty()).map(str::to_owned),
        modes: v
            .get("modes")
            .and_then(Value::as_array)
            .map(|m| m.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default(),
        namespace: v.get("cacheNamespace").and_then(Value::as_str).filter(|n| !n.is_empty()).map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{BuildStatus, Trigger};

    fn change(raw: &str) -> BuildStateChange {
        let Trigger::BuildStateChange(c) = Trigger::parse(&serde_json::from_str(raw).unwrap()).unwrap() else {
            panic!()
        };
        c
    }

    #[test]
    fn sample_event_typed_and_fallback_agree() {
        let typed = change(include_str!("../../../events/build-succeeded.json"));
        assert!(typed.typed.is_some(), "{:?}", typed.typed_error);
        let mut untyped = typed.clone();
        untyped.typed = None;
        let a = BuildFacts::from_event(&typed).unwrap();
        let b = BuildFacts::from_event(&untyped).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.build_id.as_deref(), Some("tts-service-build:6c1e7d2a-93f4-4b8e-a0d5-2f7b9c3e1a40"));
        assert_eq!(a.duration_seconds(Utc::now()), Some(33 * 60 + 36));
        assert_eq!(a.phase_seconds("PRE_BUILD"), Some(412));
        assert_eq!(a.phase_seconds("BUILD"), Some(1396));
        assert_eq!(
            a.cache.as_ref().map(|c| c.to_string()).as_deref(),
            Some("S3 at codebuild-cache-123456789012-ap-south-1/tts-service-build")
        );
        assert_eq!(a.compute_type.as_deref(), Some("BUILD_GENERAL1_LARGE"));
        assert_eq!(a.build_number, Some(212));
        let logs = a.logs.as_ref().unwrap();
        assert_eq!(logs.group.as_deref(), Some("/aws/codebuild/tts-service-build"));
        assert_eq!(logs.stream.as_deref(), Some("6c1e7d2a-93f4-4b8e-a0d5-2f7b9c3e1a40"));
    }

    #[test]
    fn aws_documented_sample_reads() {
        let c = change(include_str!("../../../events/aws-documented-build-succeeded.json"));
        let f = BuildFacts::from_event(&c).unwrap();
        assert!(f.start.is_some() && f.end.is_some());
        assert!(f.duration_seconds(Utc::now()).is_some());
    }

    #[test]
    fn timed_out_sample_reads() {
        let c = change(include_str!("../../../events/build-timed-out.json"));
        assert!(c.typed.is_some(), "{:?}", c.typed_error);
        assert_eq!(c.status, BuildStatus::TimedOut);
        let f = BuildFacts::from_event(&c).unwrap();
        assert_eq!(f.duration_seconds(Utc::now()), Some(60 * 60 + 43));
        assert_eq!(f.phases.iter().find(|p| p.phase == "BUILD").and_then(|p| p.status.as_deref()), Some("TIMED_OUT"));
        let mut untyped = c.clone();
        untyped.typed = None;
        assert_eq!(BuildFacts::from_event(&untyped).unwrap(), f);
    }

    #[test]
    fn bad_times_in_thin_events_are_named() {
        let mut c = change(include_str!("../../../events/build-succeeded.json"));
        c.typed = None;
        c.additional_information["phases"][6]["end-time"] = serde_json::json!("2026-11-20 09:45");
        let err = BuildFacts::from_event(&c).unwrap_err();
        assert_eq!(err.field, "phases[6].end-time");
        c.additional_information["build-start-time"] = serde_json::json!(17);
        assert_eq!(BuildFacts::from_event(&c).unwrap_err().field, "build-start-time");
    }

    #[test]
    fn running_builds_count_to_now() {
        let c = change(include_str!("../../../events/build-in-progress.json"));
        let f = BuildFacts::from_event(&c).unwrap();
        assert_eq!(f.end, None);
        let now = parse_codebuild_time("Nov 20, 2026 9:30:01 AM").unwrap();
        assert_eq!(f.duration_seconds(now), Some(15 * 60));
    }

    #[test]
    fn merge_keeps_the_event_figures_and_adds_what_only_the_api_knows() {
        let event = BuildFacts::from_event(&change(include_str!("../../../events/build-succeeded.json"))).unwrap();
        let mut api = BuildFacts::new("tts-service-build", BuildStatus::Succeeded);
        api.start = Some(parse_codebuild_time("Nov 20, 2026 9:15:00 AM").unwrap());
        api.end = Some(parse_codebuild_time("Nov 20, 2026 9:20:00 AM").unwrap());
        api.phases = vec![PhaseTime { phase: "BUILD".into(), seconds: Some(60), status: None }];
        api.source_version = Some("0123abc".into());
        api.exported.insert("CACHE_SENTINEL_SCENARIO".into(), "app".into());
        let merged = event.clone().merge(&api);
        assert_eq!(merged.duration_seconds(Utc::now()), event.duration_seconds(Utc::now()), "the event's times win");
        assert_eq!(merged.phase_seconds("BUILD"), Some(1396));
        assert_eq!(merged.source_version.as_deref(), Some("0123abc"));
        assert_eq!(merged.exported.get("CACHE_SENTINEL_SCENARIO").map(String::as_str), Some("app"));

        // A thin event without times takes them from BatchGetBuilds.
        let mut thin = BuildFacts::new("tts-service-build", BuildStatus::Succeeded);
        thin.build_id = Some("tts-service-build:x".into());
        let merged = thin.merge(&api);
        assert_eq!(merged.duration_seconds(Utc::now()), Some(300));
        assert_eq!(merged.phase_seconds("BUILD"), Some(60));
    }
}
