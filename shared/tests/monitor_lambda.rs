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

    let (ok, output) = watch.invoke("build-time-monitor", "events/build-succeeded.json");
    assert!(ok, "{output}");
    assert!(output.contains("\"outcome\":\"notified\"") || output.contains("\"outcome\": \"notified\""), "{output}");
    let received = topic.drain().await;
    assert_eq!(received.len(), 1, "{received:?}");
    assert!(received[0].subject.as_deref().unwrap().starts_with("Slow build: tts-service-build took 33 min 36 s"));

    let (ok, output) = watch.invoke("build-time-monitor", "events/build-in-progress.json");
    assert!(ok, "{output}");
    assert!(output.contains("ignored"), "{output}");

    let (ok, output) = watch.invoke("build-time-monitor", "events/invalid/no-detail--detail.json");
    assert!(!ok, "a malformed event must fail the invocation: {output}");
    assert!(output.contains("no `detail` object"), "{output}");
    assert!(topic.drain().await.is_empty());
}
