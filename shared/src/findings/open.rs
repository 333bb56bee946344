//! Which findings are open, kept in the cache bucket so that a function needs no Security Hub read
//! (no GetFindings, no hub-wide permission): one empty object per open finding, its figures in its key,
//! `.cache-sentinel/findings/<account>/<region>/<subject>/<kind>/<first ms>-<imported ms>-<count>`
//! (`<subject>` is `project/<name>` or `bucket/<name>`), so that one listing of a project's (or of
//! every project's) prefix says what is open, since when, and how often it was seen.
//!
//! Pure: keys, and what to do with an observation. A cause still there is imported again at most
//! once a day (`REIMPORT`: Security Hub bills each import, and keeps a finding 90 days after its
//! last update), counted in its description as the days it was seen; a cause gone archives an open
//! finding and forgets it; a cause never seen, or gone and not open, costs nothing.

use super::asff::{Finding, Kind, Place, Subject};
use chrono::{DateTime, Duration, Utc};

pub const NAMESPACE: &str = "findings";
/// An open finding whose cause is seen again is imported again after this long.
pub const REIMPORT: Duration = Duration::hours(24);

/// An open finding, read back from its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenFinding {
    pub kind: Kind,
    pub subject: Subject,
    pub first_ms: i64,
    pub imported_ms: i64,
    pub count: u32,
    pub key: String,
}

/// What a function saw of one kind on one subject.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    /// The cause is there: the finding's words.
    Present { kind: Kind, subject: Subject, title: String, detail: String, remediation: String },
    /// The cause is gone (healed, effective again, builds back in range).
    Gone { kind: Kind, subject: Subject },
}

impl Observation {
    fn kind_and_subject(&self) -> (Kind, &Subject) {
        match self {
            Observation::Present { kind, subject, .. } | Observation::Gone { kind, subject } => (*kind, subject),
        }
    }

    pub fn subject(&self) -> &Subject {
        self.kind_and_subject().1
    }
}

/// What to do: import this finding, then record it at `record` (None: forget it) and drop the
/// `stale` records (more than one when two runs at once each recorded the same finding).
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub finding: Finding,
    pub record: Option<String>,
    pub stale: Vec<String>,
}

/// The records of one finding as one: two runs at once (two build events of a project) may each
/// have recorded it. First seen the earliest, imported the latest, seen on the most days.
#[derive(Debug, Clone, Copy)]
struct Known {
    first_ms: i64,
    imported_ms: i64,
    count: u32,
    records: usize,
}

fn known(records: &[&OpenFinding]) -> Option<Known> {
    let first = records.first()?;
    Some(records.iter().fold(
        Known { first_ms: first.first_ms, imported_ms: first.imported_ms, count: first.count, records: 0 },
        |k, o| Known {
            first_ms: k.first_ms.min(o.first_ms),
            imported_ms: k.imported_ms.max(o.imported_ms),
            count: k.count.max(o.count),
            records: k.records + 1,
        },
    ))
}

/// The prefix of a place's open findings, or of one subject's.
pub fn prefix(place: &Place, subject: Option<&Subject>) -> String {
    let root = format!("{}{NAMESPACE}/{}/{}/", crate::RESERVED_PREFIX, place.account, place.region);
    match subject {
        None => root,
        Some(s) => format!("{root}{}/", subject_path(s)),
    }
}

fn subject_path(subject: &Subject) -> String {
    match subject {
        Subject::Project(p) => format!("project/{p}"),
        Subject::Bucket(b) => format!("bucket/{b}"),
    }
}

pub fn key(place: &Place, kind: Kind, subject: &Subject, first_ms: i64, imported_ms: i64, count: u32) -> String {
    format!("{}{}/{first_ms}-{imported_ms}-{count}", prefix(place, Some(subject)), kind.as_str())
}

