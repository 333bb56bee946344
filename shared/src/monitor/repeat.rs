//! No storm: a project whose builds stay slow for one cause gets one slow-build notice per window
//! (`MONITOR_REPEAT_HOURS`, a UTC day by default), not one per build; the builds held back are
//! counted, and the next notice says how many there were. A new cause, a build half again as slow
//! as the one last reported, or a build on another cache setting (the project was healed, or moved
//! off the S3 cache) is news and is sent at once. Pure: the window, the cause, the record of what
//! was reported, the decision; `service` reads and writes the record (`notify_once`'s markers).

use super::evidence::CacheEvidence;
use super::judge::{Kind, Verdict};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A build this much slower than the one reported is reported too: half again as long is news,
/// whatever was said before.
pub const WORSE_FACTOR: f64 = 1.5;

/// What was reported for a project, kind and cause in one window, and how many were held back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reported {
    pub build_id: Option<String>,
    pub judged_seconds: u64,
    /// The cache setting the reported build ran with.
    pub cache: Option<String>,
    /// Slow builds of the same cause held back since that notice.
    pub held: u32,
}

/// Whether a slow build's notice goes out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    Send { why: &'static str },
    Hold { reason: String },
}

/// The window a build falls in, by its start: `2026-11-20` for 24 hours, else the window's number
/// since the epoch; None when every slow build is sent (0 hours).
pub fn window(start: DateTime<Utc>, hours: u32) -> Option<String> {
    match hours {
        0 => None,
        24 => Some(start.format("%Y-%m-%d").to_string()),
        h => Some(format!("w{h}h-{}", start.timestamp().div_euclid(i64::from(h) * 3600))),
    }
}

/// The window before `window(start, hours)`.
pub fn previous_window(start: DateTime<Utc>, hours: u32) -> Option<String> {
    window(start - chrono::Duration::hours(i64::from(hours)), hours)
}

/// The cause a slow build is counted under: the first cause its log names, else what its cache
/// location and log show (the evidence's problem code), else its cache setting's type.
pub fn cause_key(kind: Kind, evidence: Option<&CacheEvidence>, verdict: &Verdict, cache_type: Option<&str>) -> String {
    let found = evidence.and_then(|e| e.found.as_ref());
    let cause = if evidence.is_some_and(|e| e.elsewhere.is_some()) {
        "bucket-elsewhere".to_owned()
    } else if let Some(c) = found.and_then(|f| f.causes.first()) {
        c.kind.as_str().to_owned()
    } else if let Some(e) = evidence.filter(|e| e.problems.code().contains('y')) {
        format!("cache-{}", e.problems.code())
    } else if verdict.cache_standing.is_some() {
        format!("off-s3-{}", cache_type.unwrap_or("unknown").to_lowercase())
    } else {
        "slow".to_owned()
    };
    format!("{}--{cause}", kind.as_str())
}

/// The decision for the slow build `build_id` of `judged_seconds` on `cache`, given what its window
/// reported. A record naming this very build is its own earlier attempt, which did not get to send
/// (its process died after writing the record; the caller holds the build's lapsed claim): sent.
pub fn decide(reported: Option<&Reported>, build_id: Option<&str>, judged_seconds: u64, cache: Option<&str>) -> Gate {
    let Some(r) = reported else { return Gate::Send { why: "the first of its cause in this window" } };
    if build_id.is_some() && r.build_id.as_deref() == build_id {
        return Gate::Send { why: "this build's own earlier attempt did not finish" };
    }
    if cache != r.cache.as_deref() {
        return Gate::Send { why: "the cache setting changed since the last notice" };
    }
    if judged_seconds as f64 >= r.judged_seconds as f64 * WORSE_FACTOR {
        return Gate::Send { why: "half again as slow as the build last reported" };
    }
    Gate::Hold {
        reason: format!(
            "held back: a notice for this project and cause already went out in this window (build {}, {} s); this build is counted in the next one",
            r.build_id.as_deref().unwrap_or("(no id)"),
            r.judged_seconds
        ),
    }
}

/// The line a notice carries when builds were held back since the last one.
pub fn since_line(held: u32) -> Option<String> {
    (held > 0).then(|| {
        format!(
            "And {held} more slow build{} of this project for the same cause since the last notice (held back: one notice per project and cause per MONITOR_REPEAT_HOURS).",
            if held == 1 { "" } else { "s" }
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn windows_are_utc_days_by_default_and_numbered_otherwise() {
        let t = Utc.with_ymd_and_hms(2026, 11, 20, 23, 59, 0).unwrap();
        assert_eq!(window(t, 24).as_deref(), Some("2026-11-20"));
        assert_eq!(previous_window(t, 24).as_deref(), Some("2026-11-19"));
        assert_eq!(window(t, 0), None);
        assert_ne!(window(t, 6), window(t + chrono::Duration::hours(6), 6));
        assert_eq!(window(t, 6), previous_window(t + chrono::Duration::hours(6), 6));
    }

    #[test]
    fn the_same_cause_is_held_until_it_is_worse_or_the_cache_changed() {
        let other = Some("tts:2");
        let r = Reported { build_id: Some("tts:1".into()), judged_seconds: 1200, cache: Some("S3".into()), held: 3 };
        assert!(matches!(decide(None, other, 1200, Some("S3")), Gate::Send { .. }));
        assert!(matches!(decide(Some(&r), other, 1500, Some("S3")), Gate::Hold { .. }));
        assert_eq!(
            decide(Some(&r), other, 1800, Some("S3")),
            Gate::Send { why: "half again as slow as the build last reported" }
        );
        assert!(matches!(decide(Some(&r), other, 1200, Some("LOCAL")), Gate::Send { .. }), "healed or moved");
        assert!(matches!(decide(Some(&r), Some("tts:1"), 1200, Some("S3")), Gate::Send { .. }), "its own retry");
        let Gate::Hold { reason } = decide(Some(&r), other, 1300, Some("S3")) else { panic!() };
        assert!(reason.contains("tts:1"), "{reason}");
        assert_eq!(since_line(0), None);
        assert!(since_line(19).unwrap().starts_with("And 19 more slow builds"));
    }
}
