//! template.yaml's IAM held to the code: each function's role allows only the calls its function
//! makes, and the cache bucket's KMS key is granted only where objects are touched, through S3.

use super::template_consistency::{GUARD, MONITOR, PRUNER, parameters, referenced_id, resolve, template};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// The AWS calls each function makes (plus logging, dead letters and the topic's key). The guard's
/// come from its code (shared/src/aws/*.rs: codebuild:ListProjects, BatchGetProjects,
/// UpdateProject, BatchGetFleets; iam:SimulatePrincipalPolicy; s3:HeadBucket, authorised by
/// s3:ListBucket; GetBucketEncryption, by s3:GetEncryptionConfiguration; its markers' s3:PutObject, GetObject and DeleteObject; sns:Publish). The
/// pruner's and monitor's are the calls their briefs name: update them with the code at merge.
fn allowed_actions_of(function: &str) -> BTreeSet<String> {
    let own: &[&str] = match function {
        GUARD => &[
            "codebuild:ListProjects",
            "codebuild:BatchGetProjects",
            "codebuild:UpdateProject",
            "codebuild:BatchGetFleets",
            "iam:SimulatePrincipalPolicy",
            "s3:ListBucket",
            "s3:GetEncryptionConfiguration",
            "s3:GetObject",
            "s3:PutObject",
            "s3:DeleteObject",
        ],
        // The pruner's: shared/src/aws/s3_objects.rs (ListObjectsV2 authorised by s3:ListBucket;
        // DeleteObjects and DeleteObject by s3:DeleteObject; GetBucketVersioning, GetBucketPolicy), s3_documents.rs and
        // s3_conditional.rs (state and lease: GetObject, PutObject), codebuild.rs (ListProjects,
        // BatchGetProjects; ListBuildsForProject and BatchGetBuilds for a shared location's
        // writers, pruner/writers.rs), sns.rs.
        PRUNER => &[
            "s3:ListBucket",
            "s3:GetBucketVersioning",
            "s3:GetBucketPolicy",
            "s3:DeleteObject",
            "s3:GetObject",
            "s3:PutObject",
            "codebuild:ListProjects",
            "codebuild:BatchGetProjects",
            "codebuild:ListBuildsForProject",
            "codebuild:BatchGetBuilds",
        ],
        // The monitor's digest: ListProjects with BatchGetProjects (digest/gather.rs).
        MONITOR => &[
            "codebuild:ListBuilds",
            "codebuild:ListProjects",
            "codebuild:BatchGetBuilds",
            "codebuild:ListBuildsForProject",
            "codebuild:BatchGetProjects",
            "codebuild:BatchGetBuildBatches",
            "s3:ListBucket",
            "s3:PutObject",
            "s3:DeleteObject",
            "logs:GetLogEvents",
        ],
        other => panic!("no action list for {other}"),
    };
    let every_function = [
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "sqs:SendMessage",
        "sns:Publish",
        "kms:GenerateDataKey*",
        "kms:Decrypt",
    ];
    own.iter().chain(every_function.iter()).map(|a| (*a).to_owned()).collect()
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

#[test]
fn every_role_allows_only_the_calls_its_function_makes() {
    // Actions that support no resource-level permissions, the only ones allowed on "*".
    let unscoped: BTreeSet<&str> = ["codebuild:ListProjects", "codebuild:ListBuilds"].into_iter().collect();
    let deployed = template(true);
    for function in [GUARD, PRUNER, MONITOR] {
        let role =
            referenced_id(&deployed["Resources"][function]["Properties"]["Role"]).expect("function role").to_owned();
        let role = &deployed["Resources"][role.as_str()];
        assert!(
            role["Properties"]["ManagedPolicyArns"].is_null(),
            "{function}: no managed policies (they grant more than needed)"
        );
        let mut allowed = BTreeSet::new();
        for policy in role["Properties"]["Policies"].as_array().expect("inline policies") {
            for statement in policy["PolicyDocument"]["Statement"].as_array().expect("statements") {
                if statement["Effect"] != "Allow" {
                    continue;
                }
                let actions = strings(&statement["Action"]);
                assert!(
                    statement["NotAction"].is_null() && statement["NotResource"].is_null(),
                    "{function}: no Not* in Allow"
                );
                if strings(&statement["Resource"]).iter().any(|r| r == "*") {
                    let wide: Vec<_> = actions.iter().filter(|a| !unscoped.contains(a.as_str())).collect();
                    assert!(wide.is_empty(), "{function}: {wide:?} allowed on every resource");
                }
                allowed.extend(actions);
            }
        }
        assert_eq!(allowed, allowed_actions_of(function), "{function}: allowed actions");
    }
}

/// An existing bucket encrypted with a customer managed KMS key: the roles that read or write
/// objects there (the guard's markers, the pruner's state and lease, the monitor's markers and
/// records) may use exactly that key, only through S3, and only when `CacheBucketKmsKeyArn` is given.
#[test]
fn the_cache_bucket_kms_key_is_granted_to_the_roles_that_touch_objects_and_only_through_s3() {
    let deployed = template(true);
    for (function, expected) in [(GUARD, true), (PRUNER, true), (MONITOR, true)] {
        let role = referenced_id(&deployed["Resources"][function]["Properties"]["Role"]).expect("role").to_owned();
        let mut grants = Vec::new();
        for policy in deployed["Resources"][role.as_str()]["Properties"]["Policies"].as_array().expect("policies") {
            for statement in policy["PolicyDocument"]["Statement"].as_array().expect("statements") {
                let Some(branches) = statement.get("Fn::If").and_then(Value::as_array) else { continue };
                if branches[0] == "HasCacheBucketKmsKey" {
                    assert_eq!(branches[2], json!({"Ref": "AWS::NoValue"}), "{function}: nothing without a key");
                    grants.push(branches[1].clone());
                }
            }
        }
        assert_eq!(grants.len(), usize::from(expected), "{function}: {grants:?}");
        for grant in grants {
            assert_eq!(grant["Effect"], "Allow");
            assert_eq!(grant["Action"], json!(["kms:Decrypt", "kms:GenerateDataKey"]), "{function}");
            assert_eq!(grant["Resource"], json!({"Ref": "CacheBucketKmsKeyArn"}), "{function}: that key only");
            let via = &grant["Condition"]["StringEquals"]["kms:ViaService"]["Fn::Sub"];
            assert_eq!(via, "s3.${AWS::Region}.amazonaws.com", "{function}: only through S3");
        }
    }
    let parameter = &deployed["Parameters"]["CacheBucketKmsKeyArn"];
    assert_eq!(parameter["Default"], "", "no key unless given");
    let pattern = parameter["AllowedPattern"].as_str().expect("pattern");
    assert!(pattern.contains(":key/"), "a key ARN, not an alias: {pattern}");
}

/// CacheKeyPrefix `auto` (the default): the stack's own bucket, which holds only cache, caches at
/// its root; an ExistingCacheBucket under `codebuild-cache/` (the prefix cache-guard's refusals
/// advise), away from its other folders. The functions' CACHE_KEY_PREFIX and the pruner's delete
/// grant follow the same value; an explicit value (even "") is taken as given.
#[test]
fn the_key_prefix_defaults_to_a_folder_of_its_own_in_an_existing_bucket() {
    let deployed = template(true);
    let env = &template(false)["Globals"]["Function"]["Environment"]["Variables"]["CACHE_KEY_PREFIX"];
    let role = referenced_id(&deployed["Resources"][PRUNER]["Properties"]["Role"]).expect("role").to_owned();
    let statements: Vec<&Value> = deployed["Resources"][role.as_str()]["Properties"]["Policies"]
        .as_array()
        .expect("policies")
        .iter()
        .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().expect("statements"))
        .collect();
    let delete = statements.iter().find(|s| s["Sid"] == "DeleteCacheObjects").expect("DeleteCacheObjects");
    let sub = delete["Resource"]["Fn::Sub"].as_array().expect("Fn::Sub with variables");
    assert_eq!(sub[0], "arn:${AWS::Partition}:s3:::${Bucket}/${KeyPrefix}*");
    let existing = cache_sentinel::config::EXISTING_BUCKET_KEY_PREFIX;
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[], ""),
        (&[("ExistingCacheBucket", "team-bucket")], existing),
        (&[("ExistingCacheBucket", "team-bucket"), ("CacheKeyPrefix", "")], ""),
        (&[("ExistingCacheBucket", "team-bucket"), ("CacheKeyPrefix", "ci/")], "ci/"),
        (&[("CacheKeyPrefix", "ci/")], "ci/"),
    ];
    for (overrides, expected) in cases {
        let params = parameters(&deployed, overrides);
        assert_eq!(resolve(&deployed, env, &params), json!(expected), "{overrides:?}");
        assert_eq!(resolve(&deployed, &sub[1]["KeyPrefix"], &params), json!(expected), "{overrides:?}");
    }
}

