//! The local path without Docker (docs/deploy.md, "Testing locally"): each function binary runs
//! behind the Lambda Runtime API (`cargo lambda watch`) and is invoked (`cargo lambda invoke`) with
//! the events a user has at hand: the scheduled event `sam local generate-event cloudwatch
//! scheduled-event --region ap-south-1` prints (events/sam-generated-scheduled-event.json) and AWS's
//! documented "CodeBuild Build State Change" sample (events/aws-documented-build-succeeded.json).
//! Each answers with its JSON report and the AWS calls it made (`aws_calls`).

use cache_sentinel::testing::{self, LambdaWatch};

#[tokio::test]
async fn each_function_binary_answers_sams_scheduled_event_and_awss_documented_build_event() {
    let clients = testing::emulator_clients().await;
    let bucket = testing::unique("documented");
    testing::create_bucket(&clients, &bucket).await;
    // Dry run, scoped to the sample's project: the sweeps look at no project of another test.
    let watch = LambdaWatch::start(&[
        ("CACHE_BUCKET", bucket.as_str()),
        ("DRY_RUN", "true"),
        ("PROJECT_INCLUDE", "my-sample-project"),
    ]);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for function in ["cache-guard", "cache-pruner", "build-time-monitor"] {
        for (file, trigger) in [
            ("events/sam-generated-scheduled-event.json", "scheduled-sweep"),
            ("events/aws-documented-build-succeeded.json", "build-state-change"),
        ] {
            let path = root.join(file);
            let report = watch
                .invoke(function, path.to_str().unwrap())
                .unwrap_or_else(|e| panic!("{function} with {file}: {e}"));
            assert_eq!(report["trigger"], trigger, "{function} with {file}: {report}");
            assert_eq!(report["dry_run"], true, "{function} with {file}: {report}");
            assert!(report["aws_calls"].is_object(), "{function} with {file}: no aws_calls in {report}");
        }
    }
}
