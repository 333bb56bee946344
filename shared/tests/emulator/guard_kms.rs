//! A cache bucket whose default encryption is SSE-KMS (PutBucketEncryption, read back by the
//! guard's GetBucketEncryption): the service role must also use the key through S3
//! (kms:GenerateDataKey to write, kms:Decrypt to read). A customer managed key the role may not use
//! refuses the heal with the statement to add; a role granted it through S3 only (the
//! `kms:ViaService` condition, evaluated by the harness's simulator with the context the guard
//! sends) is healed; the AWS managed key needs no IAM grant; a key named by alias is not checked,
//! and the heal says so.

use crate::guard_support::{build_event, cache_of, config};
use aws_sdk_s3::types::{
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
};
use cache_sentinel::guard::CacheGuard;
use cache_sentinel::guard::service::Outcome;
use cache_sentinel::project::CacheSetting;
use cache_sentinel::testing::{self, ProjectFixture, Sandbox};

const KEY: &str = "arn:aws:kms:ap-south-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/// A sandbox whose bucket encrypts new objects with SSE-KMS and `key` (None: the AWS managed key).
async fn kms_sandbox(key: Option<&str>) -> Sandbox {
    let s = Sandbox::new().await;
    let default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::AwsKms)
        .set_kms_master_key_id(key.map(str::to_owned))
        .build()
        .unwrap();
    let rule = ServerSideEncryptionRule::builder().apply_server_side_encryption_by_default(default).build();
    let configuration = ServerSideEncryptionConfiguration::builder().rules(rule).build().unwrap();
    s.clients
        .s3
        .put_bucket_encryption()
        .bucket(&s.bucket)
        .server_side_encryption_configuration(configuration)
        .send()
        .await
        .expect("PutBucketEncryption");
    s
}

/// A service role that may use the bucket's cache objects, and `kms` statements besides.
async fn role(s: &Sandbox, kms: &str) -> String {
    let bucket = &s.bucket;
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::{bucket}/*"}},
            {{"Effect":"Allow","Action":["s3:GetBucketAcl","s3:GetBucketLocation"],"Resource":"arn:aws:s3:::{bucket}"}}{kms}]}}"#
    );
    testing::create_role(&s.clients, &testing::unique("codebuild-kms"), &[("cache", &policy)]).await
}

async fn heal(s: &Sandbox, role: &str) -> (String, cache_sentinel::guard::GuardReport) {
    let name = ProjectFixture::new(&testing::unique("tts")).service_role(role).create(&s.clients).await;
    let guard = CacheGuard::new(config(&[("CACHE_BUCKET", &s.bucket), ("PROJECT_INCLUDE", &name)]), &s.clients);
    let report = guard.handle(&build_event(&name, "IN_PROGRESS")).await.expect("guard");
    (name, report)
}

#[tokio::test]
async fn a_role_without_the_buckets_kms_key_is_refused_with_the_statement_to_add() {
    let s = kms_sandbox(Some(KEY)).await;
    let (name, report) = heal(&s, &role(&s, "").await).await;
    let outcome = &report.projects[0];
    assert_eq!(outcome.outcome, Outcome::Refused, "{report:?}");
    assert!(
        outcome.reason.contains(&format!(
            "kms:GenerateDataKey and kms:Decrypt not allowed on the cache bucket's KMS key {KEY} (SSE-KMS)"
        )),
        "{}",
        outcome.reason
    );
    assert!(outcome.reason.contains("the key policy must allow them too"), "{}", outcome.reason);
    let advice = outcome.advice.join("\n");
    assert!(advice.contains("\"Sid\": \"CodeBuildCacheKmsKey\""), "{advice}");
    assert!(advice.contains(&format!("\"Resource\": \"{KEY}\"")), "{advice}");
    assert!(advice.contains("\"kms:ViaService\": \"s3.ap-south-1.amazonaws.com\""), "{advice}");
    assert_eq!(cache_of(&s.clients, &name).await, CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));
}

#[tokio::test]
async fn a_role_granted_the_key_through_s3_is_healed() {
    let s = kms_sandbox(Some(KEY)).await;
    let via_s3 = format!(
        r#",{{"Effect":"Allow","Action":["kms:GenerateDataKey","kms:Decrypt"],"Resource":"{KEY}","Condition":{{"StringEquals":{{"kms:ViaService":"s3.{}.amazonaws.com"}}}}}}"#,
        testing::region()
    );
    let (name, report) = heal(&s, &role(&s, &via_s3).await).await;
    assert_eq!(report.projects[0].outcome, Outcome::Healed, "{report:?}");
    assert_eq!(cache_of(&s.clients, &name).await, CacheSetting::s3(format!("{}/{name}", s.bucket)));

    // Through another service only: not what S3 asks for.
    let via_sns = via_s3.replace("s3.", "sns.");
    let (_, report) = heal(&s, &role(&s, &via_sns).await).await;
    assert_eq!(report.projects[0].outcome, Outcome::Refused, "{report:?}");
}

#[tokio::test]
async fn the_aws_managed_key_needs_no_grant_and_an_alias_is_said_not_checked() {
    let s = kms_sandbox(None).await;
    let (_, report) = heal(&s, &role(&s, "").await).await;
    assert_eq!(report.projects[0].outcome, Outcome::Healed, "aws/s3: {report:?}");
    assert!(report.projects[0].warnings.iter().all(|w| !w.contains("KMS")), "{report:?}");

    let s = kms_sandbox(Some("alias/build-cache")).await;
    let (_, report) = heal(&s, &role(&s, "").await).await;
    let outcome = &report.projects[0];
    assert_eq!(outcome.outcome, Outcome::Healed, "{report:?}");
    assert!(
        outcome.warnings.iter().any(|w| w.contains("alias/build-cache") && w.contains("cannot check")),
        "{:?}",
        outcome.warnings
    );
}
