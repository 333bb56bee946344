//! Whether a project's service role may use a cache location, judged from IAM's policy simulator,
//! and the exact policy statement that grants what is missing.
//!
//! What CodeBuild needs, from AWS's documentation: the service role reads and writes the cache
//! objects (`s3:GetObject`, `s3:PutObject` on `arn:aws:s3:::<bucket>/<prefix>/*`); the service
//! role policy AWS documents also grants `s3:GetBucketAcl` and `s3:GetBucketLocation` (statement
//! "S3BucketIdentity"), which CodeBuild uses to check the bucket's owner. `s3:ListBucket` is not
//! documented for the cache and is not checked.

use super::kms;
use super::plan::{HealAction, HealPlan, RefusalCause};
use crate::aws::iam::{Decision, Simulated};

/// What the access check cannot see, said wherever its answer is shown (heal notices and reports,
/// the audit, docs/guard.md): the simulator evaluates the role's own policies only.
pub const NOT_SEEN: &str = "The access check asks IAM's policy simulator about the service role's own policies (inline, attached, its permissions boundary; service control policies only as far as the simulator applies them). It cannot see the bucket policy (the simulator evaluates a resource policy for IAM users only, not roles), the KMS key policy, VPC endpoint policies, resource control policies or session policies: a Deny in one of them still breaks the cache, and the monitor's evidence then shows it.";

/// Without these on the cache objects, builds cannot read or write the cache: a heal is refused.
pub const OBJECT_ACTIONS: [&str; 2] = ["s3:GetObject", "s3:PutObject"];
/// AWS's documented service role policy grants these on the bucket; missing ones are advice.
pub const BUCKET_ACTIONS: [&str; 2] = ["s3:GetBucketAcl", "s3:GetBucketLocation"];

/// The ARNs a cache location covers: its objects and its bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheResources {
    /// `arn:<partition>:s3:::<bucket>/<prefix>/*` (or `<bucket>/*` for a bare bucket).
    pub objects: String,
    pub bucket: String,
}

impl CacheResources {
    /// For an S3 cache location (`bucket` or `bucket/prefix`), in the partition of the role's ARN.
    pub fn of(location: &str, role_arn: &str) -> Self {
        let partition = role_arn.split(':').nth(1).filter(|p| p.starts_with("aws")).unwrap_or("aws");
        let location = location.trim_end_matches('/');
        let bucket = location.split('/').next().unwrap_or(location);
        CacheResources {
            objects: format!("arn:{partition}:s3:::{location}/*"),
            bucket: format!("arn:{partition}:s3:::{bucket}"),
        }
    }
}

/// One action the simulator did not allow.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Denial {
    pub action: String,
    pub resource: String,
    /// Denied by a Deny statement (adding an Allow does not help), not just not allowed.
    pub explicit: bool,
    /// The policies with the denying statements.
    pub policies: Vec<String>,
    /// Condition keys the simulation had no value for: the answer may differ at build time.
    pub missing_context: Vec<String>,
}

/// What the service role may do with the cache location.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "access", rename_all = "snake_case")]
pub enum RoleAccess {
    /// The cache objects may be read and written (and, for SSE-KMS with a customer managed key,
    /// the key used through S3); `bucket_denied` lists the documented bucket calls that are not
    /// allowed (advice, not a reason to refuse); `key_unchecked` says why the bucket's KMS key
    /// could not be checked, when it could not.
    Granted {
        bucket_denied: Vec<Denial>,
        #[serde(skip_serializing_if = "Option::is_none")]
        key_unchecked: Option<String>,
    },
    /// Reading or writing the cache objects is not allowed.
    Denied { denied: Vec<Denial> },
    /// The simulation could not be run (denied to the guard, no such role, invalid ARN).
    Unverifiable { reason: String },
    /// The project names no service role.
    NoServiceRole,
}

/// Judges the simulator's answers for the object and the bucket actions.
pub fn judge(objects: &[Simulated], bucket: &[Simulated]) -> RoleAccess {
    let denied = denials(objects, &OBJECT_ACTIONS);
    if denied.is_empty() {
        RoleAccess::Granted { bucket_denied: denials(bucket, &BUCKET_ACTIONS), key_unchecked: None }
    } else {
        RoleAccess::Denied { denied }
    }
}

/// Judges the simulator's answers for the bucket's KMS key on top of a granted access.
pub fn judge_key(granted: RoleAccess, key: &[Simulated]) -> RoleAccess {
    let denied = denials(key, &kms::KMS_ACTIONS);
    if denied.is_empty() { granted } else { RoleAccess::Denied { denied } }
}

