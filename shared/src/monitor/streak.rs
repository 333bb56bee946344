//! "Several consecutive builds": one small record per judged build of a project on the S3 cache,
//! `.cache-sentinel/evidence/<project>/<inverted start>-<build>-<problems>`, so that one
//! ListObjectsV2 of the project's prefix lists its builds newest first with what each showed, and
//! no record needs to be read. Pure: keys, and what a listing means.
//!
//! A cause is *reached* when the build being judged shows it and so did the builds before it, as
//! many as the configured streak in all (builds where it could not be told are skipped, not
//! counted). A cause the build no longer shows, but the last build that could tell
//! did, has *recovered*: its once-only marker is released, so a relapse is notified again.

use super::evidence::{Cause, Problems, Signal};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Records of one project live under `<RESERVED_PREFIX>evidence/<project>/`.
pub const NAMESPACE: &str = "evidence";
/// Start times are stored as this minus epoch milliseconds, so that keys sort newest first.
const INVERT: i64 = 9_999_999_999_999;

pub fn project_prefix(project: &str) -> String {
    format!("{}{NAMESPACE}/{project}/", crate::RESERVED_PREFIX)
}

/// One build's record key.
pub fn record_key(project: &str, build_id: &str, start: DateTime<Utc>, problems: &Problems) -> String {
    let inverted = INVERT - start.timestamp_millis().clamp(0, INVERT);
    let build: String = build_id
        .rsplit(':')
        .next()
        .unwrap_or(build_id)
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
        .collect();
    format!("{}{inverted:013}-{build}-{}", project_prefix(project), problems.code())
}

/// A record read back from its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub start_ms: i64,
    pub build: String,
    pub problems: Problems,
}

pub fn parse_key(project: &str, key: &str) -> Option<Record> {
    let rest = key.strip_prefix(&project_prefix(project))?;
    let (inverted, rest) = rest.split_once('-')?;
    // The code is the last four characters (it may hold '-' itself), after a '-'.
    let split = rest.len().checked_sub(5)?;
    let (build, code) = (rest.get(..split)?, rest.get(split + 1..)?);
    if rest.as_bytes()[split] != b'-' {
        return None;
    }
    Some(Record {
        start_ms: INVERT - inverted.parse::<i64>().ok()?,
        build: build.to_owned(),
        problems: Problems::from_code(code)?,
    })
}

/// The causes this build completes a streak of `needed` builds for. `earlier` are the project's
/// records, newest first; those not older than this build (itself, later builds) are skipped.
pub fn reached(earlier: &[Record], start_ms: i64, current: &Problems, needed: u32) -> Vec<Cause> {
    current
        .showing()
        .into_iter()
        .filter(|cause| {
            let mut count = 1;
            for record in earlier.iter().filter(|r| r.start_ms < start_ms) {
                match record.problems.get(*cause) {
                    Signal::Shows => count += 1,
                    Signal::Clear => break,
                    Signal::Unknown => continue,
                }
                if count >= needed {
                    break;
                }
            }
            count >= needed
        })
        .collect()
}

/// The causes this build no longer shows but the last earlier build that could tell did.
pub fn recovered(earlier: &[Record], start_ms: i64, current: &Problems) -> Vec<Cause> {
    Cause::ALL
        .into_iter()
        .filter(|cause| current.get(*cause) == Signal::Clear)
        .filter(|cause| {
            earlier
                .iter()
                .filter(|r| r.start_ms < start_ms)
                .map(|r| r.problems.get(*cause))
                .find(|s| *s != Signal::Unknown)
                == Some(Signal::Shows)
        })
        .collect()
}

/// Where one cause stands over a project's newest builds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CauseStanding {
    pub cause: Cause,
    /// What the newest build that could tell showed (`unknown` when none could).
    pub last: Signal,
    /// How many of the newest builds show it in a row (builds that could not tell skipped).
    pub streak: u32,
}

/// A project's cache evidence as its records tell it (the newest first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CacheStanding {
    /// Records read (at most the ones one listing returns).
    pub records: usize,
    /// The newest judged build and when it started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest_build: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub newest_start: Option<DateTime<Utc>>,
    pub causes: Vec<CauseStanding>,
    /// Causes shown by at least `needed` builds in a row: the cache is not effective.
    pub not_effective: Vec<Cause>,
    /// MONITOR_INEFFECTIVE_CACHE_BUILDS.
    pub needed: u32,
}

