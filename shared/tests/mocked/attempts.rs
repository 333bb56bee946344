//! The attempts counter (`aws::attempts`) on a client, against the SDK's mocks: a call throttled
//! twice and then answered counts one call, three attempts, two retries; a call throttled on every
//! attempt counts five attempts and one failure, under its `service:Operation` name.

use aws_sdk_codebuild::operation::list_projects::ListProjectsOutput;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use cache_sentinel::aws::attempts::{AttemptCounter, OperationAttempts};

fn throttled() -> Option<String> {
    Some(r#"{"__type":"ThrottlingException","message":"Rate exceeded"}"#.to_owned())
}

fn counted_client(counter: &AttemptCounter, rules: &[&aws_smithy_mocks::Rule]) -> aws_sdk_codebuild::Client {
    mock_client!(aws_sdk_codebuild, RuleMode::Sequential, rules, |c| c
        .retry_config(cache_sentinel::aws::retry_config())
        .interceptor(counter.interceptor())
        // Backoff on a simulated clock: the attempts are counted without waiting them out.
        .sleep_impl(aws_smithy_async::rt::sleep::SharedAsyncSleep::new(
            aws_smithy_async::test_util::instant_time_and_sleep(std::time::SystemTime::now()).1
        )))
}

#[tokio::test]
async fn retries_are_counted_per_operation_and_a_give_up_as_a_failure() {
    let counter = AttemptCounter::new();
    let flaky = mock!(aws_sdk_codebuild::Client::list_projects)
        .sequence()
        .http_status(400, throttled())
        .times(2)
        .output(|| ListProjectsOutput::builder().projects("p").build())
        .build();
    let client = counted_client(&counter, &[&flaky]);
    client.list_projects().send().await.expect("answered on the third attempt");
    let snapshot = counter.snapshot();
    assert_eq!(
        snapshot.operation("codebuild:ListProjects"),
        OperationAttempts { calls: 1, attempts: 3, retries: 2, failed: 0 }
    );

    let always =
        mock!(aws_sdk_codebuild::Client::update_project).sequence().http_status(400, throttled()).times(10).build();
    let client = counted_client(&counter, &[&always]);
    client.update_project().name("p").send().await.expect_err("gives up");
    let after = counter.snapshot();
    assert_eq!(
        after.since(&snapshot).operation("codebuild:UpdateProject"),
        OperationAttempts { calls: 1, attempts: 5, retries: 4, failed: 1 }
    );
    assert_eq!(after.since(&snapshot).operation("codebuild:ListProjects"), OperationAttempts::default());
    assert_eq!((after.retries(), after.failed()), (6, 1));
}

#[tokio::test]
async fn an_invocation_reports_its_own_calls_beside_its_report() {
    let counter = AttemptCounter::new();
    let ok = mock!(aws_sdk_codebuild::Client::list_projects)
        .sequence()
        .output(|| ListProjectsOutput::builder().build())
        .repeatedly()
        .build();
    let client = counted_client(&counter, &[&ok]);
    client.list_projects().send().await.unwrap();

    #[derive(serde::Serialize)]
    struct Report {
        trigger: &'static str,
    }
    let result: Result<_, std::convert::Infallible> = counter
        .count(async {
            client.list_projects().send().await.unwrap();
            client.list_projects().send().await.unwrap();
            Ok(Report { trigger: "scheduled-sweep" })
        })
        .await;
    let json = serde_json::to_value(result.unwrap()).unwrap();
    assert_eq!(json["trigger"], "scheduled-sweep");
    assert_eq!(json["aws_calls"]["codebuild:ListProjects"]["calls"], 2, "only this invocation's calls: {json}");
}
