//! Incoming events: the EventBridge "CodeBuild Build State Change" event, typed with
//! aws_lambda_events, and scheduled events for sweeps.
//!
//! Events are checked envelope first (source, detail-type), then detail, so that a wrong event gets
//! an error naming what is wrong instead of a generic deserialisation failure.

use aws_lambda_events::event::codebuild::CodeBuildEvent;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::fmt;

pub const CODEBUILD_SOURCE: &str = "aws.codebuild";
pub const BUILD_STATE_CHANGE: &str = "CodeBuild Build State Change";
pub const SCHEDULED_SOURCE: &str = "aws.events";
pub const SCHEDULED_EVENT: &str = "Scheduled Event";

/// Why an event was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("event is not a JSON object (got {0})")]
    NotAnObject(&'static str),
    #[error(
        "unexpected event source {event_source:?} with detail-type {detail_type:?}: expected source \"aws.codebuild\" with detail-type \"CodeBuild Build State Change\", or a scheduled event (source \"aws.events\", detail-type \"Scheduled Event\")"
    )]
    UnexpectedSource { event_source: String, detail_type: String },
    #[error(
        "unexpected detail-type {0:?} from aws.codebuild: only \"CodeBuild Build State Change\" is handled (phase changes and notifications are not)"
    )]
    UnexpectedDetailType(String),
    #[error("CodeBuild event has no `detail` object")]
    MissingDetail,
    #[error("CodeBuild event detail has no {0}")]
    MissingField(&'static str),
    #[error("CodeBuild event detail field {field} is invalid: {reason}")]
    InvalidField { field: &'static str, reason: String },
}

/// A CodeBuild build status as EventBridge and BatchGetBuilds report it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(into = "String")]
pub enum BuildStatus {
    InProgress,
    Succeeded,
    Failed,
    Stopped,
    TimedOut,
    Fault,
    Other(String),
}

impl BuildStatus {
    pub fn parse(raw: &str) -> Self {
        match raw {
            "IN_PROGRESS" => BuildStatus::InProgress,
            "SUCCEEDED" => BuildStatus::Succeeded,
            "FAILED" => BuildStatus::Failed,
            "STOPPED" => BuildStatus::Stopped,
            "TIMED_OUT" => BuildStatus::TimedOut,
            "FAULT" => BuildStatus::Fault,
            other => BuildStatus::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            BuildStatus::InProgress => "IN_PROGRESS",
            BuildStatus::Succeeded => "SUCCEEDED",
            BuildStatus::Failed => "FAILED",
            BuildStatus::Stopped => "STOPPED",
            BuildStatus::TimedOut => "TIMED_OUT",
            BuildStatus::Fault => "FAULT",
            BuildStatus::Other(s) => s,
        }
    }

    /// A build that will not change any more.
    pub fn is_final(&self) -> bool {
        !matches!(self, BuildStatus::InProgress | BuildStatus::Other(_))
    }
}

impl From<BuildStatus> for String {
    fn from(s: BuildStatus) -> String {
        s.as_str().to_owned()
    }
}

impl fmt::Display for BuildStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A "CodeBuild Build State Change" event.
#[derive(Debug, Clone)]
pub struct BuildStateChange {
    /// EventBridge's event id: the same for every redelivery of one event.
    pub event_id: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub time: Option<DateTime<Utc>>,
    pub project: String,
    pub build_id: Option<String>,
    pub status: BuildStatus,
    /// The whole event, typed by aws_lambda_events, when its detail has the documented shape.
    /// Thin events (tests, replays, hand-written samples) still work for what needs only the
    /// project, build id and status; consumers that need more fall back to BatchGetBuilds.
    pub typed: Option<Box<CodeBuildEvent>>,
    /// Why `typed` is None, for the logs.
    pub typed_error: Option<String>,
    /// `detail.additional-information` as sent (cache and other fields the typed model leaves out).
    pub additional_information: Value,
}

/// A scheduled (cron/rate) event, or a manual sweep request.
#[derive(Debug, Clone)]
pub struct Scheduled {
    pub event_id: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub time: Option<DateTime<Utc>>,
    /// The `detail` object, for per-schedule options (for example {"project": "x"}).
    pub detail: Value,
}

/// What a function was invoked with.
#[derive(Debug, Clone)]
pub enum Trigger {
    BuildStateChange(BuildStateChange),
    Scheduled(Scheduled),
}

impl Trigger {
    pub fn parse(event: &Value) -> Result<Trigger, EventError> {
        let obj = event.as_object().ok_or_else(|| EventError::NotAnObject(json_kind(event)))?;
        let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_owned);
        let source = text("source").unwrap_or_default();
        let detail_type = text("detail-type").unwrap_or_default();
        let time = text("time").and_then(|t| DateTime::parse_from_rfc3339(&t).ok()).map(|t| t.with_timezone(&Utc));
        match (source.as_str(), detail_type.as_str()) {
            (CODEBUILD_SOURCE, BUILD_STATE_CHANGE) => {}
            (CODEBUILD_SOURCE, _) => return Err(EventError::UnexpectedDetailType(detail_type)),
            (SCHEDULED_SOURCE, SCHEDULED_EVENT) => {
                return Ok(Trigger::Scheduled(Scheduled {
                    event_id: text("id"),
                    account: text("account"),
                    region: text("region"),
                    time,
                    detail: obj.get("detail").cloned().unwrap_or(Value::Null),
                }));
            }
            _ => {
                return Err(EventError::UnexpectedSource { event_source: source, detail_type });
            }
        }

        let detail = obj.get("detail").and_then(Value::as_object).ok_or(EventError::MissingDetail)?;
        let detail_text = |field: &'static str| -> Result<Option<String>, EventError> {
            match detail.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(EventError::InvalidField {
                    field,
                    reason: format!("expected a string, got {}", json_kind(other)),
                }),
            }
        };
        let project = detail_text("project-name")?.ok_or(EventError::MissingField("project-name"))?;
        validate_project_name(&project).map_err(|reason| EventError::InvalidField { field: "project-name", reason })?;
        let status = detail_text("build-status")?.ok_or(EventError::MissingField("build-status"))?;
        let build_id = detail_text("build-id")?;

        let (typed, typed_error) = match serde_json::from_value::<CodeBuildEvent>(event.clone()) {
            Ok(parsed) => (Some(Box::new(parsed)), None),
            Err(e) => (None, Some(e.to_string())),
        };
        Ok(Trigger::BuildStateChange(BuildStateChange {
            event_id: text("id"),
            account: text("account"),
            region: text("region"),
            time,
            project,
            build_id,
            status: BuildStatus::parse(&status),
            typed,
            typed_error,
            additional_information: detail.get("additional-information").cloned().unwrap_or(Value::Null),
        }))
    }

    pub fn event_id(&self) -> Option<&str> {
        match self {
            Trigger::BuildStateChange(e) => e.event_id.as_deref(),
            Trigger::Scheduled(e) => e.event_id.as_deref(),
        }
    }

    /// The account the event came from, if the envelope says.
    pub fn account(&self) -> Option<&str> {
        match self {
            Trigger::BuildStateChange(e) => e.account.as_deref(),
            Trigger::Scheduled(e) => e.account.as_deref(),
        }
    }
}