/// In the bucket the stack creates, only the functions' roles (and the optional StateWriterArn,
/// for people running `prune --apply`) may write or delete under `.cache-sentinel/`: the pruner's
/// state decides what it deletes, so a build role with `<bucket>/*` write must not forge it.
#[test]
fn only_the_functions_write_cache_sentinels_own_keys_in_the_bucket_it_creates() {
    let deployed = template(true);
    let policy = &deployed["Resources"]["CacheBucketPolicy"];
    assert_eq!(policy["Condition"], "CreateCacheBucket");
    let statements = policy["Properties"]["PolicyDocument"]["Statement"].as_array().expect("statements");
    let deny = statements.iter().find(|s| s["Sid"] == "OnlyCacheSentinelWritesItsOwnKeys").expect("the statement");
    assert_eq!((&deny["Effect"], &deny["Principal"]), (&json!("Deny"), &json!("*")));
    assert_eq!(deny["Action"], json!(["s3:PutObject", "s3:DeleteObject"]));
    assert_eq!(deny["Resource"]["Fn::Sub"], "${CacheBucket.Arn}/.cache-sentinel/*");
    let branches = deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]["Fn::If"].as_array().expect("Fn::If");
    assert_eq!(branches[0], "HasStateWriter");
    let roles = |v: &Value| -> Vec<String> {
        v.as_array().expect("list").iter().filter_map(referenced_id).map(str::to_owned).collect()
    };
    let functions = ["CacheGuardRole", "CachePrunerRole", "BuildTimeMonitorRole"];
    assert_eq!(roles(&branches[2]), functions, "the three functions' roles");
    assert_eq!(roles(&branches[1]), [&functions[..], &["StateWriterArn"]].concat(), "and the writer, when given");
    for function in [GUARD, PRUNER, MONITOR] {
        let role = referenced_id(&deployed["Resources"][function]["Properties"]["Role"]).expect("role");
        assert!(functions.contains(&role), "{function} runs as {role}");
    }
}

