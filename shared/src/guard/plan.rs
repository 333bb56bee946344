//! The heal plan: a pure decision over a project snapshot and the policy. Plain data, so dry runs
//! can print it and tests can assert it.

use super::buildspec::{self, BuildspecSource};
use crate::config::CacheLayout;
use crate::filter::ProjectFilter;
use crate::project::{CACHE_LOCAL, CacheSetting, ProjectSnapshot};
use serde::Serialize;

/// What the guard decided for one project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealAction {
    /// The cache is already where it should be (or a custom S3 location is kept on purpose).
    NoChange,
    /// Switch the cache to S3 at the managed location.
    Heal,
    /// Out of scope: opted out by tag, excluded by pattern, or not ours to touch.
    Skip,
    /// A heal is due but would break builds (the bucket is missing, forbidden or elsewhere).
    Refuse,
}

/// The decision for one project, with the cache before and after and the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealPlan {
    pub project: String,
    pub action: HealAction,
    pub before: CacheSetting,
    /// The cache the project has once the plan is carried out (equal to `before` unless healing).
    pub after: CacheSetting,
    pub reason: String,
    /// Things the owner should know: caches that store nothing, Docker layers, permissions.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub advice: Vec<String>,
}

/// What the cache bucket's HeadBucket said, as far as a heal depends on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum BucketState {
    /// The bucket exists and we may use it; `region` is where S3 says it lives.
    Usable {
        region: Option<String>,
    },
    Missing,
    Forbidden {
        reason: String,
    },
    Unreachable {
        reason: String,
    },
}

/// What the guard enforces.
#[derive(Debug, Clone)]
pub struct GuardPolicy {
    /// The resolved cache bucket.
    pub bucket: String,
    pub layout: CacheLayout,
    pub projects: ProjectFilter,
    pub ignore_tag: String,
    pub relocate_custom_s3: bool,
}

impl GuardPolicy {
    pub fn desired_cache(&self, project: &str) -> CacheSetting {
        CacheSetting::s3(self.layout.location(&self.bucket, project))
    }
}

/// Decides what to do with one project. Does not look at the bucket: see [`gate_on_bucket`].
pub fn plan_project(project: &ProjectSnapshot, policy: &GuardPolicy) -> HealPlan {
    let before = project.cache.clone();
    let keep = |action: HealAction, reason: String| HealPlan {
        project: project.name.clone(),
        action,
        before: before.clone(),
        after: before.clone(),
        reason,
        advice: vec![],
    };

    if let Err(why) = policy.projects.check(&project.name) {
        return keep(HealAction::Skip, format!("out of scope: {why}"));
    }
    if let Some(value) = project.tag(&policy.ignore_tag)
        && value.trim().eq_ignore_ascii_case("true")
    {
        return keep(HealAction::Skip, format!("opted out by tag {}={value}", policy.ignore_tag));
    }

    let desired = policy.desired_cache(&project.name);
    if before.is_s3() && before.s3_bucket().is_some() {
        if before == desired {
            let mut plan = keep(HealAction::NoChange, format!("already on the S3 cache at {}", location(&desired)));
            plan.advice = cache_content_advice(project, &before);
            return plan;
        }
        if !policy.relocate_custom_s3 {
            let mut plan = keep(
                HealAction::NoChange,
                format!(
                    "on a custom S3 cache at {}, kept (the managed location would be {}; set GUARD_RELOCATE_CUSTOM_S3=true to move it)",
                    location(&before),
                    location(&desired)
                ),
            );
            plan.advice = cache_content_advice(project, &before);
            return plan;
        }
    }

    let reason = match before.cache_type.as_str() {
        CACHE_LOCAL => format!(
            "LOCAL cache ({}) lives on a single build host and is lost when CodeBuild uses another host",
            if before.modes.is_empty() { "no modes".to_owned() } else { before.modes.join(", ") }
        ),
        "S3" if before.s3_bucket().is_none() => "S3 cache without a location".to_owned(),
        "S3" => format!(
            "custom S3 cache at {} moved to the managed location (GUARD_RELOCATE_CUSTOM_S3=true)",
            location(&before)
        ),
        "NO_CACHE" => "no cache configured: every build starts from scratch".to_owned(),
        other => format!("unknown cache type {other}"),
    };
    let mut advice = cache_content_advice(project, &desired);
    advice.push(format!(
        "the project's service role needs s3:GetObject and s3:PutObject on arn:aws:s3:::{}/*, or builds will fail to read and write the cache",
        location(&desired)
    ));
    HealPlan {
        project: project.name.clone(),
        action: HealAction::Heal,
        before,
        after: desired,
        reason: format!("{reason}; switching to the S3 cache"),
        advice,
    }
}

