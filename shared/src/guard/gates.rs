//! Facts that cost an AWS call, applied to a plan: the cache bucket (HeadBucket), who else uses a
//! location (every project's cache), and a fleet's overflow behaviour (BatchGetFleets). Each gate
//! is a pure function of the plan and the fact.

use super::plan::{BucketState, HealAction, HealPlan, Leave, RefusalCause, location};

/// Turns a heal into a refusal when the bucket cannot hold the cache: switching to a bucket that
/// does not exist, that we cannot reach, or that is in another region would break every build.
pub fn gate_on_bucket(plan: HealPlan, bucket: &str, status: &BucketState, project_region: &str) -> HealPlan {
    if plan.action != HealAction::Heal {
        return plan;
    }
    let refusal = match status {
        BucketState::Usable { region: Some(region) } | BucketState::OtherRegion { region: Some(region) }
            if region != project_region =>
        {
            Some(other_region(bucket, region, project_region))
        }
        BucketState::OtherRegion { region } => Some(other_region(
            bucket,
            region.as_deref().unwrap_or("another region (S3 answered 301 without naming it)"),
            project_region,
        )),
        BucketState::Usable { .. } => None,
        BucketState::Missing => {
            Some(format!("cache bucket {bucket} does not exist; create it (the SAM template does) or set CACHE_BUCKET"))
        }
        BucketState::Forbidden { reason } => Some(format!("cache bucket {bucket} is not accessible: {reason}")),
    };
    match refusal {
        None => plan,
        Some(reason) => HealPlan {
            action: HealAction::Refuse,
            after: plan.before.clone(),
            reason: format!("not switched, builds would break: {reason}"),
            refusal: Some(RefusalCause::Bucket),
            ..plan
        },
    }
}

/// The refusal for a bucket S3 places in another region than the project's.
pub fn other_region(bucket: &str, region: &str, project_region: &str) -> String {
    format!(
        "cache bucket {bucket} is in {region} but the project is in {project_region}; CodeBuild needs the S3 cache bucket in the project's region: create one in {project_region} (the SAM template does) or set CACHE_BUCKET to one there"
    )
}

/// Keeps a relocation from moving a location other projects use too: moving one of them would
/// split a cache they share. `others` are the other projects whose cache is at the same location.
pub fn gate_on_sharing(plan: HealPlan, others: &[String]) -> HealPlan {
    if !plan.is_relocation() || others.is_empty() {
        return plan;
    }
    let mut names: Vec<&str> = others.iter().take(5).map(String::as_str).collect();
    if others.len() > names.len() {
        names.push("...");
    }
    HealPlan {
        action: HealAction::NoChange,
        after: plan.before.clone(),
        reason: format!(
            "on a custom S3 cache at {} shared with {} other project(s) ({}): a shared location is never relocated",
            location(&plan.before),
            others.len(),
            names.join(", ")
        ),
        leave: Some(Leave::SharedLocation { namespace: plan.before.namespace.clone(), others: others.to_vec() }),
        ..plan
    }
}

/// What BatchGetFleets said about the fleet a kept project builds on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FleetOverflow {
    /// `overflowBehavior: ON_DEMAND`: builds beyond the fleet's capacity run on on-demand hosts.
    OnDemand,
    /// `QUEUE` (or unset): builds wait for the fleet's hosts.
    Queue,
    /// The fleet could not be read (deleted, not permitted, an error).
    Unknown { reason: String },
}

