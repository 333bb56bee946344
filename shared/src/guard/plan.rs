//! The heal plan: a pure decision over a project snapshot and the policy. Plain data, so dry runs
//! can print it and tests can assert it. Facts that cost an AWS call (the bucket, the service
//! role's access, who else uses a location, the fleet) are applied afterwards by the gates in
//! `gates.rs` and `access.rs`, each a pure function of the plan and the fact.

use super::buildspec::{self, BuildspecSource};
use crate::config::CacheLayout;
use crate::filter::ProjectFilter;
use crate::project::{CACHE_LOCAL, CACHE_S3, CacheSetting, ProjectSnapshot};
use serde::Serialize;

/// What the guard decided for one project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealAction {
    /// The cache is already where it should be (or a custom S3 location is kept on purpose).
    NoChange,
    /// Switch the cache to S3 at the managed location.
    Heal,
    /// LOCAL (or no cache) is right for this project (reserved-capacity fleet, Docker server):
    /// left as it is, reported.
    Keep,
    /// Out of scope: opted out by tag, excluded by pattern, or not ours to touch.
    Skip,
    /// A heal is due but would break builds (the bucket, the service role) or AWS refused it.
    Refuse,
}

/// Why a heal was refused: names the notice and keys its once-a-day marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalCause {
    /// The cache bucket is missing, forbidden or in another region.
    Bucket,
    /// The project's service role may not use the cache location.
    RoleAccess,
    /// The service role's access could not be checked.
    AccessUnverified,
    /// AWS refused a call for this project for good (AccessDenied, InvalidInput, NotFound).
    AwsRefused,
    /// The location holds data that is not the project's cache (`look`).
    OtherData,
    /// Healed GUARD_HEAL_LOOP_HEALS times within GUARD_HEAL_LOOP_DAYS and set back each time.
    HealLoop,
    /// A tool deploys the project and GUARD_OWNED_PROJECTS=tell leaves the change to its source.
    Owned,
}

impl RefusalCause {
    pub const ALL: [RefusalCause; 7] = [
        RefusalCause::Bucket,
        RefusalCause::RoleAccess,
        RefusalCause::AccessUnverified,
        RefusalCause::AwsRefused,
        RefusalCause::OtherData,
        RefusalCause::HealLoop,
        RefusalCause::Owned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RefusalCause::Bucket => "bucket",
            RefusalCause::RoleAccess => "role-access",
            RefusalCause::AccessUnverified => "access-unverified",
            RefusalCause::AwsRefused => "aws-refused",
            RefusalCause::OtherData => "other-data",
            RefusalCause::HealLoop => "heal-loop",
            RefusalCause::Owned => "owned",
        }
    }

    /// The end of the notice subject: "cache-guard did not heal <project>: <this>".
    pub fn headline(self) -> &'static str {
        match self {
            RefusalCause::Bucket => "cache bucket unusable",
            RefusalCause::RoleAccess => "service role cannot use the cache",
            RefusalCause::AccessUnverified => "cache access not verified",
            RefusalCause::AwsRefused => "AWS refused the change",
            RefusalCause::OtherData => "the cache location holds other data",
            RefusalCause::HealLoop => "healed again and again, set back each time",
            RefusalCause::Owned => "change the cache at its source",
        }
    }
}

/// Why the guard leaves a project's cache as it is, when it is not on the managed S3 location:
/// what the audit calls the "leave" reasons.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "because", rename_all = "snake_case")]
pub enum Leave {
    /// PROJECT_INCLUDE / PROJECT_EXCLUDE leave it out.
    OutOfScope,
    /// Opted out by the ignore tag (`tag` is `key=value`).
    OptedOut { tag: String },
    /// Builds on a reserved-capacity fleet, whose hosts keep a LOCAL cache.
    Fleet { fleet_arn: String },
    /// Builds with a Docker server, where Docker layers persist.
    DockerServer,
    /// A custom S3 location shared through a `cacheNamespace` or with other projects: never moved.
    SharedLocation {
        #[serde(skip_serializing_if = "Option::is_none")]
        namespace: Option<String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        others: Vec<String>,
    },
    /// A custom S3 location, kept because GUARD_RELOCATE_CUSTOM_S3 is off.
    CustomLocation,
}

