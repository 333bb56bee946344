//! A slow build that ran off the S3 cache (LOCAL, NO_CACHE): its cache setting named
//! as the likely cause, why that setting loses layers, and what cache-guard did with the project or
//! why it did not. Pure: `standing` decides the words from plain data; `read` (effects) gathers it:
//! the project as BatchGetProjects returns it now (the guard acts on the same build events, so a
//! heal shows there), the guard's own plan for it (`guard::plan::plan_project`, the reasons it
//! leaves a project alone), and the guard's refusal markers (`.cache-sentinel/guard/`, one
//! ListObjectsV2 call), which name a heal it refused and why.

use super::service::BuildTimeMonitor;
use crate::aws::s3_records::first_keys;
use crate::build::BuildFacts;
use crate::guard::plan::{HealAction, HealPlan, RefusalCause, plan_project};
use crate::project::{CACHE_LOCAL, CacheSetting, ProjectSnapshot};
use serde::Serialize;
use tracing::warn;

/// The likely cause and what the guard did, for the email and the JSON result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CacheStanding {
    /// The cache setting the build ran with.
    pub ran_with: String,
    /// Why that setting makes builds slow (or, where LOCAL is right, when it does).
    pub cause: String,
    /// What cache-guard did with the project, or why it did not.
    pub guard: String,
    /// What to do, fitted to the project's setup.
    pub advice: Vec<String>,
}

/// What is known of the project now; `Err` says why it could not be read.
pub struct ProjectNow<'a> {
    pub project: Result<&'a ProjectSnapshot, String>,
    /// The guard's plan for the project as it is now.
    pub plan: Option<&'a HealPlan>,
    /// Heals the guard refused (its markers of the last day).
    pub refusals: &'a [RefusalCause],
    /// The deployment runs in dry run (the template sets DRY_RUN for every function at once).
    pub dry_run: bool,
}

/// The words for a build that ran with `ran_with`.
pub fn standing(ran_with: &CacheSetting, now: &ProjectNow<'_>) -> CacheStanding {
    let project = now.project.as_ref().ok();
    let fleet = project.and_then(|p| p.fleet_arn.as_deref());
    let docker_server = project.is_some_and(|p| p.docker_server);
    let local = ran_with.cache_type == CACHE_LOCAL;
    let mut advice = vec![];
    let cause = match (local, fleet, docker_server) {
        (true, Some(fleet), _) => {
            advice.push(format!(
                "LOCAL is the right cache on the reserved-capacity fleet {fleet}: its hosts keep the layers. A build that overflowed to an on-demand host (the fleet's overflowBehavior ON_DEMAND) starts without them: if builds overflow often, set the overflow to QUEUE or add base capacity to the fleet."
            ));
            format!(
                "The build ran with {ran_with} on a reserved-capacity fleet: the fleet's hosts keep the cache, but a build sent to an on-demand host when the fleet was full has none of it."
            )
        }
        (true, None, true) => {
            advice.push("LOCAL is the right cache with a Docker server: the layers live on the server, which recycles them after up to a month (AWS, May 2025). A build after a recycle rebuilds every layer once; the next ones should be fast again. If every build is this slow, check that the buildspec builds through the project's Docker server.".into());
            format!(
                "The build ran with {ran_with} on the project's Docker server: its layers are kept on the server, unless the server recycled them."
            )
        }
        (true, _, _) => format!(
            "The build ran with {ran_with}, not the S3 cache: the likely cause. A LOCAL cache lives on the one build host that wrote it, and CodeBuild runs each build on whichever host is free, so most builds start without the cached layers and rebuild them."
        ),
        (false, _, _) => format!(
            "The build ran with {ran_with}, not the S3 cache: the likely cause. Without a cache CodeBuild keeps nothing between builds, so every Docker layer and dependency is built again every time."
        ),
    };
    let guard = guard_words(ran_with, now);
    if !local || (fleet.is_none() && !docker_server) {
        advice.push("Docker layers need more than the S3 cache: export them to a cached path (docker buildx --cache-to type=local,...) or to a registry cache (--cache-to type=registry,ref=<repo>:cache,mode=max,image-manifest=true, AWS's current advice).".into());
    }
    CacheStanding { ran_with: ran_with.to_string(), cause, guard, advice }
}

