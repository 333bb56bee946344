//! What the pruner freed, kept for the digest: after every run that deleted something, one record
//! under `.cache-sentinel/pruned/<account>/<region>/`, its figures in its key so that one listing
//! (newest first, as the keys sort) tells a window's deletions:
//! * a run that deleted in one location (a build's run, most runs) names it in the key,
//!   `<inverted ms>-<bytes>-<objects>/<location>`, and the record is empty: nothing to read;
//! * a run that deleted in several (a sweep) writes `<inverted ms>-<bytes>-<objects>.json`, whose
//!   body maps each location to its bytes and objects: one PutObject per run, not per location,
//!   and one GetObject for the digest.
//!
//! A retried run records only what it deleted itself, so records add up. They expire with the
//! template's 30-day lifecycle rule. Pure: keys, bodies, and what a listing means.

use super::deployment::Deployment;
use super::report::PruneReport;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Records live under `<RESERVED_PREFIX>pruned/<account>/<region>/`.
pub const NAMESPACE: &str = "pruned";
/// Times are stored as this minus epoch milliseconds, so that keys sort newest first.
const INVERT: i64 = 9_999_999_999_999;

/// One location's deletions in one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Freed {
    pub at_ms: i64,
    pub bytes: u64,
    pub objects: u64,
    /// The location as CodeBuild names it: `bucket` or `bucket/prefix`.
    pub location: String,
}

/// A record read back from its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listed {
    /// One location's, whole in its key.
    One(Freed),
    /// A run's over several locations: its totals; the body has each location's.
    Run { at_ms: i64, bytes: u64, objects: u64 },
}

impl Listed {
    pub fn at_ms(&self) -> i64 {
        match self {
            Listed::One(f) => f.at_ms,
            Listed::Run { at_ms, .. } => *at_ms,
        }
    }
}

/// The deployment's records' prefix.
pub fn prefix(deployment: &Deployment) -> String {
    format!("{}{NAMESPACE}/{}/{}/", crate::RESERVED_PREFIX, deployment.account, deployment.region)
}

fn figures(at_ms: i64, bytes: u64, objects: u64) -> String {
    format!("{:013}-{bytes}-{objects}", INVERT - at_ms.clamp(0, INVERT))
}

/// The key of a run's record in one location (empty body).
pub fn one_key(deployment: &Deployment, freed: &Freed) -> String {
    format!("{}{}/{}", prefix(deployment), figures(freed.at_ms, freed.bytes, freed.objects), freed.location)
}

/// The key of a run's record over several locations (its body has each).
pub fn run_key(deployment: &Deployment, at_ms: i64, bytes: u64, objects: u64) -> String {
    format!("{}{}.json", prefix(deployment), figures(at_ms, bytes, objects))
}

/// The body of a run's record over several locations.
pub fn run_body(freed: &[Freed]) -> String {
    let body: BTreeMap<&str, [u64; 2]> = freed.iter().map(|f| (f.location.as_str(), [f.bytes, f.objects])).collect();
    serde_json::to_string(&body).unwrap_or_else(|_| "{}".into())
}

/// The record a run leaves (key, body); None when it deleted nothing (and always in dry run).
pub fn record_of_run(deployment: &Deployment, report: &PruneReport, at: DateTime<Utc>) -> Option<(String, String)> {
    if report.dry_run {
        return None;
    }
    let at_ms = at.timestamp_millis();
    let deleted: Vec<Freed> = report
        .locations
        .iter()
        .filter(|(_, line)| line.outcome.deleted > 0)
        .map(|(location, line)| Freed {
            at_ms,
            bytes: line.outcome.bytes_freed,
            objects: line.outcome.deleted,
            location: location.clone(),
        })
        .collect();
    match deleted.as_slice() {
        [] => None,
        [one] => Some((one_key(deployment, one), "{}".into())),
        several => {
            let (bytes, objects) = several.iter().fold((0, 0), |(b, o), f| (b + f.bytes, o + f.objects));
            Some((run_key(deployment, at_ms, bytes, objects), run_body(several)))
        }
    }
}

/// A record read back from its key (None: not one of the deployment's records).
pub fn parse(deployment: &Deployment, key: &str) -> Option<Listed> {
    let rest = key.strip_prefix(&prefix(deployment))?;
    let (head, location) = match rest.split_once('/') {
        Some((head, location)) => (head, Some(location)),
        None => (rest.strip_suffix(".json")?, None),
    };
    let mut parts = head.splitn(3, '-');
    let at_ms = INVERT - parts.next()?.parse::<i64>().ok()?;
    let bytes = parts.next()?.parse().ok()?;
    let objects = parts.next()?.parse().ok()?;
    match location {
        Some("") => None,
        Some(location) => Some(Listed::One(Freed { at_ms, bytes, objects, location: location.to_owned() })),
        None => Some(Listed::Run { at_ms, bytes, objects }),
    }
}

