//! The harness's STS AssumeRole (scripts/emulator/moto_server.py), held to IAM's documented
//! behaviour that moto skips: a role that does not exist, or whose trust policy does not name the
//! caller's account, is AccessDenied with AWS's message; a role that trusts the caller gives
//! credentials that act in the role's account; OrganizationAccountAccessRole is there in every
//! account but the management account, trusting the management account.

use cache_sentinel::testing::{self, ACCOUNT};

async fn assume(sdk: &aws_config::SdkConfig, arn: &str) -> Result<aws_config::SdkConfig, String> {
    let out = aws_sdk_sts::Client::new(sdk)
        .assume_role()
        .role_arn(arn)
        .role_session_name("harness-test")
        .send()
        .await
        .map_err(|e| {
            use aws_sdk_sts::error::ProvideErrorMetadata;
            format!("{}: {}", e.code().unwrap_or("?"), e.message().unwrap_or("?"))
        })?;
    let c = out.credentials.expect("credentials");
    let credentials =
        aws_sdk_s3::config::Credentials::new(c.access_key_id, c.secret_access_key, Some(c.session_token), None, "test");
    Ok(sdk.to_builder().credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(credentials)).build())
}

async fn account_of(sdk: &aws_config::SdkConfig) -> String {
    aws_sdk_sts::Client::new(sdk).get_caller_identity().send().await.expect("identity").account.expect("account")
}

#[tokio::test]
async fn assume_role_needs_the_role_and_its_trust_as_iam_does() {
    let base = testing::emulator_clients().await.sdk;
    let other = "320000000001";
    let missing = format!("arn:aws:iam::{other}:role/{}", testing::unique("missing"));
    let err = assume(&base, &missing).await.expect_err("a role that does not exist");
    assert_eq!(
        err,
        format!(
            "AccessDenied: User: arn:aws:iam::{ACCOUNT}:user/moto is not authorized to perform: sts:AssumeRole on resource: {missing}"
        )
    );

    let admin =
        assume(&base, &format!("arn:aws:iam::{other}:role/OrganizationAccountAccessRole")).await.expect("admin role");
    assert_eq!(account_of(&admin).await, other, "credentials act in the role's account");
    let err = assume(&base, &format!("arn:aws:iam::{ACCOUNT}:role/OrganizationAccountAccessRole")).await;
    assert!(err.is_err(), "the management account has no such role: {err:?}");

    let iam = aws_sdk_iam::Client::new(&admin);
    let trusting = |account: &str| {
        format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":"sts:AssumeRole"}}]}}"#
        )
    };
    let (ours, theirs) = (testing::unique("trusts-us"), testing::unique("trusts-them"));
    for (name, trust) in [(&ours, trusting(ACCOUNT)), (&theirs, trusting("999999999999"))] {
        iam.create_role().role_name(name).assume_role_policy_document(trust).send().await.expect("role");
    }
    let trusted = assume(&base, &format!("arn:aws:iam::{other}:role/{ours}")).await.expect("trusted");
    assert_eq!(account_of(&trusted).await, other);
    let err = assume(&base, &format!("arn:aws:iam::{other}:role/{theirs}")).await.expect_err("not trusted");
    assert!(err.starts_with("AccessDenied: User: arn:aws:iam::123456789012:user/moto is not authorized"), "{err}");
    // The account's own admin session is not the trusted account either.
    let err = assume(&admin, &format!("arn:aws:iam::{other}:role/{theirs}")).await.expect_err("not trusted");
    assert!(err.contains(&format!("arn:aws:sts::{other}:assumed-role/OrganizationAccountAccessRole/")), "{err}");
}