/// Where the project stands, from its records (newest first), as the notice decides: a cause is
/// not effective when the newest builds that could tell show it `needed` times in a row.
pub fn standing(records: &[Record], needed: u32) -> CacheStanding {
    let causes: Vec<CauseStanding> = Cause::ALL
        .into_iter()
        .map(|cause| {
            let mut known = records.iter().map(|r| r.problems.get(cause)).filter(|s| *s != Signal::Unknown);
            let last = known.next().unwrap_or(Signal::Unknown);
            let streak =
                if last == Signal::Shows { 1 + known.take_while(|s| *s == Signal::Shows).count() as u32 } else { 0 };
            CauseStanding { cause, last, streak }
        })
        .collect();
    let not_effective = causes.iter().filter(|c| c.streak >= needed.max(1)).map(|c| c.cause).collect();
    let newest = records.first();
    CacheStanding {
        records: records.len(),
        newest_build: newest.map(|r| r.build.clone()),
        newest_start: newest.and_then(|r| DateTime::from_timestamp_millis(r.start_ms)),
        causes,
        not_effective,
        needed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(ms).unwrap()
    }

    fn records(codes: &[&str]) -> Vec<Record> {
        // Newest first: the first is one minute before 10_000_000, the next a minute earlier...
        codes
            .iter()
            .enumerate()
            .map(|(i, c)| Record {
                start_ms: 10_000_000 - (i as i64 + 1) * 60_000,
                build: format!("b{i}"),
                problems: Problems::from_code(c).unwrap(),
            })
            .collect()
    }

    #[test]
    fn keys_sort_newest_first_and_read_back() {
        let p = Problems::from_code("y-nn").unwrap();
        let older = record_key("tts", "tts:0a1b-2c", at(1_795_166_101_000), &p);
        let newer = record_key("tts", "tts:ffff", at(1_795_166_102_000), &p);
        assert!(newer < older, "{newer} sorts before {older}");
        assert!(older.starts_with(".cache-sentinel/evidence/tts/"), "{older}");
        let r = parse_key("tts", &older).unwrap();
        assert_eq!((r.start_ms, r.build.as_str(), r.problems), (1_795_166_101_000, "0a1b-2c", p));
        assert_eq!(parse_key("tts", ".cache-sentinel/evidence/tts/junk"), None);
        assert_eq!(parse_key("other", &older), None);
    }

    #[test]
    fn a_streak_needs_consecutive_builds_skipping_unknown_ones() {
        let now = Problems::from_code("yyny").unwrap();
        let earlier = records(&["y-nn", "yynn", "nyny"]);
        // no-restore: this, then y, y: 3. no-upload: this, unknown, y, y: 3. no-layers: this, then n.
        assert_eq!(reached(&earlier, 10_000_000, &now, 3), vec![Cause::NoRestore, Cause::NoUpload]);
        assert!(reached(&earlier, 10_000_000, &now, 4).is_empty(), "three at most so far");
        assert_eq!(
            reached(&earlier, 10_000_000, &now, 1),
            vec![Cause::NoRestore, Cause::NoUpload, Cause::NoLayersReused]
        );
        assert!(reached(&[], 10_000_000, &now, 2).is_empty(), "a first build alone is no streak");
    }

    #[test]
    fn later_builds_and_the_build_itself_do_not_count() {
        let now = Problems::from_code("y---").unwrap();
        let mut earlier = records(&["y---"]);
        earlier.insert(0, Record { start_ms: 10_000_000, build: "me".into(), problems: now });
        earlier.insert(0, Record { start_ms: 20_000_000, build: "later".into(), problems: now });
        assert_eq!(reached(&earlier, 10_000_000, &now, 2), vec![Cause::NoRestore]);
        assert!(reached(&earlier, 10_000_000, &now, 3).is_empty());
    }

    #[test]
    fn standing_counts_the_newest_builds_in_a_row() {
        // Newest first: no restore three times (one build could not tell), layers reused lately.
        let records = records(&["y-nn", "yynn", "-y-y", "yyny", "nnnn"]);
        let s = standing(&records, 3);
        let of = |cause| s.causes.iter().find(|c| c.cause == cause).unwrap().clone();
        assert_eq!((of(Cause::NoRestore).last, of(Cause::NoRestore).streak), (Signal::Shows, 3));
        assert_eq!(
            (of(Cause::NoUpload).last, of(Cause::NoUpload).streak),
            (Signal::Shows, 3),
            "the first could not tell"
        );
        assert_eq!((of(Cause::CacheNotDefined).last, of(Cause::CacheNotDefined).streak), (Signal::Clear, 0));
        assert_eq!(of(Cause::NoLayersReused).last, Signal::Clear);
        assert_eq!(s.not_effective, vec![Cause::NoRestore, Cause::NoUpload]);
        assert_eq!((s.records, s.newest_build.as_deref()), (5, Some("b0")));
        assert!(standing(&records, 4).not_effective.is_empty());
        let none = standing(&[], 3);
        assert!(none.causes.iter().all(|c| c.last == Signal::Unknown && c.streak == 0) && none.newest_build.is_none());
    }

    #[test]
    fn recovery_is_against_the_last_build_that_could_tell() {
        let now = Problems::from_code("nn-n").unwrap();
        let earlier = records(&["-y-n", "y-yy"]);
        assert_eq!(recovered(&earlier, 10_000_000, &now), vec![Cause::NoRestore, Cause::NoUpload]);
    }
}
