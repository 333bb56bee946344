//! What build-time-monitor's run says for Security Hub, build by build: builds over their expected
//! range (present when a build is slow, gone when one of its project is within its range), and a
//! cache configured but not effective (present while a cause's streak is reached, gone when a build
//! shows none of the causes). Builds that could not be judged, or whose log and cache could not
//! tell, say nothing. Pure.

use super::asff::{Kind, Subject};
use super::open::Observation;
use crate::monitor::evidence::{Cause, Signal};
use crate::monitor::judge::fmt_duration;
use crate::monitor::render_cache::{explain, short};
use crate::monitor::report::{BuildOutcome, Outcome};

pub fn observations(outcomes: &[BuildOutcome]) -> Vec<Observation> {
    let mut out = Vec::new();
    for o in outcomes {
        let subject = Subject::Project(o.project.clone());
        let slow = matches!(
            o.outcome,
            Outcome::Notified | Outcome::WouldNotify | Outcome::AlreadyNotified | Outcome::HeldBack
        );
        match (&o.verdict, slow, o.outcome) {
            (Some(v), true, _) => out.push(over_range(
                &o.project,
                format!(
                    "The last slow build{} took {} of its own time; {} builds are expected to take {}. {}",
                    o.build_id.as_deref().map(|b| format!(" ({b})")).unwrap_or_default(),
                    fmt_duration(v.judged_seconds),
                    v.scenario.scenario.as_str(),
                    v.expected,
                    v.summary
                ),
                "Read the slow-build email: it names the cause from the build log (a cache that did not restore, a Dockerfile step that invalidates the layers after it, the compute size) and the fix.",
            )),
            (Some(_), false, Outcome::WithinTime) => {
                out.push(Observation::Gone { kind: Kind::BuildsOverRange, subject: subject.clone() })
            }
            _ => {}
        }
        if let Some(notice) = &o.cache_notice {
            let location = o.evidence.as_ref().and_then(|e| e.location.clone()).unwrap_or_else(|| "the cache".into());
            out.push(cache_not_effective(&o.project, &notice.causes, &format!("s3://{location}/")));
        } else if let Some(evidence) = &o.evidence {
            let problems = &evidence.problems;
            let told = problems.0.contains(&Signal::Clear);
            if told && problems.showing().is_empty() {
                out.push(Observation::Gone { kind: Kind::CacheNotEffective, subject });
            }
        }
    }
    out
}

/// Builds of `project` over their range: `detail` says which build and by how much.
pub fn over_range(project: &str, detail: String, remediation: &str) -> Observation {
    Observation::Present {
        kind: Kind::BuildsOverRange,
        subject: Subject::Project(project.to_owned()),
        title: format!("Builds of {project} take longer than they should"),
        detail,
        remediation: remediation.to_owned(),
    }
}

/// `project`'s S3 cache at `at` (`s3://bucket/prefix/`) does not work: the causes its newest
/// builds show, and the fix of each.
pub fn cache_not_effective(project: &str, causes: &[Cause], at: &str) -> Observation {
    let shown: Vec<&str> = causes.iter().map(|c| short(*c)).collect();
    Observation::Present {
        kind: Kind::CacheNotEffective,
        subject: Subject::Project(project.to_owned()),
        title: format!("The S3 cache of {project} does not work"),
        detail: format!("Its newest builds show, build after build: {}.", shown.join(", ")),
        remediation: causes.iter().map(|c| explain(*c, at)).collect::<Vec<_>>().join(" "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::BuildStatus;

    #[test]
    fn a_build_within_its_range_resolves_and_one_not_judged_says_nothing() {
        let within = BuildOutcome::new("p", None, BuildStatus::Succeeded, Outcome::WithinTime, "ok".into());
        // Not judged (no verdict): nothing, whatever its outcome says.
        assert!(observations(std::slice::from_ref(&within)).is_empty());
        let failed = BuildOutcome::new("p", None, BuildStatus::Failed, Outcome::Unsuccessful, "failed".into());
        assert!(observations(&[failed]).is_empty());
    }
}
