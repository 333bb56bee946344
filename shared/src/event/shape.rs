//! The shape of what the functions read from an event, checked before any of them acts on it, so a
//! malformed event is refused naming the field: the envelope's strings (`id`, `account`, `region`,
//! `time`), and the parts of `detail.additional-information` the monitor reads (AWS documents them
//! in the "CodeBuild Build State Change" sample). Fields no function reads are not checked.

use super::EventError;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// Longest accepted values: EventBridge ids are UUIDs, build ARNs a few hundred characters.
pub const MAX_ID_CHARS: usize = 256;
pub const MAX_BUILD_ID_CHARS: usize = 2048;
const MAX_TEXT_CHARS: usize = 256;

/// At most the first 64 characters of untrusted text, for error messages.
pub fn preview(text: &str) -> String {
    let mut out: String = text.chars().take(64).collect();
    if out.len() < text.len() {
        out.push_str(&format!("... ({} characters)", text.chars().count()));
    }
    out
}

fn invalid(field: &'static str, reason: String) -> EventError {
    EventError::InvalidEnvelopeField { field, reason }
}

/// An envelope string: None when absent or null, an error when not a string or too long.
pub fn text(obj: &Map<String, Value>, field: &'static str) -> Result<Option<String>, EventError> {
    let max = if field == "id" { MAX_ID_CHARS } else { MAX_TEXT_CHARS };
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= max => Ok(Some(s.clone())),
        Some(Value::String(s)) => Err(invalid(field, format!("{} characters; at most {max}", s.chars().count()))),
        Some(other) => Err(invalid(field, format!("expected a string, got {}", super::json_kind(other)))),
    }
}

/// `account`: 12 digits.
pub fn account(obj: &Map<String, Value>) -> Result<Option<String>, EventError> {
    let account = text(obj, "account")?;
    match &account {
        Some(a) if a.len() != 12 || !a.chars().all(|c| c.is_ascii_digit()) => {
            Err(invalid("account", format!("{:?} is not a 12-digit AWS account id", preview(a))))
        }
        _ => Ok(account),
    }
}

/// `region`: a region code such as `ap-south-1` or `us-gov-west-1`.
pub fn region(obj: &Map<String, Value>) -> Result<Option<String>, EventError> {
    let region = text(obj, "region")?;
    if let Some(r) = &region {
        let parts: Vec<&str> = r.split('-').collect();
        let valid = parts.len() >= 3
            && parts[..parts.len() - 1].iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
            && parts[parts.len() - 1].parse::<u8>().is_ok();
        if !valid {
            return Err(invalid("region", format!("{:?} is not an AWS region code", preview(r))));
        }
    }
    Ok(region)
}

/// `time`: RFC 3339, as EventBridge sends it.
pub fn time(obj: &Map<String, Value>) -> Result<Option<DateTime<Utc>>, EventError> {
    text(obj, "time")?
        .map(|t| {
            DateTime::parse_from_rfc3339(&t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| invalid("time", format!("{:?} is not an RFC 3339 timestamp: {e}", preview(&t))))
        })
        .transpose()
}

/// A detail string: None when absent or null.
pub fn detail_text(detail: &Map<String, Value>, field: &'static str, max: usize) -> Result<Option<String>, EventError> {
    match detail.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() <= max => Ok(Some(s.clone())),
        Some(Value::String(s)) => Err(EventError::InvalidField {
            field: field.to_owned(),
            reason: format!("{} characters; at most {max}", s.chars().count()),
        }),
        Some(other) => Err(EventError::InvalidField {
            field: field.to_owned(),
            reason: format!("expected a string, got {}", super::json_kind(other)),
        }),
    }
}

/// The JSON types a field may have.
#[derive(Clone, Copy)]
enum Kind {
    Text,
    Count,
    Object,
    Flag,
}

fn check(value: Option<&Value>, field: impl FnOnce() -> String, kind: Kind) -> Result<(), EventError> {
    let ok = match (value, kind) {
        (None | Some(Value::Null), _) => true,
        (Some(Value::String(_)), Kind::Text) => true,
        (Some(Value::Number(n)), Kind::Count) => n.as_u64().is_some() || n.as_f64().is_some_and(|f| f >= 0.0),
        (Some(Value::Object(_)), Kind::Object) => true,
        (Some(Value::Bool(_)), Kind::Flag) => true,
        _ => false,
    };
    if ok {
        return Ok(());
    }
    let expected = match kind {
        Kind::Text => "a string",
        Kind::Count => "a number of at least 0",
        Kind::Object => "an object",
        Kind::Flag => "true or false",
    };
    let got = match value {
        Some(Value::Number(n)) => format!("the number {n}"),
        Some(Value::String(s)) => format!("the string {:?}", preview(s)),
        Some(v) => super::json_kind(v).to_owned(),
        None => "nothing".to_owned(),
    };
    Err(EventError::InvalidField { field: field(), reason: format!("expected {expected}, got {got}") })
}

/// The fields of `detail.additional-information` a function reads, by type.
pub fn additional_information(detail: &Map<String, Value>) -> Result<(), EventError> {
    let info = match detail.get("additional-information") {
        None | Some(Value::Null) => return Ok(()),
        Some(Value::Object(info)) => info,
        Some(other) => {
            return Err(EventError::InvalidField {
                field: "additional-information".to_owned(),
                reason: format!("expected an object, got {}", super::json_kind(other)),
            });
        }
    };
    let path = |name: &str| format!("additional-information.{name}");
    for (name, kind) in [
        ("build-start-time", Kind::Text),
        ("source-version", Kind::Text),
        ("build-number", Kind::Count),
        ("build-complete", Kind::Flag),
        ("cache", Kind::Object),
        ("environment", Kind::Object),
    ] {
        check(info.get(name), || path(name), kind)?;
    }
    if let Some(cache) = info.get("cache").and_then(Value::as_object) {
        check(cache.get("type"), || path("cache.type"), Kind::Text)?;
        check(cache.get("location"), || path("cache.location"), Kind::Text)?;
    }
    if let Some(environment) = info.get("environment").and_then(Value::as_object) {
        check(environment.get("compute-type"), || path("environment.compute-type"), Kind::Text)?;
    }
    match info.get("phases") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Array(phases)) => {
            for (i, phase) in phases.iter().enumerate() {
                let at = |name: &str| format!("additional-information.phases[{i}].{name}");
                let Some(phase) = phase.as_object() else {
                    return Err(EventError::InvalidField {
                        field: format!("additional-information.phases[{i}]"),
                        reason: format!("expected an object, got {}", super::json_kind(phase)),
                    });
                };
                for (name, kind) in [
                    ("phase-type", Kind::Text),
                    ("phase-status", Kind::Text),
                    ("start-time", Kind::Text),
                    ("end-time", Kind::Text),
                    ("duration-in-seconds", Kind::Count),
                ] {
                    check(phase.get(name), || at(name), kind)?;
                }
            }
            Ok(())
        }
        Some(other) => Err(EventError::InvalidField {
            field: path("phases"),
            reason: format!("expected an array, got {}", super::json_kind(other)),
        }),
    }
}