/// An open finding from its key (None: not one of this place's).
pub fn parse(place: &Place, key: &str) -> Option<OpenFinding> {
    let rest = key.strip_prefix(&prefix(place, None))?;
    let (kind_path, figures) = rest.rsplit_once('/')?;
    let (subject_path, kind) = kind_path.rsplit_once('/')?;
    let kind = Kind::ALL.into_iter().find(|k| k.as_str() == kind)?;
    let subject = match subject_path.split_once('/')? {
        ("project", name) if !name.is_empty() => Subject::Project(name.to_owned()),
        ("bucket", name) if !name.is_empty() => Subject::Bucket(name.to_owned()),
        _ => return None,
    };
    let mut parts = figures.splitn(3, '-');
    let first_ms = parts.next()?.parse().ok()?;
    let imported_ms = parts.next()?.parse().ok()?;
    let count = parts.next()?.parse().ok()?;
    Some(OpenFinding { kind, subject, first_ms, imported_ms, count, key: key.to_owned() })
}

/// What to do with each observation, given the open findings (a subject's, or every one's).
pub fn decide(place: &Place, observations: &[Observation], open: &[OpenFinding], now: DateTime<Utc>) -> Vec<Step> {
    let now_ms = now.timestamp_millis();
    let at = |ms: i64| DateTime::from_timestamp_millis(ms).unwrap_or(now);
    observations
        .iter()
        .filter_map(|observation| {
            let (kind, subject) = observation.kind_and_subject();
            let records: Vec<&OpenFinding> = open.iter().filter(|o| o.kind == kind && &o.subject == subject).collect();
            let stale: Vec<String> = records.iter().map(|o| o.key.clone()).collect();
            match (observation, known(&records)) {
                (Observation::Gone { .. }, None) => None,
                (Observation::Gone { .. }, Some(o)) => Some(Step {
                    finding: Finding {
                        kind,
                        subject: subject.clone(),
                        title: format!("Resolved: {}", resolved_title(kind, subject)),
                        description: format!(
                            "The cause is gone: {} no longer shows it (seen on {} since {}).",
                            kind.generator(),
                            days(o.count),
                            at(o.first_ms).format("%Y-%m-%d")
                        ),
                        remediation: "None: resolved.".into(),
                        remediation_url: None,
                        first_seen: at(o.first_ms),
                        last_seen: now,
                        count: o.count,
                        resolved: true,
                    },
                    record: None,
                    stale,
                }),
                // Imported within the day: nothing, unless two records of it are to be made one.
                (Observation::Present { .. }, Some(o))
                    if now_ms - o.imported_ms < REIMPORT.num_milliseconds() && o.records == 1 =>
                {
                    None
                }
                (Observation::Present { title, detail, remediation, .. }, known) => {
                    let first_ms = known.map_or(now_ms, |o| o.first_ms);
                    let count = known.map_or(1, |o| o.count + 1);
                    Some(Step {
                        finding: Finding {
                            kind,
                            subject: subject.clone(),
                            title: title.clone(),
                            description: format!(
                                "Seen on {} since {}. {detail}",
                                days(count),
                                at(first_ms).format("%Y-%m-%d")
                            ),
                            remediation: remediation.clone(),
                            remediation_url: Some(super::asff::CACHING_GUIDE.into()),
                            first_seen: at(first_ms),
                            last_seen: now,
                            count,
                            resolved: false,
                        },
                        record: Some(key(place, kind, subject, first_ms, now_ms, count)),
                        stale,
                    })
                }
            }
        })
        .collect()
}

fn days(n: u32) -> String {
    if n == 1 { "1 day".into() } else { format!("{n} days") }
}

