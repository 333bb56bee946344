//! The harness's IAM SimulatePrincipalPolicy (moto lacks it) and CodeBuild fleets (CreateFleet,
//! BatchGetFleets): policy evaluation as IAM documents it (explicit Deny wins, then Allow, else
//! implicitDeny; wildcards; NotAction/NotResource; managed policies; permissions boundaries) and
//! AWS's errors.

use crate::guard_support::create_fleet;
use aws_sdk_codebuild::types::FleetOverflowBehavior;
use aws_sdk_iam::types::PolicyEvaluationDecisionType as D;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use cache_sentinel::aws::iam::{Decision, PolicySimulator};
use cache_sentinel::testing;

async fn iam() -> (aws_sdk_iam::Client, cache_sentinel::aws::Clients) {
    let clients = testing::emulator_clients().await;
    (aws_sdk_iam::Client::new(&clients.sdk), clients)
}

/// The decision for each action on `resource`, through the raw API.
async fn decisions(iam: &aws_sdk_iam::Client, role: &str, actions: &[&str], resource: &str) -> Vec<D> {
    let out = iam
        .simulate_principal_policy()
        .policy_source_arn(role)
        .set_action_names(Some(actions.iter().map(|a| (*a).to_owned()).collect()))
        .resource_arns(resource)
        .send()
        .await
        .expect("simulate");
    out.evaluation_results()
        .iter()
        .map(|r| {
            assert_eq!(r.resource_specific_results().len(), 1, "{r:?}");
            assert_eq!(r.resource_specific_results()[0].eval_resource_name(), resource);
            r.eval_decision().clone()
        })
        .collect()
}