fn guard_words(ran_with: &CacheSetting, now: &ProjectNow<'_>) -> String {
    let project = match &now.project {
        Ok(p) => p,
        Err(why) => return format!("What cache-guard did with the project is not known ({why}): read its notices."),
    };
    // The event's cache names only its type (and an S3 location): compare those, not the modes.
    let same = project.cache.cache_type == ran_with.cache_type && project.cache.location == ran_with.location;
    if project.cache.is_s3() && !same {
        return format!(
            "cache-guard has since switched the project to {}: the next build uses it (its first build fills the cache).",
            project.cache
        );
    }
    if !same {
        return format!("The project has since been set to {}.", project.cache);
    }
    let Some(plan) = now.plan else {
        return "What cache-guard does with the project is not known (no cache bucket): read its notices.".into();
    };
    match plan.action {
        HealAction::Heal if !now.refusals.is_empty() => {
            let causes: Vec<&str> = now.refusals.iter().map(|c| c.headline()).collect();
            format!(
                "cache-guard refused to switch the project to {}: {}. Its notice says what to change.",
                plan.after,
                causes.join("; ")
            )
        }
        HealAction::Heal if now.dry_run => format!(
            "cache-guard would switch the project to {}, but cache-sentinel runs in dry run (DRY_RUN=true, the template's first deploy): it changes nothing until the stack's DryRun parameter is false.",
            plan.after
        ),
        HealAction::Heal => format!(
            "cache-guard switches the project to {} on its next build event or hourly sweep; if it stays on {}, read the guard's notices and logs.",
            plan.after, project.cache.cache_type
        ),
        HealAction::Keep => format!("cache-guard keeps {} on purpose: {}.", project.cache.cache_type, plan.reason),
        HealAction::Skip => format!("cache-guard leaves the project alone: {}.", plan.reason),
        HealAction::Refuse | HealAction::NoChange => format!("cache-guard: {}.", plan.reason),
    }
}

impl BuildTimeMonitor {
    /// The standing of a build off the S3 cache; None for a build on it. BatchGetProjects once,
    /// ListObjectsV2 once; what cannot be read is said, never a failure.
    pub(super) async fn cache_standing(&self, facts: &BuildFacts, bucket: Option<&str>) -> Option<CacheStanding> {
        // Not reported (neither the event nor BatchGetBuilds named it): nothing to say it caused.
        let ran_with = facts.cache.clone()?;
        if ran_with.is_s3() {
            return None;
        }
        let read = match self.codebuild.get(std::slice::from_ref(&facts.project)).await {
            Ok((found, _)) => found
                .into_iter()
                .find(|p| p.name == facts.project)
                .ok_or_else(|| "BatchGetProjects does not know the project".to_owned()),
            Err(e) => {
                warn!(action = "read-project", error = %e, "could not read the project for its cache standing");
                Err(format!("the project could not be read: {e}"))
            }
        };
        let plan = match (&read, bucket) {
            (Ok(project), Some(bucket)) => Some(plan_project(project, &self.config.guard_policy(bucket))),
            _ => None,
        };
        let mut refusals = vec![];
        if let (Some(bucket), Some(plan)) = (bucket, &plan)
            && plan.action == HealAction::Heal
        {
            refusals = self.guard_refusals(bucket, &facts.project).await;
        }
        let now = ProjectNow {
            project: read.as_ref().map_err(Clone::clone),
            plan: plan.as_ref(),
            refusals: &refusals,
            dry_run: self.config.common.dry_run,
        };
        Some(standing(&ran_with, &now))
    }