impl Leave {
    /// A few words for a table: "fleet", "opted out", ...
    pub fn label(&self) -> &'static str {
        match self {
            Leave::OutOfScope => "out of scope",
            Leave::OptedOut { .. } => "opted out",
            Leave::Fleet { .. } => "fleet",
            Leave::DockerServer => "Docker server",
            Leave::SharedLocation { .. } => "shared location",
            Leave::CustomLocation => "custom location",
        }
    }
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
    /// Worth a notice although nothing changes (a fleet whose overflow builds lose the cache).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refusal: Option<RefusalCause>,
    /// Why the cache is left as it is although it is not at the managed location.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leave: Option<Leave>,
}

impl HealPlan {
    /// A heal that moves a project already on S3 elsewhere (GUARD_RELOCATE_CUSTOM_S3).
    pub fn is_relocation(&self) -> bool {
        self.action == HealAction::Heal && self.before.is_s3() && self.before.s3_bucket().is_some()
    }
}

/// What HeadBucket said about the cache bucket, as far as a heal depends on it.
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
    /// S3 answered 301: the bucket is in another region (`region`, when S3 named it).
    OtherRegion {
        region: Option<String>,
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
    /// A policy with the defaults (per-project prefixes at the bucket root, the default opt-out
    /// tag, every project in scope): unit tests.
    #[cfg(test)]
    pub(crate) fn for_tests(bucket: &str) -> Self {
        GuardPolicy {
            bucket: bucket.into(),
            layout: crate::config::CacheLayout { bucket: None, key_prefix: String::new(), per_project_prefix: true },
            projects: crate::filter::ProjectFilter::default(),
            ignore_tag: "cache-sentinel:ignore".into(),
            relocate_custom_s3: false,
        }
    }

    pub fn desired_cache(&self, project: &str) -> CacheSetting {
        CacheSetting::s3(self.layout.location(&self.bucket, project))
    }
}

/// Decides what to do with one project from its own settings and the policy.
pub fn plan_project(project: &ProjectSnapshot, policy: &GuardPolicy) -> HealPlan {
    let before = project.cache.clone();
    let keep = |action: HealAction, reason: String, leave: Option<Leave>| HealPlan {
        project: project.name.clone(),
        action,
        before: before.clone(),
        after: before.clone(),
        reason,
        advice: vec![],
        warnings: vec![],
        refusal: None,
        leave,
    };

    if let Err(why) = policy.projects.check(&project.name) {
        return keep(HealAction::Skip, format!("out of scope: {why}"), Some(Leave::OutOfScope));
    }
    if let Some(value) = project.tag(&policy.ignore_tag)
        && value.trim().eq_ignore_ascii_case("true")
    {
        let tag = format!("{}={value}", policy.ignore_tag);
        return keep(HealAction::Skip, format!("opted out by tag {tag}"), Some(Leave::OptedOut { tag }));
    }

    let on_s3 = before.is_s3() && before.s3_bucket().is_some();
    if !on_s3 && let Some((reason, advice, leave)) = local_is_right(project) {
        let mut plan = keep(HealAction::Keep, reason, Some(leave));
        plan.advice = advice;
        return plan;
    }

    // A heal never drops the project's cacheNamespace.
    let desired = policy.desired_cache(&project.name).with_namespace(before.namespace.clone());
    if on_s3 {
        if before == desired {
            let mut plan =
                keep(HealAction::NoChange, format!("already on the S3 cache at {}", location(&desired)), None);
            plan.advice = cache_content_advice(project, &before);
            return plan;
        }
        let shared = before.namespace.as_deref().map(|n| format!(" shared through cacheNamespace {n}"));
        if !policy.relocate_custom_s3 || shared.is_some() {
            let (why, leave) = match &shared {
                Some(shared) => (
                    format!("it is a cache{shared}: a shared location is never relocated"),
                    Leave::SharedLocation { namespace: before.namespace.clone(), others: vec![] },
                ),
                None => ("set GUARD_RELOCATE_CUSTOM_S3=true to move it".to_owned(), Leave::CustomLocation),
            };
            let mut plan = keep(
                HealAction::NoChange,
                format!(
                    "on a custom S3 cache at {}, kept (the managed location would be {}; {why})",
                    location(&before),
                    location(&desired)
                ),
                Some(leave),
            );
            plan.advice = cache_content_advice(project, &before);
            return plan;
        }
    }

    let never_local = local_never_works(project);
    let reason = match before.cache_type.as_str() {
        CACHE_LOCAL => format!(
            "LOCAL cache ({}) {}",
            if before.modes.is_empty() { "no modes".to_owned() } else { before.modes.join(", ") },
            match never_local {
                Some(why) => format!("never works for this project ({why})"),
                None => "lives on a single build host and is lost when CodeBuild uses another host".to_owned(),
            }
        ),
        CACHE_S3 if before.s3_bucket().is_none() => "S3 cache without a location".to_owned(),
        CACHE_S3 => format!(
            "custom S3 cache at {} moved to the managed location (GUARD_RELOCATE_CUSTOM_S3=true)",
            location(&before)
        ),
        "NO_CACHE" => "no cache configured: every build starts from scratch".to_owned(),
        other => format!("unknown cache type {other}"),
    };
    let mut advice = cache_content_advice(project, &desired);
    if project.vpc {
        advice.push("the project builds in a VPC: its subnets must reach S3 (a gateway VPC endpoint for S3 in their route tables, or a NAT gateway), or the cache can be neither downloaded nor uploaded".to_owned());
    }
    HealPlan {
        project: project.name.clone(),
        action: HealAction::Heal,
        before,
        after: desired,
        reason: format!("{reason}; switching to the S3 cache"),
        advice,
        warnings: vec![],
        refusal: None,
        leave: None,
    }
}