#[tokio::test]
async fn allow_deny_and_implicit_deny_with_wildcards() {
    let (iam, clients) = iam().await;
    let role = testing::create_role(
        &clients,
        &testing::unique("sim"),
        &[
            (
                "cache",
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:Get*","s3:putobject"],"Resource":"arn:aws:s3:::bucket-?/cache/*"}]}"#,
            ),
            (
                "guardrail",
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-a/cache/secret/*"}}"#,
            ),
        ],
    )
    .await;
    // Actions match case-insensitively and with `*`; resources with `?`.
    assert_eq!(
        decisions(&iam, &role, &["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], "arn:aws:s3:::bucket-a/cache/x")
            .await,
        vec![D::Allowed, D::Allowed, D::ImplicitDeny]
    );
    // An explicit Deny wins over the Allow.
    assert_eq!(
        decisions(&iam, &role, &["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::bucket-a/cache/secret/k").await,
        vec![D::ExplicitDeny, D::Allowed]
    );
    // Resources are case-sensitive; `?` is one character.
    assert_eq!(decisions(&iam, &role, &["s3:GetObject"], "arn:aws:s3:::bucket-a/Cache/x").await, vec![D::ImplicitDeny]);
    assert_eq!(
        decisions(&iam, &role, &["s3:GetObject"], "arn:aws:s3:::bucket-ab/cache/x").await,
        vec![D::ImplicitDeny]
    );

    // The adapter: the deciding policy is named.
    let sim = PolicySimulator::new(iam.clone());
    let got = sim.simulate(&role, &["s3:GetObject"], "arn:aws:s3:::bucket-a/cache/secret/k").await.expect("simulate");
    assert_eq!(got[0].decision, Decision::ExplicitDeny);
    assert_eq!(got[0].matched_policies, vec!["guardrail"]);
}

#[tokio::test]
async fn attached_managed_policies_not_action_and_boundaries() {
    let (iam, clients) = iam().await;
    let name = testing::unique("sim");
    let role = testing::create_role(&clients, &name, &[]).await;
    let everything_but_delete = iam
        .create_policy()
        .policy_name(testing::unique("no-delete"))
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"s3:Delete*","NotResource":"arn:aws:s3:::private/*"}]}"#,
        )
        .send()
        .await
        .expect("create policy")
        .policy
        .and_then(|p| p.arn)
        .expect("policy arn");
    iam.attach_role_policy().role_name(&name).policy_arn(&everything_but_delete).send().await.expect("attach");
    assert_eq!(
        decisions(&iam, &role, &["s3:PutObject", "s3:DeleteObject"], "arn:aws:s3:::cache/p/k").await,
        vec![D::Allowed, D::ImplicitDeny]
    );
    assert_eq!(decisions(&iam, &role, &["s3:PutObject"], "arn:aws:s3:::private/k").await, vec![D::ImplicitDeny]);

    // A permissions boundary that allows only GetObject caps what the role's policies allow.
    let boundary = iam
        .create_policy()
        .policy_name(testing::unique("boundary"))
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#,
        )
        .send()
        .await
        .expect("create boundary")
        .policy
        .and_then(|p| p.arn)
        .expect("boundary arn");
    iam.put_role_permissions_boundary()
        .role_name(&name)
        .permissions_boundary(&boundary)
        .send()
        .await
        .expect("boundary");
    let out = iam
        .simulate_principal_policy()
        .policy_source_arn(&role)
        .action_names("s3:GetObject")
        .action_names("s3:PutObject")
        .resource_arns("arn:aws:s3:::cache/p/k")
        .send()
        .await
        .expect("simulate");
    let results = out.evaluation_results();
    assert_eq!(results[0].eval_decision(), &D::Allowed);
    assert_eq!(results[1].eval_decision(), &D::ImplicitDeny);
    let detail = results[1].permissions_boundary_decision_detail().expect("boundary detail");
    assert!(!detail.allowed_by_permissions_boundary());
}

#[tokio::test]
async fn conditions_are_reported_as_missing_context() {
    let (iam, clients) = iam().await;
    let role = testing::create_role(
        &clients,
        &testing::unique("sim"),
        &[(
            "vpc-only",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1"}}}]}"#,
        )],
    )
    .await;
    let sim = PolicySimulator::new(iam);
    let got = sim.simulate(&role, &["s3:GetObject"], "arn:aws:s3:::b/k").await.expect("simulate");
    assert_eq!(got[0].decision, Decision::ImplicitDeny);
    assert_eq!(got[0].missing_context, vec!["aws:SourceVpce"]);
}

#[tokio::test]
async fn conditions_are_evaluated_against_the_context_entries() {
    let (iam, clients) = iam().await;
    let key = "arn:aws:kms:ap-south-1:123456789012:key/k1";
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Effect":"Allow","Action":["kms:Decrypt","kms:GenerateDataKey"],"Resource":"{key}","Condition":{{"StringEquals":{{"kms:ViaService":"s3.ap-south-1.amazonaws.com"}}}}}},
            {{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{{"StringLikeIfExists":{{"aws:SourceVpce":"vpce-*"}}}}}}]}}"#
    );
    let role = testing::create_role(&clients, &testing::unique("sim"), &[("via-s3", &policy)]).await;
    let sim = PolicySimulator::new(iam);
    let actions = ["kms:GenerateDataKey", "kms:Decrypt"];
    let through_s3 = sim
        .simulate_in(&role, &actions, key, &[("kms:ViaService", "s3.ap-south-1.amazonaws.com")])
        .await
        .expect("simulate");
    assert!(
        through_s3.iter().all(|r| r.decision == Decision::Allowed && r.missing_context.is_empty()),
        "{through_s3:?}"
    );
    let through_sns = sim
        .simulate_in(&role, &actions, key, &[("kms:ViaService", "sns.ap-south-1.amazonaws.com")])
        .await
        .expect("simulate");
    assert!(through_sns.iter().all(|r| r.decision == Decision::ImplicitDeny && r.missing_context.is_empty()));
    let no_context = sim.simulate(&role, &actions, key).await.expect("simulate");
    assert!(no_context.iter().all(|r| r.decision == Decision::ImplicitDeny), "{no_context:?}");
    assert_eq!(no_context[0].missing_context, vec!["kms:ViaService"]);
    // ...IfExists: a key the request does not carry does not stop the statement.
    let got = sim.simulate(&role, &["s3:GetObject"], "arn:aws:s3:::b/k").await.expect("simulate");
    assert_eq!(got[0].decision, Decision::Allowed);
    let got = sim.simulate_in(&role, &["s3:GetObject"], "arn:aws:s3:::b/k", &[("aws:SourceVpce", "other")]).await;
    assert_eq!(got.expect("simulate")[0].decision, Decision::ImplicitDeny);
}

#[tokio::test]
async fn errors_are_the_documented_ones() {
    let (iam, _) = iam().await;
    let missing = format!("arn:aws:iam::{}:role/service-role/{}", testing::ACCOUNT, testing::unique("gone"));
    let err = iam
        .simulate_principal_policy()
        .policy_source_arn(&missing)
        .action_names("s3:GetObject")
        .send()
        .await
        .expect_err("no such role");
    assert_eq!(err.code(), Some("NoSuchEntity"), "{err:?}");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(404));

    for (source, action) in [
        ("not-an-arn-at-all-really", "s3:GetObject"),
        (missing.as_str(), "GetObject"),
        ("arn:aws:s3:::bucket/x", "s3:GetObject"),
    ] {
        let err = iam
            .simulate_principal_policy()
            .policy_source_arn(source)
            .action_names(action)
            .send()
            .await
            .expect_err("invalid input");
        assert_eq!(err.code(), Some("InvalidInput"), "{source} {action}: {err:?}");
    }
}

#[tokio::test]
async fn fleets_are_created_and_read_back_with_their_overflow_behavior() {
    let clients = testing::emulator_clients().await;
    let name = testing::unique("fleet");
    let created = create_fleet(&clients, &name, Some(FleetOverflowBehavior::OnDemand)).await.expect("create fleet");
    let arn = created.fleet.and_then(|f| f.arn).expect("fleet arn");
    let queued = testing::unique("fleet");
    create_fleet(&clients, &queued, None).await.expect("create fleet");

    let out = clients
        .codebuild
        .batch_get_fleets()
        .names(&arn)
        .names(&queued)
        .names("no-such-fleet")
        .send()
        .await
        .expect("batch get fleets");
    let overflow: Vec<_> = out.fleets().iter().map(|f| f.overflow_behavior().cloned()).collect();
    assert_eq!(overflow, vec![Some(FleetOverflowBehavior::OnDemand), Some(FleetOverflowBehavior::Queue)]);
    assert_eq!(out.fleets_not_found(), ["no-such-fleet"]);

    let err = create_fleet(&clients, &name, None).await.expect_err("exists");
    assert_eq!(err.code(), Some("ResourceAlreadyExistsException"));
}