/// The wanted actions the simulator did not allow (an action it did not answer for is not known
/// to be allowed).
pub fn denials(results: &[Simulated], wanted: &[&str]) -> Vec<Denial> {
    {
        wanted
            .iter()
            .map(|action| {
                results.iter().find(|r| r.action.eq_ignore_ascii_case(action)).map_or_else(
                    // An action IAM did not answer for is not known to be allowed.
                    || Denial {
                        action: (*action).to_owned(),
                        resource: String::new(),
                        explicit: false,
                        policies: vec![],
                        missing_context: vec![],
                    },
                    |r| Denial {
                        action: (*action).to_owned(),
                        resource: r.resource.clone(),
                        explicit: r.decision == Decision::ExplicitDeny,
                        policies: r.matched_policies.clone(),
                        missing_context: r.missing_context.clone(),
                    },
                )
            })
            .filter(|d| {
                !results.iter().any(|r| r.action.eq_ignore_ascii_case(&d.action) && r.decision == Decision::Allowed)
            })
            .collect()
    }
}

/// The IAM policy statements (JSON, as pasted into the role's policy) that allow what `denied`
/// lacks: one for the cache objects, one for the bucket, one for the bucket's KMS key, as needed.
pub fn statements_to_add(denied: &[Denial], resources: &CacheResources) -> String {
    let is_object = |d: &&Denial| OBJECT_ACTIONS.iter().any(|a| a.eq_ignore_ascii_case(&d.action));
    let (keys, denied): (Vec<&Denial>, Vec<&Denial>) = denied.iter().partition(|d| is_kms(d));
    let mut statements = Vec::new();
    for (sid, resource, objects) in
        [("CodeBuildCacheObjects", &resources.objects, true), ("CodeBuildCacheBucket", &resources.bucket, false)]
    {
        let actions: Vec<String> =
            denied.iter().filter(|d| is_object(d) == objects).map(|d| json_string(&d.action)).collect();
        if !actions.is_empty() {
            statements.push(format!(
                "{{\n  \"Sid\": \"{sid}\",\n  \"Effect\": \"Allow\",\n  \"Action\": [{}],\n  \"Resource\": {}\n}}",
                actions.join(", "),
                json_string(resource)
            ));
        }
    }
    if let Some(first) = keys.first() {
        let actions: Vec<String> = keys.iter().map(|d| d.action.clone()).collect();
        statements.push(kms::statement(&actions, &first.resource));
    }
    statements.join(",\n")
}

/// A denial of a KMS action (on the bucket's key), not of an S3 one.
fn is_kms(d: &Denial) -> bool {
    d.action.to_ascii_lowercase().starts_with("kms:")
}

fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_owned()).to_string()
}

/// Turns a heal into a refusal when the service role cannot use the new location, and adds what
/// to grant. Only heals are gated.
pub fn gate_on_access(plan: HealPlan, role: Option<&str>, access: &RoleAccess) -> HealPlan {
    if plan.action != HealAction::Heal {
        return plan;
    }
    let location = plan.after.location.clone().unwrap_or_default();
    let role_name = role.unwrap_or("(none)");
    let resources = CacheResources::of(&location, role_name);
    match access {
        RoleAccess::Granted { bucket_denied, key_unchecked } => {
            let mut plan = plan;
            plan.warnings.extend(key_unchecked.clone());
            if bucket_denied.is_empty() {
                return plan;
            }
            plan.advice.push(format!(
                "the service role {role_name} may read and write the cache, but lacks {} on {}, which AWS's documented CodeBuild service role policy grants (CodeBuild checks the bucket's owner with them); add:\n{}",
                actions(bucket_denied),
                resources.bucket,
                statements_to_add(bucket_denied, &resources)
            ));
            plan
        }
        RoleAccess::Denied { denied } => {
            let why = denied_why(role_name, &location, denied, &resources);
            let mut plan = refuse(plan, RefusalCause::RoleAccess, why);
            plan.advice.push(format!(
                "add this statement to the policy of {role_name}, then the next build or sweep switches the project:\n{}",
                statements_to_add(denied, &resources)
            ));
            plan
        }
        RoleAccess::Unverifiable { reason } => {
            let mut plan = refuse(
                plan,
                RefusalCause::AccessUnverified,
                format!(
                    "could not verify that the service role {role_name} may use the cache at {location} ({reason}); the guard switches only projects whose role it could check"
                ),
            );
            plan.advice.push(format!(
                "let the guard's role call iam:SimulatePrincipalPolicy on {role_name} (the template allows it for this account's roles; an SCP or permissions boundary may deny it), and make sure the role grants:\n{}",
                statements_to_add(&all_object_actions(&resources), &resources)
            ));
            plan
        }
        RoleAccess::NoServiceRole => {
            refuse(plan, RefusalCause::RoleAccess, "the project has no service role to check".into())
        }
    }
}