#[cfg(test)]
impl HealPlan {
    /// A heal of `project` from `before` to `b/tts`: the plan the gates' and notices' tests start from.
    pub(crate) fn heal_for_tests(project: &str, before: CacheSetting) -> HealPlan {
        HealPlan {
            project: project.into(),
            action: HealAction::Heal,
            before,
            after: CacheSetting::s3("b/tts"),
            reason: "LOCAL".into(),
            advice: vec![],
            warnings: vec![],
            refusal: None,
            leave: None,
        }
    }
}

/// Where LOCAL caching is the right cache and the guard leaves the project alone: a reserved-
/// capacity fleet (its hosts keep the local cache; AWS's fleet caching sample uses LOCAL) and a
/// Docker server (layers persist on the server).
fn local_is_right(project: &ProjectSnapshot) -> Option<(String, Vec<String>, Leave)> {
    let (what, on_it, leave) = if let Some(fleet) = &project.fleet_arn {
        (
            format!("builds on the reserved-capacity fleet {fleet}"),
            "the fleet's hosts keep it between builds",
            Leave::Fleet { fleet_arn: fleet.clone() },
        )
    } else if project.docker_server {
        ("builds with a Docker server".to_owned(), "Docker layers persist on the Docker server", Leave::DockerServer)
    } else {
        return None;
    };
    let cache = &project.cache;
    let mut advice = Vec::new();
    if cache.cache_type != CACHE_LOCAL {
        advice.push(format!(
            "the project has {}: LOCAL caching works here ({on_it}); consider type LOCAL with LOCAL_DOCKER_LAYER_CACHE, LOCAL_SOURCE_CACHE and LOCAL_CUSTOM_CACHE",
            cache.cache_type
        ));
    }
    Some((
        format!("{} and {what}, where LOCAL caching is the right cache ({on_it}): not switched to S3", cache),
        advice,
        leave,
    ))
}

/// Why LOCAL caching can never work for this project, when it cannot.
pub fn local_never_works(project: &ProjectSnapshot) -> Option<&'static str> {
    if project.vpc {
        Some("it builds in a VPC")
    } else if project.environment_type.as_deref() == Some("LINUX_GPU_CONTAINER") {
        Some("GPU environments have no local cache")
    } else if project.compute_type.as_deref() == Some("BUILD_GENERAL1_2XLARGE") {
        Some("BUILD_GENERAL1_2XLARGE has no local cache")
    } else {
        None
    }
}

