//! The request for a digest (issue 37): the event the template's digest schedule sends to
//! build-time-monitor, `{"source": "cache-sentinel", "detail-type": "Digest Request", "account":
//! ..., "region": ..., "detail": {"days": 7}}`. A schedule's `Input` replaces EventBridge's own
//! scheduled event, so the request carries its own source: it is never mistaken for the monitor's
//! five-minute sweep, and the guard and the pruner refuse it as an event they do not handle.
//!
//! The window ends at the start of the day (UTC) the request is handled on and spans `days` whole
//! days: a Monday-morning schedule reports Monday to Sunday, and a retry on the same day reports
//! (and is deduplicated as) the same window.

use super::{EventError, json_kind, shape};
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

pub const DIGEST_SOURCE: &str = "cache-sentinel";
pub const DIGEST_REQUEST: &str = "Digest Request";
/// The window when the request names none: a week.
pub const DEFAULT_DAYS: u32 = 7;
/// At most a month: builds are read back twice the window (for the baselines), and CodeBuild keeps
/// build history for a year.
pub const MAX_DAYS: u32 = 31;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestRequest {
    pub event_id: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub days: u32,
}

impl DigestRequest {
    /// None when the event is not a digest request; an error naming the field when it is one with a
    /// bad field.
    pub fn parse(event: &Value) -> Option<Result<DigestRequest, EventError>> {
        let obj = event.as_object()?;
        if obj.get("source").and_then(Value::as_str) != Some(DIGEST_SOURCE)
            || obj.get("detail-type").and_then(Value::as_str) != Some(DIGEST_REQUEST)
        {
            return None;
        }
        Some(Self::fields(obj))
    }

    fn fields(obj: &serde_json::Map<String, Value>) -> Result<DigestRequest, EventError> {
        let invalid = |reason: String| EventError::InvalidEnvelopeField { field: "detail.days", reason };
        let days = match obj.get("detail").and_then(|d| d.get("days")) {
            None | Some(Value::Null) => DEFAULT_DAYS,
            Some(Value::Number(n)) => match n.as_u64() {
                Some(d) if (1..=u64::from(MAX_DAYS)).contains(&d) => d as u32,
                _ => return Err(invalid(format!("{n} is not a whole number of days from 1 to {MAX_DAYS}"))),
            },
            Some(other) => return Err(invalid(format!("expected a number of days, got {}", json_kind(other)))),
        };
        Ok(DigestRequest {
            event_id: shape::text(obj, "id")?,
            account: shape::account(obj)?,
            region: shape::region(obj)?,
            days,
        })
    }

    /// The window reported when handled at `now`: `days` whole days (UTC) up to today's start.
    pub fn window(&self, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        let to = now.date_naive().and_hms_opt(0, 0, 0).map_or(now, |midnight| midnight.and_utc());
        (to - Duration::days(i64::from(self.days)), to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn request(detail: Value) -> Value {
        json!({"source": "cache-sentinel", "detail-type": "Digest Request", "account": "123456789012",
            "region": "ap-south-1", "detail": detail})
    }

    #[test]
    fn a_request_reads_its_days_and_its_window_ends_at_midnight() {
        let r = DigestRequest::parse(&request(json!({"days": 7}))).unwrap().unwrap();
        assert_eq!((r.days, r.account.as_deref(), r.region.as_deref()), (7, Some("123456789012"), Some("ap-south-1")));
        let monday_8am = Utc.with_ymd_and_hms(2026, 11, 30, 8, 0, 0).unwrap();
        let (from, to) = r.window(monday_8am);
        assert_eq!(to, Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap());
        assert_eq!(from, Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap());
        // A retry later the same day: the same window.
        assert_eq!(r.window(monday_8am + Duration::hours(3)), (from, to));
        assert_eq!(DigestRequest::parse(&request(json!({}))).unwrap().unwrap().days, DEFAULT_DAYS);
    }

    #[test]
    fn other_events_are_not_requests_and_bad_days_are_named() {
        let sweep = json!({"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}});
        assert!(DigestRequest::parse(&sweep).is_none());
        assert!(DigestRequest::parse(&json!([1])).is_none());
        for (days, says) in
            [(json!(0), "from 1 to 31"), (json!(32), "from 1 to 31"), (json!(1.5), "1.5"), (json!("7"), "string")]
        {
            let e = DigestRequest::parse(&request(json!({"days": days}))).unwrap().unwrap_err().to_string();
            assert!(e.contains("days") && e.contains(says), "{e}");
        }
        let mut bad = request(json!({}));
        bad["account"] = json!("12");
        let e = DigestRequest::parse(&bad).unwrap().unwrap_err().to_string();
        assert!(e.contains("account"), "{e}");
    }
}