/// "the service role R may not use the cache at L: s3:PutObject not allowed on ...", with the
/// denying policies and the condition keys the simulation could not evaluate.
fn denied_why(role_name: &str, location: &str, denied: &[Denial], resources: &CacheResources) -> String {
    let key = denied.iter().find(|d| is_kms(d)).map(|d| d.resource.as_str());
    let on = key.map_or_else(|| resources.objects.clone(), |k| format!("the cache bucket's KMS key {k} (SSE-KMS)"));
    let mut why = format!(
        "the service role {role_name} may not use the cache at {location}: {} {} on {on}",
        actions(denied),
        if denied.iter().any(|d| d.explicit) { "explicitly denied" } else { "not allowed" },
    );
    let denying: Vec<&str> =
        denied.iter().filter(|d| d.explicit).flat_map(|d| d.policies.iter().map(String::as_str)).collect();
    if !denying.is_empty() {
        why.push_str(&format!(" (Deny in {}: an Allow does not override it; narrow that Deny)", denying.join(", ")));
    }
    let mut context: Vec<&str> = denied.iter().flat_map(|d| d.missing_context.iter().map(String::as_str)).collect();
    context.dedup();
    if !context.is_empty() {
        why.push_str(&format!("; statements with conditions on {} could not be evaluated", context.join(", ")));
    }
    if key.is_some() {
        why.push_str("; the key policy must allow them too, which the simulator does not see");
    }
    why
}

/// For a cache a project already uses: why its role cannot use it, and the statement to add; None
/// when the role may (or when it could not be told).
pub fn problem_with_current(role: Option<&str>, location: &str, access: &RoleAccess) -> Option<(String, String)> {
    let RoleAccess::Denied { denied } = access else { return None };
    let role_name = role.unwrap_or("(none)");
    let resources = CacheResources::of(location, role_name);
    let advice = format!(
        "add this statement to the policy of {role_name}, or builds neither restore nor save the cache:\n{}",
        statements_to_add(denied, &resources)
    );
    Some((denied_why(role_name, location, denied, &resources), advice))
}

fn all_object_actions(resources: &CacheResources) -> Vec<Denial> {
    OBJECT_ACTIONS
        .iter()
        .map(|a| Denial {
            action: (*a).to_owned(),
            resource: resources.objects.clone(),
            explicit: false,
            policies: vec![],
            missing_context: vec![],
        })
        .collect()
}

fn actions(denied: &[Denial]) -> String {
    denied.iter().map(|d| d.action.as_str()).collect::<Vec<_>>().join(" and ")
}