pub fn location(cache: &CacheSetting) -> &str {
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
        GuardPolicy::for_tests("codebuild-cache-123456789012-ap-south-1")
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
        assert_eq!(kept.leave, Some(Leave::CustomLocation));
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
        let plan = plan_project(&tagged, &policy());
        assert_eq!(plan.action, HealAction::Skip);
        assert_eq!(plan.leave, Some(Leave::OptedOut { tag: "cache-sentinel:ignore=TRUE".into() }));
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
    fn advice_for_empty_caches_and_docker_layers() {
        let mut p = project(CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));
        p.buildspec = Some("version: 0.2\nphases:\n  build:\n    commands:\n      - docker build -t tts .\n".into());
        let plan = plan_project(&p, &policy());
        assert!(plan.advice.iter().any(|a| a.contains("will store nothing")), "{:?}", plan.advice);
        assert!(plan.advice.iter().any(|a| a.contains("Docker layers")), "{:?}", plan.advice);

        let mut plain = project(CacheSetting::none());
        plain.privileged_mode = false;
        plain.buildspec = Some("version: 0.2\ncache:\n  paths:\n    - /root/.cargo/**/*\nphases:\n  build:\n    commands:\n      - cargo build\n".into());
        let plan = plan_project(&plain, &policy());
        assert!(!plan.advice.iter().any(|a| a.contains("store nothing") || a.contains("Docker")), "{:?}", plan.advice);
    }

    #[test]
    fn fleets_and_docker_servers_keep_local() {
        let mut fleet = project(CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));
        fleet.fleet_arn = Some("arn:aws:codebuild:ap-south-1:123456789012:fleet/gpu:1".into());
        let plan = plan_project(&fleet, &policy());
        assert_eq!(plan.action, HealAction::Keep, "{plan:?}");
        assert_eq!(
            plan.leave,
            Some(Leave::Fleet { fleet_arn: "arn:aws:codebuild:ap-south-1:123456789012:fleet/gpu:1".into() })
        );
        assert_eq!(plan.after, plan.before);
        assert!(plan.reason.contains("reserved-capacity fleet"), "{}", plan.reason);
        fleet.cache = CacheSetting::none();
        let plan = plan_project(&fleet, &policy());
        assert_eq!(plan.action, HealAction::Keep);
        assert!(plan.advice[0].contains("consider type LOCAL"), "{:?}", plan.advice);
        // On S3 already: the usual rules.
        fleet.cache = CacheSetting::s3(DESIRED);
        assert_eq!(plan_project(&fleet, &policy()).action, HealAction::NoChange);

        let mut server = project(CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));
        server.docker_server = true;
        let plan = plan_project(&server, &policy());
        assert_eq!((plan.action, plan.leave), (HealAction::Keep, Some(Leave::DockerServer)));
        assert!(plan.reason.contains("Docker server"), "{}", plan.reason);
    }

    #[test]
    fn where_local_never_works_the_heal_says_so() {
        for (setup, why) in [
            (Box::new(|p: &mut ProjectSnapshot| p.vpc = true) as Box<dyn Fn(&mut ProjectSnapshot)>, "VPC"),
            (Box::new(|p: &mut ProjectSnapshot| p.environment_type = Some("LINUX_GPU_CONTAINER".into())), "GPU"),
            (Box::new(|p: &mut ProjectSnapshot| p.compute_type = Some("BUILD_GENERAL1_2XLARGE".into())), "2XLARGE"),
        ] {
            let mut p = project(CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));
            setup(&mut p);
            let plan = plan_project(&p, &policy());
            assert_eq!(plan.action, HealAction::Heal);
            assert!(plan.reason.contains("never works") && plan.reason.contains(why), "{}", plan.reason);
        }
        let mut p = project(CacheSetting::local(&["LOCAL_SOURCE_CACHE"]));
        p.vpc = true;
        assert!(plan_project(&p, &policy()).advice.iter().any(|a| a.contains("gateway VPC endpoint")));
    }

    #[test]
    fn namespace_is_carried_and_a_shared_location_is_never_relocated() {
        let mut cache = CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]);
        cache.namespace = Some("team-a".into());
        let plan = plan_project(&project(cache), &policy());
        assert_eq!(plan.after, CacheSetting::s3(DESIRED).with_namespace(Some("team-a".into())));

        let mut p = policy();
        p.relocate_custom_s3 = true;
        let shared = CacheSetting::s3("other-bucket/team").with_namespace(Some("team-a".into()));
        let plan = plan_project(&project(shared.clone()), &p);
        assert_eq!(plan.action, HealAction::NoChange);
        assert_eq!(plan.after, shared);
        assert_eq!(plan.leave, Some(Leave::SharedLocation { namespace: Some("team-a".into()), others: vec![] }));
        assert!(plan.reason.contains("never relocated"), "{}", plan.reason);
        // Already at the managed location with a namespace: nothing to do.
        let managed = CacheSetting::s3(DESIRED).with_namespace(Some("team-a".into()));
        assert_eq!(plan_project(&project(managed), &p).action, HealAction::NoChange);
    }
}
