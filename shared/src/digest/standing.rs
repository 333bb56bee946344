//! Where one project's cache stands, as the digest says it: decided from the project as
//! BatchGetProjects returns it, the guard's own plan for it (`guard::plan::plan_project`), the
//! heals the guard refused (its refusal markers), and the monitor's records of its newest builds
//! (`monitor::streak`). Pure; `gather` reads the inputs.

use super::week::CacheLine;
use crate::guard::plan::{HealAction, HealPlan, RefusalCause};
use crate::monitor::render_cache::short;
use crate::monitor::streak::{Record, standing};
use crate::project::ProjectSnapshot;

/// What is known of one project's cache.
pub struct CacheFacts<'a> {
    pub project: &'a ProjectSnapshot,
    /// The guard's plan for it; None when no cache bucket is known.
    pub plan: Option<&'a HealPlan>,
    /// Heals the guard refused (its markers of the last day).
    pub refusals: &'a [RefusalCause],
    /// The monitor's records of its builds, newest first; `Err` says why they were not read.
    pub records: Result<&'a [Record], String>,
    /// MONITOR_INEFFECTIVE_CACHE_BUILDS.
    pub needed: u32,
    /// The deployment runs in dry run: the guard changes nothing.
    pub dry_run: bool,
}

pub fn cache_line(facts: &CacheFacts<'_>) -> CacheLine {
    let cache = &facts.project.cache;
    if cache.is_s3() {
        return on_s3(facts);
    }
    let setting = cache.cache_type.clone();
    let Some(plan) = facts.plan else {
        let why = "no cache bucket known, so the guard cannot move it".into();
        return CacheLine::NotOnS3 { setting, why, todo: "set CACHE_BUCKET (the stack sets it)".into() };
    };
    let (why, todo) = match plan.action {
        // LOCAL is right here (a reserved-capacity fleet, a Docker server): nothing to do.
        HealAction::Keep => return CacheLine::OffS3ByDesign { setting, why: plan.reason.clone() },
        HealAction::Heal if !facts.refusals.is_empty() => {
            let causes: Vec<&str> = facts.refusals.iter().map(|c| c.headline()).collect();
            (
                format!("the guard refused to heal it: {}", causes.join("; ")),
                "fix what the guard's refusal email names; it heals the project at its next build".into(),
            )
        }
        HealAction::Heal if facts.dry_run => (
            "the guard would heal it, but runs in dry run (DryRun=true)".into(),
            "set the stack's DryRun to false once its reports read right, or run cache-sentinel heal --apply".into(),
        ),
        HealAction::Heal => (
            "the guard heals it on its next build or hourly sweep".into(),
            "nothing: the guard moves it; its email says when".into(),
        ),
        HealAction::Skip | HealAction::Refuse | HealAction::NoChange => {
            (plan.reason.clone(), "move it to the S3 cache where its settings live, or keep it off knowingly".into())
        }
    };
    CacheLine::NotOnS3 { setting, why, todo }
}

fn on_s3(facts: &CacheFacts<'_>) -> CacheLine {
    let records = match &facts.records {
        Ok(records) => *records,
        Err(why) => return CacheLine::Unknown { why: why.clone() },
    };
    if records.is_empty() {
        return CacheLine::Unknown { why: "no build judged by the monitor in the last 30 days".into() };
    }
    let standing = standing(records, facts.needed);
    match standing.not_effective.first() {
        Some(cause) => {
            let streak = standing.causes.iter().find(|c| c.cause == *cause).map_or(0, |c| c.streak);
            let mut words: Vec<String> = standing.not_effective.iter().map(|c| short(*c).to_owned()).collect();
            words.dedup();
            CacheLine::NotEffective { cause: format!("{} in the last {streak} builds", words.join(", ")) }
        }
        None => CacheLine::Effective,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::plan::{GuardPolicy, plan_project};
    use crate::monitor::evidence::Problems;
    use crate::project::CacheSetting;

    fn policy() -> GuardPolicy {
        GuardPolicy::for_tests("codebuild-cache-1-r")
    }

    fn records(codes: &[&str]) -> Vec<Record> {
        codes
            .iter()
            .enumerate()
            .map(|(i, c)| Record {
                start_ms: 10_000_000 - i as i64 * 60_000,
                build: format!("b{i}"),
                problems: Problems::from_code(c).unwrap(),
            })
            .collect()
    }

    fn line(
        project: &ProjectSnapshot,
        refusals: &[RefusalCause],
        records: Result<&[Record], String>,
        dry_run: bool,
    ) -> CacheLine {
        let plan = plan_project(project, &policy());
        cache_line(&CacheFacts { project, plan: Some(&plan), refusals, records, needed: 3, dry_run })
    }

    #[test]
    fn on_s3_the_records_decide() {
        let p = ProjectSnapshot::new("tts", CacheSetting::s3("codebuild-cache-1-r/tts"));
        assert_eq!(line(&p, &[], Ok(&records(&["nnnn", "nnnn"])), false), CacheLine::Effective);
        let bad = records(&["ynnn", "ynnn", "-nnn", "ynnn"]);
        match line(&p, &[], Ok(&bad), false) {
            CacheLine::NotEffective { cause } => assert!(cause.ends_with("in the last 3 builds"), "{cause}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(line(&p, &[], Ok(&[]), false), CacheLine::Unknown { why } if why.contains("30 days")));
        let unread = line(&p, &[], Err("the listing failed: AccessDenied".into()), false);
        assert!(matches!(unread, CacheLine::Unknown { why } if why.contains("AccessDenied")));
    }

    #[test]
    fn off_s3_says_why_and_what_the_guard_does() {
        let local = ProjectSnapshot::new("api", CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));
        let heal = line(&local, &[], Ok(&[]), false);
        assert!(
            matches!(&heal, CacheLine::NotOnS3 { setting, why, todo } if setting == "LOCAL" && why.contains("next build") && todo.starts_with("nothing")),
            "{heal:?}"
        );
        let dry = line(&local, &[], Ok(&[]), true);
        assert!(matches!(&dry, CacheLine::NotOnS3 { why, .. } if why.contains("dry run")), "{dry:?}");
        let refused = line(&local, &[RefusalCause::RoleAccess], Ok(&[]), false);
        assert!(
            matches!(&refused, CacheLine::NotOnS3 { why, todo, .. } if why.contains("refused") && why.contains("service role") && todo.contains("refusal email")),
            "{refused:?}"
        );
        let mut opted = local.clone();
        opted.tags = vec![("cache-sentinel:ignore".into(), "true".into())];
        let skip = line(&opted, &[], Ok(&[]), false);
        assert!(matches!(&skip, CacheLine::NotOnS3 { why, .. } if why.contains("cache-sentinel:ignore")), "{skip:?}");
        let mut fleet = local.clone();
        fleet.fleet_arn = Some("arn:aws:codebuild:r:1:fleet/f:1".into());
        assert!(matches!(line(&fleet, &[], Ok(&[]), false), CacheLine::OffS3ByDesign { .. }));
        let unplanned = cache_line(&CacheFacts {
            project: &local,
            plan: None,
            refusals: &[],
            records: Ok(&[]),
            needed: 3,
            dry_run: false,
        });
        assert!(matches!(unplanned, CacheLine::NotOnS3 { why, .. } if why.contains("no cache bucket")));
    }
}