/// A several-location record's body: each location's deletions (an unreadable body: an error).
pub fn parse_body(at_ms: i64, body: &[u8]) -> Result<Vec<Freed>, String> {
    let map: BTreeMap<String, [u64; 2]> =
        serde_json::from_slice(body).map_err(|e| format!("not a record of what was freed: {e}"))?;
    Ok(map.into_iter().map(|(location, [bytes, objects])| Freed { at_ms, bytes, objects, location }).collect())
}

/// Bytes freed per location (trailing '/' trimmed) by the records within `[from, to)`.
pub fn per_location(records: &[Freed], from: DateTime<Utc>, to: DateTime<Utc>) -> BTreeMap<String, u64> {
    let (from, to) = (from.timestamp_millis(), to.timestamp_millis());
    let mut out = BTreeMap::new();
    for r in records.iter().filter(|r| r.at_ms >= from && r.at_ms < to) {
        *out.entry(r.location.trim_end_matches('/').to_owned()).or_default() += r.bytes;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pruner::report::{DeleteCounts, LocationReport};
    use chrono::TimeZone;

    fn deployment() -> Deployment {
        Deployment::new("codebuild-cache-123456789012-ap-south-1", Some("123456789012"), "ap-south-1")
    }

    fn line(deleted: u64, bytes: u64) -> LocationReport {
        LocationReport {
            prefix: String::new(),
            state: crate::pruner::scope::LocationState::Live,
            projects: vec![],
            namespaces: vec![],
            plan: Default::default(),
            outcome: DeleteCounts { deleted, bytes_freed: bytes, failed: 0 },
            finished: true,
            refused: None,
            over_budget: false,
            budget_not_applied: None,
            buildkit: vec![],
            kept_per_project: None,
        }
    }

    #[test]
    fn a_run_in_one_location_is_read_from_its_key_and_keys_sort_newest_first() {
        let d = deployment();
        let mut report = PruneReport::new("build-state-change", None, false, "bucket".into());
        report.locations.insert("bucket/tts".into(), line(3, 300));
        report.locations.insert("bucket/web".into(), line(0, 0));
        let at = Utc.with_ymd_and_hms(2026, 11, 25, 3, 0, 0).unwrap();
        let (key, body) = record_of_run(&d, &report, at).expect("a record");
        assert!(key.starts_with(".cache-sentinel/pruned/123456789012/ap-south-1/"), "{key}");
        assert_eq!(body, "{}");
        let one = Freed { at_ms: at.timestamp_millis(), bytes: 300, objects: 3, location: "bucket/tts".into() };
        assert_eq!(parse(&d, &key), Some(Listed::One(one)));
        let (later, _) = record_of_run(&d, &report, at + chrono::Duration::milliseconds(1)).unwrap();
        assert!(later < key, "{later} sorts before {key}");
        let other = Deployment::new("b", Some("210987654321"), "ap-south-1");
        assert_eq!(parse(&other, &key), None, "another deployment's record");
        assert_eq!(parse(&d, &format!("{}junk", prefix(&d))), None);
        assert_eq!(parse(&d, &format!("{}0000000000001-x-1/b", prefix(&d))), None);
        report.dry_run = true;
        assert_eq!(record_of_run(&d, &report, at), None, "a dry run deletes nothing");
        report.dry_run = false;
        report.locations.clear();
        assert_eq!(record_of_run(&d, &report, at), None, "nothing deleted, nothing recorded");
    }

    #[test]
    fn a_run_in_several_locations_is_one_record_whose_body_has_each_and_the_window_sums_them() {
        let d = deployment();
        let mut report = PruneReport::new("scheduled-sweep", None, false, "bucket".into());
        report.locations.insert("bucket/tts".into(), line(3, 300));
        report.locations.insert("bucket/web".into(), line(1, 50));
        let at = Utc.with_ymd_and_hms(2026, 11, 25, 3, 0, 0).unwrap();
        let (key, body) = record_of_run(&d, &report, at).expect("a record");
        let at_ms = at.timestamp_millis();
        assert_eq!(parse(&d, &key), Some(Listed::Run { at_ms, bytes: 350, objects: 4 }));
        let mut all = parse_body(at_ms, body.as_bytes()).unwrap();
        assert_eq!(all.len(), 2);
        assert!(parse_body(at_ms, b"[1]").unwrap_err().contains("not a record"));
        all.push(Freed { at_ms: at_ms + 1, bytes: 7, objects: 1, location: "bucket/tts/".into() });
        all.push(Freed { at_ms: at_ms - 7 * 86_400_000, bytes: 999, objects: 9, location: "bucket/tts".into() });
        let week = per_location(&all, at - chrono::Duration::days(1), at + chrono::Duration::days(1));
        assert_eq!((week.get("bucket/tts"), week.get("bucket/web")), (Some(&307), Some(&50)), "{week:?}");
    }
}