/// SecurityHubFindings=true adds to each function's role Security Hub's import, on the account's
/// default product, and its workflow update (a resolved finding's), on the account's hub, and the
/// records of open findings; false adds nothing to any role.
#[test]
fn security_hub_adds_its_two_actions_scoped_to_the_account() {
    let deployed = template(true);
    let statements_of = |function: &str, on: &str| -> Vec<Value> {
        let params = parameters(&deployed, &[("SecurityHubFindings", on)]);
        let role = referenced_id(&deployed["Resources"][function]["Properties"]["Role"]).unwrap().to_owned();
        let policies = deployed["Resources"][role.as_str()]["Properties"]["Policies"].as_array().unwrap();
        policies
            .iter()
            .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap().iter())
            .map(|s| statement_for(&deployed, s, &params))
            .filter(|s| s.is_object() && s.get("Ref").is_none())
            .collect()
    };
    let hub = |statements: &[Value]| -> Vec<Value> {
        statements
            .iter()
            .filter(|s| strings(&s["Action"]).iter().any(|a| a.starts_with("securityhub:")))
            .cloned()
            .collect()
    };
    for function in [GUARD, PRUNER, MONITOR] {
        assert!(hub(&statements_of(function, "false")).is_empty(), "{function}: nothing when off");
        assert!(statements_of(function, "false").iter().all(|s| s["Sid"] != "OpenFindingRecords"), "{function}");
    }
    for function in [GUARD, MONITOR, PRUNER] {
        let statements = statements_of(function, "true");
        let on = hub(&statements);
        let scoped: Vec<(Vec<String>, &str)> = on
            .iter()
            .map(|s| (strings(&s["Action"]), s["Resource"]["Fn::Sub"].as_str().expect("a Fn::Sub resource")))
            .collect();
        let account = "arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}";
        assert_eq!(
            scoped,
            [
                (
                    vec!["securityhub:BatchImportFindings".to_owned()],
                    format!("{account}:product/${{AWS::AccountId}}/default").as_str()
                ),
                (vec!["securityhub:BatchUpdateFindings".to_owned()], format!("{account}:hub/default").as_str()),
            ],
            "{function}"
        );
        let records: Vec<&Value> = statements.iter().filter(|s| s["Sid"] == "OpenFindingRecords").collect();
        assert_eq!(records.len(), 1, "{function}");
        assert_eq!(strings(&records[0]["Action"]), ["s3:PutObject", "s3:DeleteObject"]);
    }
}

