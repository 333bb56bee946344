//! CodeBuild's event date format, "Sep 1, 2017 4:12:29 PM" (UTC), parsed without the typed event.
//!
//! aws_lambda_events parses it when the whole event has the documented shape; thin or unusual
//! events fall back to this parser, which accepts single-digit days and hours, any amount of space,
//! and AM/PM in any case, and rejects impossible dates and hours.

use chrono::{DateTime, NaiveDate, Utc};

/// Parses "Sep 1, 2017 4:12:29 PM" (also "Sep 01, 2017 04:12:29 pm"). Times are UTC.
pub fn parse_codebuild_time(raw: &str) -> Result<DateTime<Utc>, String> {
    let bad =
        |why: &str| format!("cannot parse CodeBuild time {raw:?}: {why} (expected like \"Sep 1, 2017 4:12:29 PM\")");
    let parts: Vec<&str> = raw.split_whitespace().collect();
    let [month, day, year, time, meridiem] = parts[..] else {
        return Err(bad("expected 5 parts"));
    };
    let month = match month.to_ascii_lowercase().as_str() {
        "jan" => 1,
        "feb" => 2,
        "mar" => 3,
        "apr" => 4,
        "may" => 5,
        "jun" => 6,
        "jul" => 7,
        "aug" => 8,
        "sep" | "sept" => 9,
        "oct" => 10,
        "nov" => 11,
        "dec" => 12,
        _ => return Err(bad("unknown month")),
    };
    let day: u32 = day.strip_suffix(',').unwrap_or(day).parse().map_err(|_| bad("bad day"))?;
    let year: i32 = year.parse().map_err(|_| bad("bad year"))?;
    let hms: Vec<&str> = time.split(':').collect();
    let [h, m, s] = hms[..] else {
        return Err(bad("time is not H:MM:SS"));
    };
    let (h, m, s): (u32, u32, u32) = (
        h.parse().map_err(|_| bad("bad hour"))?,
        m.parse().map_err(|_| bad("bad minute"))?,
        s.parse().map_err(|_| bad("bad second"))?,
    );
    if !(1..=12).contains(&h) {
        return Err(bad("hour must be 1-12 with AM/PM"));
    }
    let hour = match meridiem.to_ascii_uppercase().as_str() {
        "AM" => h % 12,
        "PM" => h % 12 + 12,
        _ => return Err(bad("expected AM or PM")),
    };
    NaiveDate::from_ymd_opt(year, month, day)
        .and_then(|d| d.and_hms_opt(hour, m, s))
        .map(|t| t.and_utc())
        .ok_or_else(|| bad("no such date or time"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn aws_documented_format() {
        assert_eq!(parse_codebuild_time("Sep 1, 2017 4:12:29 PM").unwrap(), at("2017-09-01T16:12:29Z"));
        assert_eq!(parse_codebuild_time("Nov 20, 2026 9:15:01 AM").unwrap(), at("2026-11-20T09:15:01Z"));
        assert_eq!(parse_codebuild_time("Dec 31, 2026 11:59:59 PM").unwrap(), at("2026-12-31T23:59:59Z"));
    }

    #[test]
    fn twelve_oclock_edges() {
        assert_eq!(parse_codebuild_time("Jan 5, 2026 12:00:00 AM").unwrap(), at("2026-01-05T00:00:00Z"));
        assert_eq!(parse_codebuild_time("Jan 5, 2026 12:30:15 AM").unwrap(), at("2026-01-05T00:30:15Z"));
        assert_eq!(parse_codebuild_time("Jan 5, 2026 12:00:00 PM").unwrap(), at("2026-01-05T12:00:00Z"));
        assert_eq!(parse_codebuild_time("Jan 5, 2026 12:59:59 PM").unwrap(), at("2026-01-05T12:59:59Z"));
        assert_eq!(parse_codebuild_time("Jan 5, 2026 1:00:00 PM").unwrap(), at("2026-01-05T13:00:00Z"));
        assert_eq!(parse_codebuild_time("Jan 5, 2026 11:59:59 AM").unwrap(), at("2026-01-05T11:59:59Z"));
    }

    #[test]
    fn padding_and_case_variants() {
        assert_eq!(parse_codebuild_time("Sep 01, 2017 04:12:29 pm").unwrap(), at("2017-09-01T16:12:29Z"));
        assert_eq!(parse_codebuild_time("  Feb  9, 2024  7:05:03  AM ").unwrap(), at("2024-02-09T07:05:03Z"));
        assert_eq!(parse_codebuild_time("Feb 29, 2024 1:00:00 AM").unwrap(), at("2024-02-29T01:00:00Z"));
    }

    #[test]
    fn rejects_what_is_not_a_time() {
        for bad in [
            "",
            "2017-09-01T16:12:29Z",
            "Sep 1 2017",
            "Foo 1, 2017 4:12:29 PM",
            "Sep 31, 2017 4:12:29 PM",
            "Feb 29, 2023 1:00:00 AM",
            "Sep 1, 2017 13:12:29 PM",
            "Sep 1, 2017 0:12:29 AM",
            "Sep 1, 2017 4:60:29 PM",
            "Sep 1, 2017 4:12 PM",
            "Sep 1, 2017 4:12:29 XM",
            "Sep x, 2017 4:12:29 PM",
        ] {
            let err = parse_codebuild_time(bad).unwrap_err();
            assert!(err.contains("cannot parse CodeBuild time"), "{bad}: {err}");
        }
    }

    #[test]
    fn agrees_with_aws_lambda_events_where_both_parse() {
        // The typed parser's format, applied through serde on a documented phase.
        for raw in
            ["Sep 1, 2017 4:12:29 PM", "Jan 5, 2026 12:30:15 AM", "Nov 20, 2026 9:15:01 AM", "Dec 31, 2026 12:00:00 PM"]
        {
            let phase: aws_lambda_events::event::codebuild::CodeBuildPhase = serde_json::from_value(
                serde_json::json!({"phase-context": [], "start-time": raw, "phase-type": "BUILD"}),
            )
            .unwrap();
            assert_eq!(parse_codebuild_time(raw).unwrap(), phase.start_time, "{raw}");
        }
    }
}
