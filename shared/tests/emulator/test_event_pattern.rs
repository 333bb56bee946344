//! The harness's EventBridge TestEventPattern (moto lacks it): the answers and errors of the API
//! reference, on moto's own pattern engine. template_consistency.rs relies on it.

use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use cache_sentinel::testing;
use serde_json::json;

async fn client() -> aws_sdk_eventbridge::Client {
    aws_sdk_eventbridge::Client::new(&testing::emulator_clients().await.sdk)
}

/// AWS's sample CodeBuild event (events/aws-documented-build-succeeded.json).
fn documented_event() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/aws-documented-build-succeeded.json");
    std::fs::read_to_string(path).expect("read sample event")
}

async fn matches(pattern: serde_json::Value, event: &str) -> bool {
    client()
        .await
        .test_event_pattern()
        .event_pattern(pattern.to_string())
        .event(event)
        .send()
        .await
        .expect("TestEventPattern")
        .result()
}

#[tokio::test]
async fn exact_prefix_and_missing_field_matching() {
    let event = documented_event();
    assert!(matches(json!({"source": ["aws.codebuild"], "detail": {"build-status": ["SUCCEEDED"]}}), &event).await);
    assert!(!matches(json!({"source": ["aws.codebuild"], "detail": {"build-status": ["FAILED"]}}), &event).await);
    // Any value of the list matches.
    assert!(matches(json!({"detail": {"build-status": ["FAILED", "SUCCEEDED"]}}), &event).await);
    assert!(matches(json!({"detail": {"project-name": [{"prefix": "my-sample"}]}}), &event).await);
    assert!(!matches(json!({"detail": {"project-name": [{"prefix": "tts-"}]}}), &event).await);
    // A field the event lacks never matches a value.
    assert!(!matches(json!({"detail": {"no-such-field": ["x"]}}), &event).await);
}

#[tokio::test]
async fn an_invalid_pattern_is_invalid_event_pattern_exception() {
    let err = client()
        .await
        .test_event_pattern()
        .event_pattern(json!({"detail": "SUCCEEDED"}).to_string())
        .event(documented_event())
        .send()
        .await
        .expect_err("a scalar where a list or object belongs");
    assert_eq!(err.code(), Some("InvalidEventPatternException"), "{err:?}");
}

#[tokio::test]
async fn an_event_without_the_mandatory_fields_is_a_validation_error() {
    let err = client()
        .await
        .test_event_pattern()
        .event_pattern(json!({"source": ["aws.codebuild"]}).to_string())
        .event(json!({"source": "aws.codebuild", "detail": {}}).to_string())
        .send()
        .await
        .expect_err("id, account, time, region, resources and detail-type are missing");
    assert_eq!(err.code(), Some("ValidationException"), "{err:?}");
}