/// A statement as deployed with these parameters: a top-level Fn::If picks its branch (the
/// condition evaluated by `resolve`), anything else is the statement itself.
fn statement_for(template: &Value, statement: &Value, params: &std::collections::BTreeMap<String, String>) -> Value {
    match statement.get("Fn::If").and_then(Value::as_array) {
        Some(branches) => {
            let picked = resolve(template, &json!({"Fn::If": [branches[0].clone(), "then", "else"]}), params);
            if picked == "then" { branches[1].clone() } else { branches[2].clone() }
        }
        None => statement.clone(),
    }
}

/// The pruner may delete cache anywhere under CacheKeyPrefix, which can be the whole bucket: its
/// role denies deleting every namespace of cache-sentinel's own keys the code writes, but the
/// records of open findings, which the pruner replaces when its finding recurs.
#[test]
fn the_pruner_may_never_delete_cache_sentinels_own_keys_but_its_finding_records() {
    use cache_sentinel::RESERVED_PREFIX;
    let namespaces = [
        "pruner",
        cache_sentinel::pruner::freed::NAMESPACE,
        cache_sentinel::guard::dedup::NAMESPACE,
        cache_sentinel::monitor::notify_once::MARKER_NAMESPACE,
        cache_sentinel::monitor::streak::NAMESPACE,
    ];
    let deployed = template(true);
    let role = referenced_id(&deployed["Resources"][PRUNER]["Properties"]["Role"]).unwrap().to_owned();
    let statement = deployed["Resources"][role.as_str()]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "NeverDeleteOwnState")
        .expect("the deny")
        .clone();
    assert_eq!(statement["Effect"], "Deny");
    let denied: Vec<String> = statement["Resource"]
        .as_array()
        .expect("a list of resources")
        .iter()
        .map(|r| r["Fn::Sub"][0].as_str().expect("a Fn::Sub").to_owned())
        .collect();
    for namespace in namespaces {
        let resource = format!("arn:${{AWS::Partition}}:s3:::${{Bucket}}/{RESERVED_PREFIX}{namespace}/*");
        assert!(denied.contains(&resource), "{resource} not denied: {denied:?}");
    }
    assert!(!denied.iter().any(|r| r.contains(cache_sentinel::findings::open::NAMESPACE)), "{denied:?}");
}

/// The reads `cache-sentinel audit` makes in an account (shared/src/audit.rs through the guard's
/// assessment, `recent_builds` and the monitor's records): codebuild.rs (ListProjects,
/// BatchGetProjects, BatchGetFleets, ListBuildsForProject, BatchGetBuilds), iam.rs
/// (SimulatePrincipalPolicy), s3.rs (HeadBucket by s3:ListBucket, GetBucketEncryption by
/// s3:GetEncryptionConfiguration), s3_records.rs and s3_objects.rs (ListObjectsV2 by s3:ListBucket),
/// s3_documents.rs (the pruner's state: GetObject).
const AUDIT_READS: [&str; 9] = [
    "codebuild:ListProjects",
    "codebuild:BatchGetProjects",
    "codebuild:BatchGetFleets",
    "codebuild:ListBuildsForProject",
    "codebuild:BatchGetBuilds",
    "iam:SimulatePrincipalPolicy",
    "s3:ListBucket",
    "s3:GetEncryptionConfiguration",
    "s3:GetObject",
];

