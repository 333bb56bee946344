//! What cache-guard's run says for Security Hub, project by project: off the S3 cache (a heal due,
//! or one a dry run would make), a heal refused (why, and the statement or change that fixes it),
//! or both causes gone (on S3, healed, LOCAL by design). Skipped, duplicate and failed projects say
//! nothing: their findings stay as they are. Pure.

use super::asff::{Kind, Subject};
use super::open::Observation;
use crate::guard::report::Outcome;
use crate::guard::service::ProjectOutcome;

pub fn observations(outcomes: &[ProjectOutcome]) -> Vec<Observation> {
    let mut out = Vec::new();
    for o in outcomes {
        let subject = Subject::Project(o.project.clone());
        let gone = |kind| Observation::Gone { kind, subject: subject.clone() };
        let before = o.before.as_ref().map_or_else(|| "its cache".to_owned(), ToString::to_string);
        let after = o.after.as_ref().map_or_else(|| "the S3 cache".to_owned(), ToString::to_string);
        match o.outcome {
            Outcome::Healed | Outcome::Unchanged | Outcome::Kept => {
                out.push(gone(Kind::OffS3Cache));
                out.push(gone(Kind::HealRefused));
            }
            Outcome::WouldHeal => out.push(Observation::Present {
                kind: Kind::OffS3Cache,
                subject: subject.clone(),
                title: format!("{} is on {before}, not the S3 cache", o.project),
                detail: format!(
                    "A LOCAL cache lives on the one build host that wrote it, so most builds start without it. cache-guard would switch it to {after}, but runs in dry run."
                ),
                remediation: format!(
                    "Set the stack's DryRun parameter to false, or set the project's cache to {after} (cache-sentinel heal --apply)."
                ),
            }),
            Outcome::Refused => {
                out.push(gone(Kind::OffS3Cache));
                // The refusal's own fix (the statement to add, the change to make) comes last in
                // the advice, after the guard's general advice on the S3 cache: say it first.
                let fix =
                    if o.advice.is_empty() { o.reason.clone() } else { o.advice.iter().rev().cloned().collect::<Vec<_>>().join(" ") };
                out.push(Observation::Present {
                    kind: Kind::HealRefused,
                    subject: subject.clone(),
                    title: format!("cache-guard refused to move {} to the S3 cache", o.project),
                    detail: format!("It is on {before}. {}", o.reason),
                    remediation: fix,
                });
            }
            Outcome::Skipped | Outcome::Duplicate | Outcome::Failed => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::plan::RefusalCause;
    use crate::project::CacheSetting;

    fn outcome(project: &str, outcome: Outcome) -> ProjectOutcome {
        let mut o = ProjectOutcome::skipped(project, None, "r".into());
        o.outcome = outcome;
        o.before = Some(CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));
        o.after = Some(CacheSetting::s3("bucket/p"));
        o
    }

    #[test]
    fn each_outcome_says_what_it_means_for_the_two_kinds() {
        let mut refused = outcome("r", Outcome::Refused);
        refused.reason = "the service role may not write bucket/r".into();
        refused.advice = vec!["Add s3:PutObject on arn:aws:s3:::bucket/r/* to the role.".into()];
        refused.refusal = Some(RefusalCause::RoleAccess);
        let all = observations(&[
            outcome("h", Outcome::Healed),
            outcome("w", Outcome::WouldHeal),
            refused,
            outcome("s", Outcome::Skipped),
            outcome("f", Outcome::Failed),
        ]);
        let of = |p: &str| {
            all.iter().filter(|o| matches!(o, Observation::Present { subject, .. } | Observation::Gone { subject, .. } if *subject == Subject::Project(p.into()))).collect::<Vec<_>>()
        };
        assert_eq!(of("h").len(), 2);
        assert!(of("h").iter().all(|o| matches!(o, Observation::Gone { .. })));
        assert!(matches!(of("w")[..], [Observation::Present { kind: Kind::OffS3Cache, .. }]));
        match &of("r")[..] {
            [
                Observation::Gone { kind: Kind::OffS3Cache, .. },
                Observation::Present { kind: Kind::HealRefused, remediation, detail, .. },
            ] => {
                assert!(
                    remediation.contains("s3:PutObject") && detail.contains("may not write"),
                    "{remediation} / {detail}"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(of("s").is_empty() && of("f").is_empty());
    }
}