fn refuse(plan: HealPlan, cause: RefusalCause, why: String) -> HealPlan {
    HealPlan {
        action: HealAction::Refuse,
        after: plan.before.clone(),
        reason: format!("not switched, builds would break: {why}"),
        refusal: Some(cause),
        ..plan
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::CacheSetting;

    fn sim(action: &str, resource: &str, decision: Decision, policies: &[&str]) -> Simulated {
        Simulated {
            action: action.into(),
            resource: resource.into(),
            decision,
            matched_policies: policies.iter().map(|p| (*p).to_owned()).collect(),
            missing_context: vec![],
        }
    }

    const ROLE: &str = "arn:aws:iam::123456789012:role/service-role/codebuild-tts";
    const OBJECTS: &str = "arn:aws:s3:::cache-bucket/tts/*";
    const BUCKET: &str = "arn:aws:s3:::cache-bucket";

    fn heal() -> HealPlan {
        HealPlan {
            project: "tts".into(),
            action: HealAction::Heal,
            before: CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]),
            after: CacheSetting::s3("cache-bucket/tts"),
            reason: "LOCAL".into(),
            advice: vec![],
            warnings: vec![],
            refusal: None,
            leave: None,
        }
    }

    #[test]
    fn resources_of_a_location_in_the_role_partition() {
        assert_eq!(
            CacheResources::of("cache-bucket/tts", ROLE),
            CacheResources { objects: OBJECTS.into(), bucket: BUCKET.into() }
        );
        let cn = CacheResources::of("b", "arn:aws-cn:iam::123456789012:role/r");
        assert_eq!((cn.objects.as_str(), cn.bucket.as_str()), ("arn:aws-cn:s3:::b/*", "arn:aws-cn:s3:::b"));
    }

    #[test]
    fn granted_heals_and_bucket_calls_are_advice() {
        let objects = [
            sim("s3:GetObject", OBJECTS, Decision::Allowed, &["cache"]),
            sim("s3:PutObject", OBJECTS, Decision::Allowed, &["cache"]),
        ];
        let bucket = [
            sim("s3:GetBucketAcl", BUCKET, Decision::Allowed, &["cache"]),
            sim("s3:GetBucketLocation", BUCKET, Decision::ImplicitDeny, &[]),
        ];
        let access = judge(&objects, &bucket);
        let plan = gate_on_access(heal(), Some(ROLE), &access);
        assert_eq!(plan.action, HealAction::Heal);
        assert_eq!(plan.advice.len(), 1);
        assert!(plan.advice[0].contains("\"s3:GetBucketLocation\""), "{}", plan.advice[0]);
        assert!(!plan.advice[0].contains("\"s3:GetBucketAcl\""), "{}", plan.advice[0]);
    }

    #[test]
    fn denied_refuses_with_the_exact_statement() {
        let objects = [
            sim("s3:GetObject", OBJECTS, Decision::Allowed, &["cache"]),
            sim("s3:PutObject", OBJECTS, Decision::ImplicitDeny, &[]),
        ];
        let plan = gate_on_access(heal(), Some(ROLE), &judge(&objects, &[]));
        assert_eq!(plan.action, HealAction::Refuse);
        assert_eq!(plan.refusal, Some(RefusalCause::RoleAccess));
        assert_eq!(plan.after, plan.before);
        assert!(plan.reason.contains("s3:PutObject not allowed on arn:aws:s3:::cache-bucket/tts/*"), "{}", plan.reason);
        let statement = "{\n  \"Sid\": \"CodeBuildCacheObjects\",\n  \"Effect\": \"Allow\",\n  \"Action\": [\"s3:PutObject\"],\n  \"Resource\": \"arn:aws:s3:::cache-bucket/tts/*\"\n}";
        assert!(plan.advice.last().unwrap().ends_with(statement), "{}", plan.advice.last().unwrap());
    }

    #[test]
    fn a_cache_in_use_that_the_role_may_not_write_is_a_problem_with_the_statement() {
        let objects = [
            sim("s3:GetObject", OBJECTS, Decision::Allowed, &["cache"]),
            sim("s3:PutObject", OBJECTS, Decision::ImplicitDeny, &[]),
        ];
        let (why, advice) = problem_with_current(Some(ROLE), "cache-bucket/tts", &judge(&objects, &[])).unwrap();
        assert!(why.contains("may not use the cache at cache-bucket/tts: s3:PutObject not allowed"), "{why}");
        assert!(
            advice.ends_with("\"Action\": [\"s3:PutObject\"],\n  \"Resource\": \"arn:aws:s3:::cache-bucket/tts/*\"\n}"),
            "{advice}"
        );
        let granted = RoleAccess::Granted { bucket_denied: vec![], key_unchecked: None };
        assert_eq!(problem_with_current(Some(ROLE), "cache-bucket/tts", &granted), None);
    }

    #[test]
    fn an_explicit_deny_names_its_policy() {
        let objects = [
            sim("s3:GetObject", OBJECTS, Decision::ExplicitDeny, &["no-cache"]),
            sim("s3:PutObject", OBJECTS, Decision::Allowed, &["cache"]),
        ];
        let plan = gate_on_access(heal(), Some(ROLE), &judge(&objects, &[]));
        assert_eq!(plan.action, HealAction::Refuse);
        assert!(
            plan.reason.contains("explicitly denied") && plan.reason.contains("Deny in no-cache"),
            "{}",
            plan.reason
        );
    }

    #[test]
    fn unverifiable_and_missing_answers_refuse() {
        let plan = gate_on_access(heal(), Some(ROLE), &RoleAccess::Unverifiable { reason: "AccessDenied".into() });
        assert_eq!((plan.action, plan.refusal), (HealAction::Refuse, Some(RefusalCause::AccessUnverified)));
        assert!(plan.advice[0].contains("iam:SimulatePrincipalPolicy"), "{}", plan.advice[0]);
        // IAM answered nothing for PutObject: not known to be allowed.
        let access = judge(&[sim("s3:GetObject", OBJECTS, Decision::Allowed, &["cache"])], &[]);
        assert!(
            matches!(access, RoleAccess::Denied { ref denied } if denied.len() == 1 && denied[0].action == "s3:PutObject")
        );
        // Only heals are gated.
        let mut kept = heal();
        kept.action = HealAction::NoChange;
        assert_eq!(gate_on_access(kept.clone(), Some(ROLE), &RoleAccess::NoServiceRole), kept);
    }
}