/// AuditTrustedAccount set: the stack creates `cache-sentinel-audit`, trusted by that account only,
/// allowed the audit's reads and nothing that changes anything, and only in AuditRoleRegion when
/// one is named (an IAM role is global: one stack per account creates it). Unset: no role.
#[test]
fn the_audit_role_is_read_only_trusts_only_the_named_account_and_is_made_once_per_account() {
    use super::template_consistency::named_condition;
    let deployed = template(true);
    let created = |overrides: &[(&str, &str)], region: &str| {
        let mut params = parameters(&deployed, overrides);
        params.insert("AWS::Region".into(), region.into());
        named_condition(&deployed, "CreateAuditRole", &params)
    };
    assert!(!created(&[], "eu-west-1"), "no role unless a trusted account is named");
    assert!(created(&[("AuditTrustedAccount", "111111111111")], "eu-west-1"), "this stack's region by default");
    let one_region = [("AuditTrustedAccount", "111111111111"), ("AuditRoleRegion", "us-east-1")];
    assert!(created(&one_region, "us-east-1"));
    assert!(!created(&one_region, "eu-west-1"), "the other regions' stacks of the account do not make it again");

    let role = &deployed["Resources"]["AuditRole"];
    assert_eq!(role["Condition"], "CreateAuditRole");
    assert_eq!(role["Properties"]["RoleName"], cache_sentinel::org::AUDIT_ROLE, "the name the CLI assumes");
    let trust = role["Properties"]["AssumeRolePolicyDocument"]["Statement"].as_array().expect("trust");
    assert_eq!(trust.len(), 1);
    assert_eq!(trust[0]["Action"], "sts:AssumeRole");
    assert_eq!(trust[0]["Principal"]["AWS"]["Fn::Sub"], "arn:${AWS::Partition}:iam::${AuditTrustedAccount}:root");
    assert!(trust[0]["Condition"].is_null());

    let params = parameters(
        &deployed,
        &[
            ("AuditTrustedAccount", "111111111111"),
            ("CacheBucketKmsKeyArn", "arn:aws:kms:eu-west-1:111111111111:key/k"),
        ],
    );
    let mut allowed = BTreeSet::new();
    for policy in role["Properties"]["Policies"].as_array().expect("inline policies") {
        for statement in policy["PolicyDocument"]["Statement"].as_array().expect("statements") {
            let statement = statement_for(&deployed, statement, &params);
            assert_eq!(statement["Effect"], "Allow");
            let actions = strings(&statement["Action"]);
            if strings(&statement["Resource"]).iter().any(|r| r == "*") {
                assert_eq!(actions, ["codebuild:ListProjects"], "only the unscoped list on every resource");
            }
            if actions.iter().any(|a| a == "s3:GetObject") {
                let on: Vec<String> = statement["Resource"].as_array().unwrap().iter().map(|r| r.to_string()).collect();
                assert!(on.iter().all(|r| r.contains("/.cache-sentinel/*")), "never a cache object: {on:?}");
            }
            allowed.extend(actions);
        }
    }
    let expected: BTreeSet<String> =
        AUDIT_READS.iter().map(|a| (*a).to_owned()).chain(["kms:Decrypt".to_owned()]).collect();
    assert_eq!(allowed, expected);
    assert!(role["Properties"]["ManagedPolicyArns"].is_null());
    assert_eq!(deployed["Outputs"]["AuditRoleArn"]["Condition"], "CreateAuditRole");
}