    /// The guard's refusal markers for the project (`refused/<project>/<cause>`).
    async fn guard_refusals(&self, bucket: &str, project: &str) -> Vec<RefusalCause> {
        let markers = crate::aws::s3::Markers::new(self.s3.clone(), bucket, crate::guard::dedup::NAMESPACE);
        let prefix = markers.key(&format!("refused/{project}/"));
        match first_keys(&self.s3, bucket, &prefix, 10).await {
            Ok(keys) => RefusalCause::ALL
                .into_iter()
                .filter(|cause| keys.contains(&markers.key(&crate::guard::dedup::refusal_marker(project, *cause))))
                .collect(),
            Err(e) => {
                warn!(action = "read-guard-markers", error = %e, "could not list the guard's refusals");
                vec![]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::plan::GuardPolicy;

    fn policy() -> GuardPolicy {
        GuardPolicy::for_tests("codebuild-cache-1-r")
    }

    fn words(
        ran_with: &CacheSetting,
        project: &ProjectSnapshot,
        refusals: &[RefusalCause],
        dry_run: bool,
    ) -> CacheStanding {
        let plan = plan_project(project, &policy());
        standing(ran_with, &ProjectNow { project: Ok(project), plan: Some(&plan), refusals, dry_run })
    }

    #[test]
    fn local_and_no_cache_name_the_cause_and_what_the_guard_does() {
        let local = CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]);
        let project = ProjectSnapshot::new("tts", local.clone());
        // The event names the type only; the project has its modes.
        let s = words(&CacheSetting::local(&[]), &project, &[], false);
        assert!(s.cause.contains("LOCAL") && s.cause.contains("one build host"), "{}", s.cause);
        assert!(s.guard.contains("switches the project to S3 at codebuild-cache-1-r/tts"), "{}", s.guard);
        assert!(s.advice.iter().any(|a| a.contains("registry cache")), "{:?}", s.advice);

        let none = CacheSetting::none();
        let s = words(&none, &ProjectSnapshot::new("tts", none.clone()), &[], true);
        assert!(s.cause.contains("NO_CACHE") && s.cause.contains("keeps nothing"), "{}", s.cause);
        assert!(s.guard.contains("dry run") && s.guard.contains("DryRun"), "{}", s.guard);

        let s = words(&local, &project, &[RefusalCause::RoleAccess], false);
        assert!(s.guard.contains("refused") && s.guard.contains("service role cannot use the cache"), "{}", s.guard);

        let healed = ProjectSnapshot::new("tts", CacheSetting::s3("codebuild-cache-1-r/tts"));
        let s = words(&local, &healed, &[], false);
        assert!(s.guard.contains("has since switched the project to S3 at codebuild-cache-1-r/tts"), "{}", s.guard);
    }

    #[test]
    fn where_local_is_right_the_advice_fits_the_setup() {
        let local = CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]);
        let mut fleet = ProjectSnapshot::new("tts", local.clone());
        fleet.fleet_arn = Some("arn:aws:codebuild:r:1:fleet/f".into());
        let s = words(&local, &fleet, &[], false);
        assert!(s.cause.contains("fleet") && s.cause.contains("on-demand host"), "{}", s.cause);
        assert!(s.guard.contains("keeps LOCAL on purpose"), "{}", s.guard);
        assert!(s.advice.iter().all(|a| !a.contains("registry cache")), "no switch to S3 advice: {:?}", s.advice);
        assert!(s.advice[0].contains("overflow"), "{:?}", s.advice);

        let mut server = ProjectSnapshot::new("tts", local.clone());
        server.docker_server = true;
        let s = words(&local, &server, &[], false);
        assert!(s.cause.contains("Docker server") && s.advice[0].contains("recycles"), "{s:?}");

        let mut opted = ProjectSnapshot::new("tts", CacheSetting::none());
        opted.tags = vec![("cache-sentinel:ignore".into(), "true".into())];
        let s = words(&CacheSetting::none(), &opted, &[], false);
        assert!(s.guard.starts_with("cache-guard leaves the project alone") && s.guard.contains("tag"), "{}", s.guard);

        let unread = standing(
            &local,
            &ProjectNow { project: Err("throttled".into()), plan: None, refusals: &[], dry_run: false },
        );
        assert!(
            unread.guard.contains("not known (throttled)") && unread.cause.contains("one build host"),
            "{unread:?}"
        );
    }
}
