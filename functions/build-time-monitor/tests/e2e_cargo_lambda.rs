//! The build-time-monitor binary end to end: `cargo lambda watch` runs it behind the Lambda
//! Runtime API (as in AWS) against the emulator, and `cargo lambda invoke` sends it the samples.

use cache_sentinel::testing::{self, LambdaWatch, TopicWithQueue};

#[tokio::test(flavor = "multi_thread")]
async fn the_lambda_reports_a_slow_build_and_rejects_malformed_events() {
    let clients = testing::emulator_clients().await;
    let bucket = testing::unique("cache");
    testing::create_bucket(&clients, &bucket).await;
    let topic = TopicWithQueue::create(&clients, &testing::unique("topic")).await;
    let watch = LambdaWatch::start(&[("CACHE_BUCKET", &bucket), ("NOTIFY_TOPIC_ARN", &topic.topic_arn)]);

    let report = watch.invoke("build-time-monitor", "events/build-succeeded.json").expect("invoke");
    assert!(report.to_string().contains("\"outcome\":\"notified\""), "{report}");
    let received = topic.drain().await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert!(received[0].subject.as_deref().unwrap().starts_with("Slow build: tts-service-build took 32 min 56 s"));
    // Its figures as a CloudWatch metric line (EMF) in the function's log: the 32 min 56 s of its
    // own time, slow, over the 15-20 min of a requirements change.
    let lines = watch.stdout_lines("\"BuildOwnMinutes\"");
    let line: serde_json::Value = serde_json::from_str(lines.last().expect("an EMF line on stdout")).expect("JSON");
    assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Namespace"], "CacheSentinel", "{line}");
    assert_eq!((line["BuildOwnMinutes"].as_f64(), line["SlowBuilds"].as_f64()), (Some(32.9), Some(1.0)), "{line}");
    assert_eq!(line["Project"], "tts-service-build");

    let report = watch.invoke("build-time-monitor", "events/build-in-progress.json").expect("invoke");
    assert!(report.to_string().contains("ignored"), "{report}");

    let error = watch
        .invoke("build-time-monitor", "events/invalid/no-detail--detail.json")
        .expect_err("a malformed event must fail the invocation");
    assert!(error.contains("no `detail` object"), "{error}");
    assert!(topic.drain().await.is_empty());
}