/// Turns a heal into a refusal when the bucket cannot hold the cache: switching to a bucket that
/// does not exist, that we cannot reach, or that is in another region would break every build.
pub fn gate_on_bucket(plan: HealPlan, bucket: &str, status: &BucketState, project_region: &str) -> HealPlan {
    if plan.action != HealAction::Heal {
        return plan;
    }
    let refusal = match status {
        BucketState::Usable { region: Some(region) } if region != project_region => Some(format!(
            "cache bucket {bucket} is in {region} but the project is in {project_region}; CodeBuild needs the S3 cache bucket in the project's region"
        )),
        BucketState::Usable { .. } => None,
        BucketState::Missing => {
            Some(format!("cache bucket {bucket} does not exist; create it (the SAM template does) or set CACHE_BUCKET"))
        }
        BucketState::Forbidden { reason } => Some(format!("cache bucket {bucket} is not accessible: {reason}")),
        BucketState::Unreachable { reason } => Some(format!("cache bucket {bucket} could not be checked: {reason}")),
    };
    match refusal {
        None => plan,
        Some(reason) => HealPlan {
            action: HealAction::Refuse,
            after: plan.before.clone(),
            reason: format!("not switched, builds would break: {reason}"),
            ..plan
        },
    }
}

fn location(cache: &CacheSetting) -> &str {
    cache.location.as_deref().unwrap_or("(no location)")
}

