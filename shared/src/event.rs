//! Incoming events: the EventBridge "CodeBuild Build State Change" event, typed with
//! aws_lambda_events, and scheduled events for sweeps.
//!
//! Events are checked envelope first (source, detail-type), then detail, so that a wrong event gets
//! an error naming what is wrong instead of a generic deserialisation failure. Every field a
//! function reads is type-checked here (`shape`), so all three functions refuse the same events.

pub mod digest_request;
mod shape;

use aws_lambda_events::event::codebuild::CodeBuildEvent;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::fmt;

pub const CODEBUILD_SOURCE: &str = "aws.codebuild";
pub const BUILD_STATE_CHANGE: &str = "CodeBuild Build State Change";
pub const SCHEDULED_SOURCE: &str = "aws.events";
pub const SCHEDULED_EVENT: &str = "Scheduled Event";

/// Why an event was rejected. Values from the event are quoted at most 64 characters long.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("event is not a JSON object (got {0})")]
    NotAnObject(&'static str),
    #[error("event field {field} is invalid: {reason}")]
    InvalidEnvelopeField { field: &'static str, reason: String },
    #[error(
        "unexpected event source {event_source:?} with detail-type {detail_type:?}: expected source \"aws.codebuild\" with detail-type \"CodeBuild Build State Change\", or a scheduled event (source \"aws.events\", detail-type \"Scheduled Event\")"
    )]
    UnexpectedSource { event_source: String, detail_type: String },
    #[error(
        "unexpected detail-type {0:?} from aws.codebuild: only \"CodeBuild Build State Change\" is handled (phase changes, fleet state changes and notifications are not)"
    )]
    UnexpectedDetailType(String),
    #[error(
        "a notification rule's payload (notificationRuleArn {0:?}), not an EventBridge event: point an EventBridge rule for \"CodeBuild Build State Change\" at the function instead"
    )]
    NotificationRule(String),
    #[error(
        "an SNS message (from {0:?}), not an EventBridge event: point an EventBridge rule for \"CodeBuild Build State Change\" at the function instead of subscribing it to a topic"
    )]
    SnsMessage(String),
    #[error("CodeBuild event has no `detail` object")]
    MissingDetail,
    #[error("CodeBuild event detail is not an object (got {0})")]
    DetailNotAnObject(&'static str),
    #[error("CodeBuild event detail has no {0}")]
    MissingField(&'static str),
    #[error("CodeBuild event detail field {field} is invalid: {reason}")]
    InvalidField { field: String, reason: String },
}

impl EventError {
    /// A well-formed event of a kind the functions do not handle (another detail-type or source, a
    /// notification rule's payload, an SNS message): a refusal to report, not a failure, since
    /// retrying never helps and a broader rule must not page anyone.
    pub fn is_unhandled(&self) -> bool {
        match self {
            EventError::UnexpectedDetailType(detail_type) => !detail_type.is_empty(),
            EventError::UnexpectedSource { event_source, detail_type } => {
                !event_source.is_empty() && !detail_type.is_empty()
            }
            EventError::NotificationRule(_) | EventError::SnsMessage(_) => true,
            _ => false,
        }
    }
}

/// The statuses of "CodeBuild Build State Change" events.
pub const BUILD_STATUSES: [&str; 6] = ["IN_PROGRESS", "SUCCEEDED", "FAILED", "STOPPED", "TIMED_OUT", "FAULT"];

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
        // Other deliveries of CodeBuild's news: a notification rule's payload (camelCase
        // `detailType`, `notificationRuleArn`), or any SNS message delivered to a subscribed Lambda.
        if let Some(rule) = obj.get("notificationRuleArn") {
            return Err(EventError::NotificationRule(shape::preview(rule.as_str().unwrap_or("?"))));
        }
        if let Some(record) = obj.get("Records").and_then(Value::as_array).and_then(|r| r.first())
            && record.get("EventSource").and_then(Value::as_str) == Some("aws:sns")
        {
            let topic = record.pointer("/Sns/TopicArn").and_then(Value::as_str).unwrap_or("?");
            return Err(EventError::SnsMessage(shape::preview(topic)));
        }
        let source = shape::text(obj, "source")?.unwrap_or_default();
        let detail_type = shape::text(obj, "detail-type")?.unwrap_or_default();
        let event_id = shape::text(obj, "id")?;
        let (account, region, time) = (shape::account(obj)?, shape::region(obj)?, shape::time(obj)?);
        match (source.as_str(), detail_type.as_str()) {
            (CODEBUILD_SOURCE, BUILD_STATE_CHANGE) => {}
            (CODEBUILD_SOURCE, _) => return Err(EventError::UnexpectedDetailType(shape::preview(&detail_type))),
            (SCHEDULED_SOURCE, SCHEDULED_EVENT) => {
                let detail = obj.get("detail").cloned().unwrap_or(Value::Null);
                return Ok(Trigger::Scheduled(Scheduled { event_id, account, region, time, detail }));
            }
            _ => {
                return Err(EventError::UnexpectedSource {
                    event_source: shape::preview(&source),
                    detail_type: shape::preview(&detail_type),
                });
            }
        }

        let detail = match obj.get("detail") {
            None => return Err(EventError::MissingDetail),
            Some(Value::Object(detail)) => detail,
            Some(other) => return Err(EventError::DetailNotAnObject(json_kind(other))),
        };
        let project =
            shape::detail_text(detail, "project-name", usize::MAX)?.ok_or(EventError::MissingField("project-name"))?;
        validate_project_name(&project)
            .map_err(|reason| EventError::InvalidField { field: "project-name".into(), reason })?;
        let status = shape::detail_text(detail, "build-status", 64)?.ok_or(EventError::MissingField("build-status"))?;
        if !BUILD_STATUSES.contains(&status.as_str()) {
            return Err(EventError::InvalidField {
                field: "build-status".into(),
                reason: format!(
                    "{:?} is not a CodeBuild build status (one of {})",
                    shape::preview(&status),
                    BUILD_STATUSES.join(", ")
                ),
            });
        }
        let build_id = shape::detail_text(detail, "build-id", shape::MAX_BUILD_ID_CHARS)?;
        shape::additional_information(detail)?;

        let (typed, typed_error) = match serde_json::from_value::<CodeBuildEvent>(event.clone()) {
            Ok(parsed) => (Some(Box::new(parsed)), None),
            Err(e) => (None, Some(e.to_string())),
        };
        Ok(Trigger::BuildStateChange(BuildStateChange {
            event_id,
            account,
            region,
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

    /// The region the event came from, if the envelope says.
    pub fn region(&self) -> Option<&str> {
        match self {
            Trigger::BuildStateChange(e) => e.region.as_deref(),
            Trigger::Scheduled(e) => e.region.as_deref(),
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
    if valid { Ok(()) } else { Err(format!("{:?} is not a valid CodeBuild project name", shape::preview(name))) }
}

/// The account id inside an ARN (`arn:partition:service:region:account:...`).
pub fn account_from_arn(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| a.len() == 12 && a.chars().all(|c| c.is_ascii_digit()))
}

pub(crate) fn json_kind(v: &Value) -> &'static str {
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
            if digest_request::DigestRequest::parse(&event).is_some() {
                continue;
            }
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
        assert!(matches!(err, EventError::InvalidField { ref field, .. } if field == "project-name"));
        let err = Trigger::parse(&json!({"source":"aws.codebuild","detail-type":"CodeBuild Build State Change","detail":{"project-name":"../etc","build-status":"SUCCEEDED"}})).unwrap_err();
        assert!(matches!(err, EventError::InvalidField { ref field, .. } if field == "project-name"));
    }

    #[test]
    fn every_malformed_sample_is_refused_naming_its_cause() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/invalid");
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            let event = serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
            let stem = path.file_stem().unwrap().to_string_lossy().to_string();
            let cause = stem.split("--").nth(1).unwrap().replace('_', " ");
            let err = Trigger::parse(&event).expect_err(&stem).to_string();
            assert!(err.contains(&cause) && err.len() < 1000, "{stem}: {err:.300}");
            checked += 1;
        }
        assert!(checked >= 30, "{checked} samples");
    }

    /// Any JSON at all: objects shaped like events (known keys, any values) and plain values.
    fn any_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            ".{0,12}".prop_map(Value::String),
            "(aws.codebuild|aws.events|CodeBuild Build State Change|Scheduled Event|SUCCEEDED|IN_PROGRESS|p1)"
                .prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            let keys = "(source|detail-type|detail|id|account|region|time|project-name|build-status|build-id|additional-information|phases|cache|build-number|x)";
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(keys, inner, 0..6).prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn parsing_any_json_gives_a_trigger_or_a_typed_error(event in any_json()) {
            match Trigger::parse(&event) {
                Ok(_) => {}
                Err(e) => proptest::prop_assert!(!e.to_string().is_empty()),
            }
        }
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