fn resolved_title(kind: Kind, subject: &Subject) -> String {
    let name = match subject {
        Subject::Project(p) | Subject::Bucket(p) => p,
    };
    match kind {
        Kind::OffS3Cache => format!("{name} is on the S3 cache"),
        Kind::HealRefused => format!("{name}: nothing refuses its heal any more"),
        Kind::CacheNotEffective => format!("{name}'s cache works again"),
        Kind::BuildsOverRange => format!("{name}'s builds are back in range"),
        Kind::UnmanagedData => format!("{name} holds no unmanaged data any more"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn place() -> Place {
        Place::new("ap-south-1", "123456789012")
    }

    fn present(project: &str) -> Observation {
        Observation::Present {
            kind: Kind::OffS3Cache,
            subject: Subject::Project(project.into()),
            title: format!("{project} is not on the S3 cache"),
            detail: "LOCAL lives on one host.".into(),
            remediation: "Heal it.".into(),
        }
    }

    #[test]
    fn keys_read_back() {
        let p = place();
        let tts = Subject::Project("tts".into());
        let k = key(&p, Kind::HealRefused, &tts, 10, 20, 3);
        assert_eq!(k, ".cache-sentinel/findings/123456789012/ap-south-1/project/tts/heal-refused/10-20-3");
        let o = parse(&p, &k).unwrap();
        assert_eq!((o.kind, o.subject, o.first_ms, o.imported_ms, o.count), (Kind::HealRefused, tts, 10, 20, 3));
        assert!(k.starts_with(&prefix(&p, Some(&Subject::Project("tts".into())))));
        assert_eq!(parse(&p, &k.replace("heal-refused", "nonsense")), None);
        assert_eq!(parse(&Place::new("eu-west-1", "123456789012"), &k), None);
    }

    #[test]
    fn new_then_quiet_for_a_day_then_again_then_archived_then_nothing() {
        let p = place();
        let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let steps = decide(&p, &[present("tts")], &[], t0);
        assert_eq!(steps.len(), 1);
        let first = &steps[0];
        assert!(!first.finding.resolved && first.finding.count == 1 && first.stale.is_empty());
        assert!(
            first.finding.description.starts_with("Seen on 1 day since 2026-11-23."),
            "{}",
            first.finding.description
        );
        let open = vec![parse(&p, first.record.as_ref().unwrap()).unwrap()];
        assert!(decide(&p, &[present("tts")], &open, t0 + Duration::hours(3)).is_empty(), "an hour later: nothing");
        let again = decide(&p, &[present("tts")], &open, t0 + Duration::hours(25));
        assert_eq!((again[0].finding.count, again[0].finding.first_seen), (2, t0));
        assert_eq!(again[0].stale, vec![open[0].key.clone()]);
        let open = vec![parse(&p, again[0].record.as_ref().unwrap()).unwrap()];
        let gone = Observation::Gone { kind: Kind::OffS3Cache, subject: Subject::Project("tts".into()) };
        let archived = decide(&p, std::slice::from_ref(&gone), &open, t0 + Duration::hours(30));
        assert!(archived[0].finding.resolved && archived[0].record.is_none(), "{archived:?}");
        assert_eq!(archived[0].stale, vec![open[0].key.clone()]);
        assert!(decide(&p, &[gone], &[], t0).is_empty(), "gone and never open: nothing");
    }

    /// Two build events at once each recorded the finding: the next run makes the two one (first
    /// seen the earliest, the most days), even within the day, and a resolution drops both.
    #[test]
    fn two_records_of_one_finding_become_one_and_are_both_dropped_when_it_resolves() {
        let p = place();
        let t0 = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let tts = Subject::Project("tts".into());
        let ms = |t: DateTime<Utc>| t.timestamp_millis();
        let a = key(&p, Kind::OffS3Cache, &tts, ms(t0), ms(t0), 2);
        let b = key(&p, Kind::OffS3Cache, &tts, ms(t0 + Duration::seconds(1)), ms(t0 + Duration::seconds(1)), 1);
        let open: Vec<OpenFinding> = [&a, &b].iter().map(|k| parse(&p, k).unwrap()).collect();
        let steps = decide(&p, &[present("tts")], &open, t0 + Duration::hours(1));
        assert_eq!(steps.len(), 1, "one finding, one step");
        assert_eq!((steps[0].finding.first_seen, steps[0].finding.count), (t0, 3));
        assert_eq!(steps[0].stale, vec![a.clone(), b.clone()]);
        let merged = parse(&p, steps[0].record.as_ref().unwrap()).unwrap();
        assert!(decide(&p, &[present("tts")], &[merged], t0 + Duration::hours(2)).is_empty(), "one record: quiet");
        let gone = Observation::Gone { kind: Kind::OffS3Cache, subject: tts };
        let resolved = decide(&p, &[gone], &open, t0 + Duration::hours(3));
        assert_eq!(resolved[0].stale, vec![a, b]);
    }
}