/// Whether an S3 cache will actually hold anything for this project.
fn cache_content_advice(project: &ProjectSnapshot, target: &CacheSetting) -> Vec<String> {
    let mut advice = Vec::new();
    if !target.is_s3() {
        return advice;
    }
    let spec = buildspec::classify(project.buildspec.as_deref());
    match spec {
        BuildspecSource::Inline(yaml) if buildspec::cache_paths(yaml).is_empty() => advice.push(
            "the inline buildspec lists no `cache: paths:`, so the S3 cache will store nothing; list the directories to keep (for example '/root/.cache/pip/**/*')".to_owned(),
        ),
        BuildspecSource::Inline(_) => {}
        BuildspecSource::File(file) => advice.push(format!("the buildspec is {file} in the source: make sure it lists `cache: paths:`, or the S3 cache stores nothing")),
        BuildspecSource::Default => advice.push("the buildspec is buildspec.yml in the source: make sure it lists `cache: paths:`, or the S3 cache stores nothing".to_owned()),
    }
    let docker = project.privileged_mode
        || project.cache.modes.iter().any(|m| m == "LOCAL_DOCKER_LAYER_CACHE")
        || matches!(spec, BuildspecSource::Inline(yaml) if buildspec::builds_docker_images(yaml));
    if docker {
        advice.push(
            "S3 cache does not hold Docker layers by itself: export them to a cached path (docker buildx build --cache-to type=local,dest=/root/.docker-cache,mode=max --cache-from type=local,src=/root/.docker-cache, with '/root/.docker-cache/**/*' under cache: paths) or to a registry cache (--cache-to type=registry,ref=<ecr-repo>:buildcache,mode=max --cache-from type=registry,ref=<ecr-repo>:buildcache)".to_owned(),
        );
    }
    advice
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::CacheSetting;

    fn policy() -> GuardPolicy {
        GuardPolicy {
            bucket: "codebuild-cache-123456789012-ap-south-1".into(),
            layout: CacheLayout { bucket: None, key_prefix: String::new(), per_project_prefix: true },
            projects: ProjectFilter::default(),
            ignore_tag: "cache-sentinel:ignore".into(),
            relocate_custom_s3: false,
        }
    }

    fn project(cache: CacheSetting) -> ProjectSnapshot {
        ProjectSnapshot {
            buildspec: Some("version: 0.2\nphases:\n  build:\n    commands:\n      - docker build .\ncache:\n  paths:\n    - /root/.docker-cache/**/*\n".into()),
            privileged_mode: true,
            ..ProjectSnapshot::new("tts-service-build", cache)
        }
    }

    const DESIRED: &str = "codebuild-cache-123456789012-ap-south-1/tts-service-build";

    #[test]
    fn every_cache_type_and_mode() {
        let cases = [
            (CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]), HealAction::Heal),
            (CacheSetting::local(&["LOCAL_SOURCE_CACHE", "LOCAL_CUSTOM_CACHE"]), HealAction::Heal),
            (CacheSetting::local(&[]), HealAction::Heal),
            (CacheSetting::none(), HealAction::Heal),
            (CacheSetting { location: None, ..CacheSetting::s3("") }, HealAction::Heal),
            (CacheSetting::s3(DESIRED), HealAction::NoChange),
            (CacheSetting::s3("someone-elses-bucket/x"), HealAction::NoChange),
        ];
        for (cache, expected) in cases {
            let plan = plan_project(&project(cache.clone()), &policy());
            assert_eq!(plan.action, expected, "cache {cache}: {plan:?}");
            assert_eq!(plan.before, cache);
            match expected {
                HealAction::Heal => assert_eq!(plan.after, CacheSetting::s3(DESIRED)),
                _ => assert_eq!(plan.after, cache),
            }
        }
    }

    #[test]
    fn custom_s3_moves_only_when_configured() {
        let mut p = policy();
        p.relocate_custom_s3 = true;
        let plan = plan_project(&project(CacheSetting::s3("other-bucket")), &p);
        assert_eq!(plan.action, HealAction::Heal);
        assert_eq!(plan.after, CacheSetting::s3(DESIRED));
        let kept = plan_project(&project(CacheSetting::s3("other-bucket")), &policy());
        assert!(kept.reason.contains("custom S3 cache at other-bucket"), "{}", kept.reason);
    }

    #[test]
    fn bare_bucket_location_when_prefix_is_off() {
        let mut p = policy();
        p.layout.per_project_prefix = false;
        let plan = plan_project(&project(CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"])), &p);
        assert_eq!(plan.after, CacheSetting::s3("codebuild-cache-123456789012-ap-south-1"));
    }

    #[test]
    fn opt_out_tag_and_patterns_skip() {
        let mut tagged = project(CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));
        tagged.tags.push(("cache-sentinel:ignore".into(), "TRUE".into()));
        assert_eq!(plan_project(&tagged, &policy()).action, HealAction::Skip);
        tagged.tags[0].1 = "false".into();
        assert_eq!(plan_project(&tagged, &policy()).action, HealAction::Heal);

        let mut p = policy();
        p.projects = ProjectFilter::new(vec!["web-*".into()], vec![]).unwrap();
        let plan = plan_project(&project(CacheSetting::none()), &p);
        assert_eq!(plan.action, HealAction::Skip);
        assert!(plan.reason.contains("PROJECT_INCLUDE"));
        p.projects = ProjectFilter::new(vec![], vec!["tts-*".into()]).unwrap();
        assert_eq!(plan_project(&project(CacheSetting::none()), &p).action, HealAction::Skip);
    }

    #[test]
    fn bucket_problems_turn_heals_into_refusals() {
        let plan = || plan_project(&project(CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"])), &policy());
        let b = "codebuild-cache-123456789012-ap-south-1";
        let ok = gate_on_bucket(plan(), b, &BucketState::Usable { region: Some("ap-south-1".into()) }, "ap-south-1");
        assert_eq!(ok.action, HealAction::Heal);
        let unknown_region = gate_on_bucket(plan(), b, &BucketState::Usable { region: None }, "ap-south-1");
        assert_eq!(unknown_region.action, HealAction::Heal);
        for status in [
            BucketState::Missing,
            BucketState::Forbidden { reason: "AccessDenied".into() },
            BucketState::Unreachable { reason: "timeout".into() },
            BucketState::Usable { region: Some("us-east-1".into()) },
        ] {
            let refused = gate_on_bucket(plan(), b, &status, "ap-south-1");
            assert_eq!(refused.action, HealAction::Refuse, "{status:?}");
            assert_eq!(refused.after, refused.before);
            assert!(refused.reason.contains(b));
        }
        // Only heals are gated.
        let unchanged = plan_project(&project(CacheSetting::s3(DESIRED)), &policy());
        assert_eq!(gate_on_bucket(unchanged, b, &BucketState::Missing, "ap-south-1").action, HealAction::NoChange);
    }

    #[test]
    fn advice_for_empty_caches_and_docker_layers() {
        let mut p = project(CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));
        p.buildspec = Some("version: 0.2\nphases:\n  build:\n    commands:\n      - docker build -t tts .\n".into());
        let plan = plan_project(&p, &policy());
        assert!(plan.advice.iter().any(|a| a.contains("will store nothing")), "{:?}", plan.advice);
        assert!(plan.advice.iter().any(|a| a.contains("Docker layers")), "{:?}", plan.advice);
        assert!(plan.advice.iter().any(|a| a.contains("s3:PutObject")), "{:?}", plan.advice);

        let mut plain = project(CacheSetting::none());
        plain.privileged_mode = false;
        plain.buildspec = Some("version: 0.2\ncache:\n  paths:\n    - /root/.cargo/**/*\nphases:\n  build:\n    commands:\n      - cargo build\n".into());
        let plan = plan_project(&plain, &policy());
        assert!(!plan.advice.iter().any(|a| a.contains("store nothing") || a.contains("Docker")), "{:?}", plan.advice);
    }
}