/// CodeBuild project names as the API documents them (`[A-Za-z0-9][A-Za-z0-9\-_]{1,254}`): 2-255
/// characters, a letter or digit first, then letters, digits, '-' or '_'.
pub fn validate_project_name(name: &str) -> Result<(), String> {
    let valid = (2..=255).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid { Ok(()) } else { Err(format!("{name:?} is not a valid CodeBuild project name")) }
}

/// The account id inside an ARN (`arn:partition:service:region:account:...`).
pub fn account_from_arn(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| a.len() == 12 && a.chars().all(|c| c.is_ascii_digit()))
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn aws_documented_sample() -> Value {
        serde_json::from_str(include_str!("../../events/aws-documented-build-succeeded.json")).unwrap()
    }

    #[test]
    fn parses_the_aws_documented_sample_typed() {
        let Trigger::BuildStateChange(e) = Trigger::parse(&aws_documented_sample()).unwrap() else {
            panic!("not a build event")
        };
        assert_eq!(e.project, "my-sample-project");
        assert_eq!(e.status, BuildStatus::Succeeded);
        assert!(e.typed.is_some(), "typed parse failed: {:?}", e.typed_error);
        let typed = e.typed.unwrap();
        assert_eq!(typed.detail.additional_information.phases.len(), 11);
        assert_eq!(e.account.as_deref(), Some("123456789012"));
    }

    #[test]
    fn every_sample_build_event_parses_typed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            match Trigger::parse(&event).unwrap_or_else(|e| panic!("{}: {e}", path.display())) {
                Trigger::BuildStateChange(e) => {
                    assert!(e.typed.is_some(), "{}: {:?}", path.display(), e.typed_error);
                    checked += 1;
                }
                Trigger::Scheduled(_) => {}
            }
        }
        assert!(checked >= 4, "only {checked} build events checked");
    }

    #[test]
    fn thin_event_still_parses_untyped() {
        let event = json!({"source":"aws.codebuild","detail-type":"CodeBuild Build State Change",
            "detail":{"project-name":"p1","build-status":"IN_PROGRESS","build-id":"arn:aws:codebuild:r:1:build/p1:x"}});
        let Trigger::BuildStateChange(e) = Trigger::parse(&event).unwrap() else { panic!() };
        assert_eq!(e.project, "p1");
        assert!(e.typed.is_none());
        assert!(e.typed_error.is_some());
    }

    #[test]
    fn rejects_with_the_cause_named() {
        let err = Trigger::parse(&json!({"source":"aws.s3","detail-type":"Object Created","detail":{}})).unwrap_err();
        assert!(err.to_string().contains("aws.s3"), "{err}");
        let err =
            Trigger::parse(&json!({"source":"aws.codebuild","detail-type":"CodeBuild Build Phase Change","detail":{}}))
                .unwrap_err();
        assert!(err.to_string().contains("Phase Change"), "{err}");
        let err = Trigger::parse(&json!({"source":"aws.codebuild","detail-type":"CodeBuild Build State Change","detail":{"build-status":"SUCCEEDED"}})).unwrap_err();
        assert_eq!(err, EventError::MissingField("project-name"));
        let err = Trigger::parse(&json!({"source":"aws.codebuild","detail-type":"CodeBuild Build State Change"}))
            .unwrap_err();
        assert_eq!(err, EventError::MissingDetail);
        let err = Trigger::parse(&json!([1, 2])).unwrap_err();
        assert_eq!(err, EventError::NotAnObject("an array"));
        let err = Trigger::parse(&json!({"source":"aws.codebuild","detail-type":"CodeBuild Build State Change","detail":{"project-name":42,"build-status":"SUCCEEDED"}})).unwrap_err();
        assert!(matches!(err, EventError::InvalidField { field: "project-name", .. }));
        let err = Trigger::parse(&json!({"source":"aws.codebuild","detail-type":"CodeBuild Build State Change","detail":{"project-name":"../etc","build-status":"SUCCEEDED"}})).unwrap_err();
        assert!(matches!(err, EventError::InvalidField { field: "project-name", .. }));
    }

    #[test]
    fn scheduled_event() {
        let t = Trigger::parse(&json!({"version":"0","id":"e1","detail-type":"Scheduled Event","source":"aws.events",
            "account":"123456789012","time":"2026-01-01T00:00:00Z","region":"ap-south-1","resources":[],"detail":{}}))
        .unwrap();
        assert!(matches!(t, Trigger::Scheduled(_)));
        assert_eq!(t.account(), Some("123456789012"));
    }

    #[test]
    fn statuses() {
        assert!(BuildStatus::parse("TIMED_OUT").is_final());
        assert!(!BuildStatus::parse("IN_PROGRESS").is_final());
        assert_eq!(BuildStatus::parse("WEIRD"), BuildStatus::Other("WEIRD".into()));
        assert_eq!(account_from_arn("arn:aws:lambda:us-east-1:123456789012:function:f"), Some("123456789012"));
    }
}