/// CentralTopicArn: every function publishes there (and says its account and region in each
/// subject), its role may publish to that topic alone and use that account's keys only through SNS
/// in the topic's region. NotificationOrgId: the stack's topic takes publishes from the
/// organisation's principals (aws:PrincipalOrgID) and its key lets them encrypt through SNS, the
/// account's own principals and alarms keep what SNS's default policy gave them. Neither: as before.
#[test]
fn a_central_topic_takes_every_accounts_notices_and_only_the_organisation_may_publish_to_it() {
    let deployed = template(true);
    let central = "arn:aws:sns:eu-west-1:999999999999:cache-sentinel-central";
    let resolved = |overrides: &[(&str, &str)], value: &Value| {
        let mut params = parameters(&deployed, overrides);
        params.insert("NotificationTopic".into(), "OWN-TOPIC".into());
        resolve(&deployed, value, &params)
    };
    for function in [GUARD, PRUNER, MONITOR] {
        let env = &deployed["Resources"][function]["Properties"]["Environment"]["Variables"];
        assert_eq!(resolved(&[], &env["NOTIFY_TOPIC_ARN"]), "OWN-TOPIC", "{function}");
        assert_eq!(resolved(&[], &env["NOTIFY_NAME_ORIGIN"]), "false", "{function}");
        assert_eq!(resolved(&[("CentralTopicArn", central)], &env["NOTIFY_TOPIC_ARN"]), central, "{function}");
        assert_eq!(resolved(&[("CentralTopicArn", central)], &env["NOTIFY_NAME_ORIGIN"]), "true", "{function}");
        assert_eq!(resolved(&[("NotificationOrgId", "o-a1b2c3d4e5")], &env["NOTIFY_NAME_ORIGIN"]), "true");

        let role = referenced_id(&deployed["Resources"][function]["Properties"]["Role"]).unwrap().to_owned();
        let statements: Vec<Value> = deployed["Resources"][role.as_str()]["Properties"]["Policies"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap().clone())
            .collect();
        let notify = statements.iter().find(|s| s["Sid"] == "Notify").expect("Notify");
        assert_eq!(resolved(&[("CentralTopicArn", central)], &notify["Resource"]), central, "{function}");
        assert_eq!(resolved(&[], &notify["Resource"]), "OWN-TOPIC", "{function}");
        let params = parameters(&deployed, &[("CentralTopicArn", central)]);
        let key: Vec<Value> = statements
            .iter()
            .map(|s| statement_for(&deployed, s, &params))
            .filter(|s| s["Sid"] == "NotifyCentralEncrypted")
            .collect();
        assert_eq!(key.len(), 1, "{function}");
        assert_eq!(strings(&key[0]["Action"]), ["kms:GenerateDataKey*", "kms:Decrypt"]);
        let via = &key[0]["Condition"]["StringEquals"]["kms:ViaService"]["Fn::Sub"];
        assert_eq!(via[0], "sns.${Region}.amazonaws.com", "only through SNS: {via}");
        let off = parameters(&deployed, &[]);
        assert!(
            statements.iter().map(|s| statement_for(&deployed, s, &off)).all(|s| s["Sid"] != "NotifyCentralEncrypted"),
            "{function}: no other account's keys without a central topic"
        );
    }

    let policy = &deployed["Resources"]["NotificationTopicPolicy"];
    assert_eq!(policy["Condition"], "AcceptsOrganization");
    let statements = policy["Properties"]["PolicyDocument"]["Statement"].as_array().unwrap();
    let org: Vec<&Value> =
        statements.iter().filter(|s| !s["Condition"]["StringEquals"]["aws:PrincipalOrgID"].is_null()).collect();
    assert_eq!(org.len(), 1);
    assert_eq!(org[0]["Action"], "sns:Publish", "the organisation publishes, nothing else");
    assert_eq!(org[0]["Condition"]["StringEquals"]["aws:PrincipalOrgID"], json!({"Ref": "NotificationOrgId"}));
    let own = statements.iter().find(|s| s["Sid"] == "AccountOwnsTopic").expect("the default policy's owner statement");
    assert_eq!(own["Condition"]["StringEquals"]["AWS:SourceOwner"], json!({"Ref": "AWS::AccountId"}));

    let key = deployed["Resources"]["NotificationKey"]["Properties"]["KeyPolicy"]["Statement"].as_array().unwrap();
    let on = parameters(&deployed, &[("NotificationOrgId", "o-a1b2c3d4e5")]);
    let grants: Vec<Value> = key
        .iter()
        .map(|s| statement_for(&deployed, s, &on))
        .filter(|s| s["Sid"] == "OrganizationPublishesToTopic")
        .collect();
    assert_eq!(grants.len(), 1);
    assert_eq!(grants[0]["Condition"]["StringEquals"]["aws:PrincipalOrgID"], json!({"Ref": "NotificationOrgId"}));
    assert!(!grants[0]["Condition"]["StringEquals"]["kms:ViaService"].is_null(), "through SNS only");
    let off = parameters(&deployed, &[]);
    assert!(key.iter().map(|s| statement_for(&deployed, s, &off)).all(|s| s["Sid"] != "OrganizationPublishesToTopic"));
}