/// For a project kept on LOCAL because of its fleet: a warning when overflow builds go to
/// on-demand hosts, which do not have the fleet's local cache.
pub fn note_fleet(mut plan: HealPlan, fleet: &str, overflow: &FleetOverflow) -> HealPlan {
    if plan.action != HealAction::Keep {
        return plan;
    }
    match overflow {
        FleetOverflow::OnDemand => plan.warnings.push(format!(
            "the fleet {fleet} has overflowBehavior ON_DEMAND: builds beyond its capacity run on on-demand hosts without the fleet's LOCAL cache, and start cold; set overflowBehavior to QUEUE, or give the project an S3 cache for those builds"
        )),
        FleetOverflow::Queue => {}
        FleetOverflow::Unknown { reason } => {
            plan.advice.push(format!("the fleet {fleet} could not be read to check its overflowBehavior: {reason}"))
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::CacheSetting;

    fn heal(before: CacheSetting) -> HealPlan {
        HealPlan::heal_for_tests("tts", before)
    }

    #[test]
    fn bucket_problems_turn_heals_into_refusals() {
        let plan = || heal(CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));
        let b = "codebuild-cache-123456789012-ap-south-1";
        let ok = gate_on_bucket(plan(), b, &BucketState::Usable { region: Some("ap-south-1".into()) }, "ap-south-1");
        assert_eq!(ok.action, HealAction::Heal);
        let unknown_region = gate_on_bucket(plan(), b, &BucketState::Usable { region: None }, "ap-south-1");
        assert_eq!(unknown_region.action, HealAction::Heal);
        for status in [
            BucketState::Missing,
            BucketState::Forbidden { reason: "AccessDenied".into() },
            BucketState::Usable { region: Some("us-east-1".into()) },
        ] {
            let refused = gate_on_bucket(plan(), b, &status, "ap-south-1");
            assert_eq!(refused.action, HealAction::Refuse, "{status:?}");
            assert_eq!(refused.refusal, Some(RefusalCause::Bucket));
            assert_eq!(refused.after, refused.before);
            assert!(refused.reason.contains(b));
        }
        // S3's 301: the region it names, or that it is another one.
        let elsewhere =
            gate_on_bucket(plan(), b, &BucketState::OtherRegion { region: Some("eu-west-1".into()) }, "ap-south-1");
        assert_eq!(elsewhere.action, HealAction::Refuse);
        assert!(elsewhere.reason.contains("is in eu-west-1 but the project is in ap-south-1"), "{}", elsewhere.reason);
        let unnamed = gate_on_bucket(plan(), b, &BucketState::OtherRegion { region: None }, "ap-south-1");
        assert_eq!(unnamed.action, HealAction::Refuse);
        assert!(unnamed.reason.contains("another region"), "{}", unnamed.reason);
        // Only heals are gated.
        let mut unchanged = plan();
        unchanged.action = HealAction::NoChange;
        assert_eq!(gate_on_bucket(unchanged, b, &BucketState::Missing, "ap-south-1").action, HealAction::NoChange);
    }

    #[test]
    fn a_shared_location_is_not_relocated() {
        let relocation = heal(CacheSetting::s3("team-bucket/shared"));
        let kept = gate_on_sharing(relocation.clone(), &["web".into(), "api".into()]);
        assert_eq!(kept.action, HealAction::NoChange);
        assert_eq!(kept.after, kept.before);
        assert!(kept.reason.contains("shared with 2 other project(s) (web, api)"), "{}", kept.reason);
        let others = vec!["web".to_owned(), "api".to_owned()];
        assert_eq!(kept.leave, Some(Leave::SharedLocation { namespace: None, others }));
        assert_eq!(gate_on_sharing(relocation.clone(), &[]), relocation);
        // A heal from LOCAL is not a relocation: other projects on some location do not matter.
        let local = heal(CacheSetting::local(&["LOCAL_SOURCE_CACHE"]));
        assert_eq!(gate_on_sharing(local.clone(), &["web".into()]), local);
    }

    #[test]
    fn on_demand_overflow_is_a_warning() {
        let mut kept = heal(CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));
        kept.action = HealAction::Keep;
        let warned = note_fleet(kept.clone(), "arn:fleet", &FleetOverflow::OnDemand);
        assert_eq!(warned.warnings.len(), 1);
        assert!(warned.warnings[0].contains("ON_DEMAND"));
        assert_eq!(note_fleet(kept.clone(), "arn:fleet", &FleetOverflow::Queue), kept);
        let unknown = note_fleet(kept, "arn:fleet", &FleetOverflow::Unknown { reason: "gone".into() });
        assert!(unknown.warnings.is_empty() && unknown.advice.len() == 1);
    }
}
