//! Projects some tool deploys: the heal notice names the owner from the project's tags
//! (CloudFormation's `aws:cloudformation:*`, a Terraform marker) and gives the change to make at
//! the source, ready to paste, with this project's bucket and prefix.

use crate::guard_support::{build_event, config, setup};
use cache_sentinel::guard::CacheGuard;
use cache_sentinel::guard::service::Outcome;
use cache_sentinel::testing::{self, ProjectFixture};

#[tokio::test]
async fn a_project_cloudformation_deploys_gets_the_heal_and_the_template_change() {
    let (s, role) = setup().await;
    let name = ProjectFixture::new(&testing::unique("tts"))
        .service_role(&role)
        .tag("aws:cloudformation:stack-name", "tts-pipeline")
        .tag("aws:cloudformation:logical-id", "TtsBuild")
        .create(&s.clients)
        .await;
    let guard =
        CacheGuard::new(config(&[("CACHE_BUCKET", &s.bucket), ("NOTIFY_TOPIC_ARN", &s.topic.topic_arn)]), &s.clients);
    let report = guard.handle(&build_event(&name, "IN_PROGRESS")).await.expect("guard");
    assert_eq!(report.projects[0].outcome, Outcome::Healed, "{report:?}");
    let received = s.topic.drain().await;
    assert_eq!(received.len(), 1, "{received:?}");
    let body = &received[0].message;
    let location = format!("{}/{name}", s.bucket);
    for expected in [
        "the project is defined by CloudFormation stack tts-pipeline (TtsBuild)".to_owned(),
        format!(
            "    CloudFormation (TtsBuild, Properties):\n      Cache:\n        Type: S3\n        Location: {location}\n"
        ),
        format!(
            "codebuild.Cache.bucket(s3.Bucket.fromBucketName(this, 'CacheBucket', '{}'), {{ prefix: '{name}' }})",
            s.bucket
        ),
    ] {
        assert!(body.contains(&expected), "lacks {expected:?}:\n{body}");
    }
}

#[tokio::test]
async fn a_project_terraform_manages_gets_the_cache_block() {
    let (s, role) = setup().await;
    let name = ProjectFixture::new(&testing::unique("tts"))
        .service_role(&role)
        .tag("ManagedBy", "terraform")
        .create(&s.clients)
        .await;
    let guard = CacheGuard::new(config(&[("CACHE_BUCKET", &s.bucket)]), &s.clients);
    let report = guard.handle(&build_event(&name, "IN_PROGRESS")).await.expect("guard");
    let outcome = &report.projects[0];
    assert_eq!(outcome.outcome, Outcome::Healed, "{report:?}");
    let advice = outcome.advice.join("\n");
    assert!(advice.contains("Terraform (tag ManagedBy=terraform)"), "{advice}");
    assert!(advice.contains(&format!("    location = \"{}/{name}\"\n", s.bucket)), "{advice}");

    // A project without an owner's tag gets no source change.
    let plain = ProjectFixture::new(&testing::unique("tts")).service_role(&role).create(&s.clients).await;
    let report = guard.handle(&build_event(&plain, "IN_PROGRESS")).await.expect("guard");
    assert!(report.projects[0].advice.iter().all(|a| !a.contains("Make the change at the source")), "{report:?}");
}
