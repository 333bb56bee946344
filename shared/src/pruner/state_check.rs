//! The state is not trusted: anyone who may put one object in the bucket (a CodeBuild role with
//! `<bucket>/*` write, so any pull-request build) could write it, and a forged entry (`"releases":
//! missing since 2000`) would make a folder an orphan at once. Every entry is checked against what
//! this deployment itself would have written, and the rest is refused with a report line, never
//! used: a refused entry is never orphaned (a real location is recorded again the next time a sweep
//! sees it live). The template's bucket policy keeps other writers out of `.cache-sentinel/` in the
//! bucket it creates; these checks hold in any bucket.

use super::deployment::Deployment;
use super::locations::KnownLocation;
use super::state::PrunerState;
use crate::RESERVED_PREFIX;
use chrono::{DateTime, Duration, Utc};

/// Clock skew between hosts tolerated on the state's dates.
const SKEW: Duration = Duration::minutes(10);

/// The state with every implausible entry left out, and a line for each one refused. A state
/// written for another deployment is refused whole.
pub fn checked(mut state: PrunerState, deployment: &Deployment, now: DateTime<Utc>) -> (PrunerState, Vec<String>) {
    if let Some(other) = state.deployment.as_deref().filter(|d| *d != deployment.name()) {
        let why = format!(
            "the state names deployment {other}, not {}: refused whole, the sweep starts over and orphans nothing",
            deployment.name()
        );
        return (PrunerState::new(), vec![why]);
    }
    let mut refused = Vec::new();
    let since = state.since;
    state.locations.retain(|prefix, entry| match implausible(prefix, entry, since, now) {
        None => true,
        Some(why) => {
            refused.push(format!(
                "state entry {prefix:?} refused ({why}): never orphaned; a real location is recorded again when a sweep sees it in use"
            ));
            false
        }
    });
    (state, refused)
}

/// Why an entry cannot be one this deployment wrote, if it cannot.
fn implausible(
    prefix: &str,
    entry: &KnownLocation,
    since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Option<String> {
    if let Some(why) = location_key(prefix) {
        return Some(why);
    }
    // The pruner records a location only when it sees projects using it.
    if entry.projects.is_empty() {
        return Some("no project ever used it".into());
    }
    if let Some(bad) = entry.projects.iter().find(|p| crate::event::validate_project_name(p).is_err()) {
        return Some(format!("{bad:?} is not a CodeBuild project name"));
    }
    if entry.last_seen_live > now + SKEW {
        return Some(format!("seen in use {} is in the future", entry.last_seen_live.to_rfc3339()));
    }
    if let Some(since) = since.filter(|s| entry.last_seen_live < *s - SKEW) {
        return Some(format!(
            "seen in use {} before this deployment's first run {}",
            entry.last_seen_live.to_rfc3339(),
            since.to_rfc3339()
        ));
    }
    if let Some(missing) = entry.missing_since {
        if missing < entry.last_seen_live {
            return Some(format!("missing since {} before it was last seen in use", missing.to_rfc3339()));
        }
        if missing > now + SKEW {
            return Some(format!("missing since {} is in the future", missing.to_rfc3339()));
        }
    }
    if entry.born.is_some_and(|b| b > entry.last_seen_live + SKEW) {
        return Some("its first project was created after it was seen in use".into());
    }
    None
}

/// Why a key is not a prefix the pruner writes ("" is the bucket root), if it is not.
fn location_key(prefix: &str) -> Option<String> {
    if prefix.is_empty() {
        return None;
    }
    let bad_segment = prefix.split('/').any(|s| s.is_empty() || s == "." || s == "..");
    if bad_segment || prefix.len() > 1024 || prefix.contains(['\n', '\r', '\0']) {
        return Some("not a cache location prefix".into());
    }
    format!("{prefix}/").starts_with(RESERVED_PREFIX).then(|| "under cache-sentinel's own prefix".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 4, 3, 0, 0).unwrap()
    }

    fn seen(days_ago: i64) -> KnownLocation {
        KnownLocation {
            managed: true,
            last_seen_live: now() - Duration::days(days_ago),
            missing_since: None,
            projects: vec!["tts-service-build".into()],
            born: None,
        }
    }

    fn deployment() -> Deployment {
        Deployment::new("b", Some("123456789012"), "ap-south-1")
    }

    #[test]
    fn entries_this_deployment_could_have_written_are_kept() {
        let mut state = PrunerState::new();
        state.since = Some(now() - Duration::days(90));
        state.locations.insert("tts-service-build".into(), seen(1));
        state
            .locations
            .insert("team/api".into(), KnownLocation { missing_since: Some(now() - Duration::days(9)), ..seen(10) });
        state.locations.insert("".into(), seen(2));
        let (kept, refused) = checked(state.clone(), &deployment(), now());
        assert_eq!((kept, refused), (state, vec![]));
    }

    #[test]
    fn forged_entries_are_refused_with_the_reason() {
        let mut state = PrunerState::new();
        state.since = Some(now() - Duration::days(30));
        let forged = [
            (
                "releases",
                KnownLocation { missing_since: Some(now() - Duration::days(9000)), ..seen(9001) },
                "before this deployment's first run",
            ),
            ("no-project", KnownLocation { projects: vec![], ..seen(3) }, "no project ever used it"),
            ("a//b", seen(1), "not a cache location prefix"),
            ("../x", seen(1), "not a cache location prefix"),
            (".cache-sentinel/pruner", seen(1), "own prefix"),
            ("future", seen(-30), "in the future"),
            (
                "backwards",
                KnownLocation { missing_since: Some(now() - Duration::days(5)), ..seen(1) },
                "before it was last seen",
            ),
            ("bad-name", KnownLocation { projects: vec!["rm -rf".into()], ..seen(1) }, "not a CodeBuild project name"),
        ];
        for (prefix, entry, _) in &forged {
            state.locations.insert((*prefix).into(), entry.clone());
        }
        let (kept, refused) = checked(state, &deployment(), now());
        assert!(kept.locations.is_empty(), "{:?}", kept.locations.keys());
        for (prefix, _, why) in forged {
            assert!(
                refused.iter().any(|r| r.contains(&format!("{prefix:?}")) && r.contains(why)),
                "{prefix}: {refused:?}"
            );
        }
    }

    #[test]
    fn a_state_of_another_deployment_is_refused_whole() {
        let mut state = PrunerState::new();
        state.deployment = Some("222222222222/ap-south-1".into());
        state.locations.insert("x".into(), seen(1));
        let (kept, refused) = checked(state, &deployment(), now());
        assert!(kept.locations.is_empty() && refused[0].contains("222222222222/ap-south-1"), "{refused:?}");
    }
}
