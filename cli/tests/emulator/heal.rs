//! `cache-sentinel heal` in ca-central-1: the dry run changes nothing and shows why (a heal due, a
//! project kept on LOCAL beside its Docker server, a refusal with the statement the role lacks);
//! `--apply` makes the guard's UpdateProject calls and sends its one combined notice, once.

use crate::support::{self, assert_snapshot, run, with_cache};
use aws_sdk_codebuild::types::{ComputeType, DockerServer};
use cache_sentinel::aws::codebuild::CodeBuildProjects;
use cache_sentinel::project::CacheSetting;
use cache_sentinel::testing::{TopicWithQueue, docker_environment, local_docker_cache, s3_cache};

const REGION: &str = "ca-central-1";
const BUCKET: &str = "cli-heal-cache";

#[tokio::test]
async fn dry_run_then_apply_heals_once_with_the_guards_notice() {
    let clients = support::clients(REGION).await;
    support::bucket(&clients, BUCKET).await;
    // The guard's once-a-day markers of an earlier run on this emulator would hold the notices back.
    support::delete_prefix(&clients, BUCKET, ".cache-sentinel/guard/").await;
    // A service role that may use the cache: the guard checks it before it heals.
    let role = cache_sentinel::testing::cache_role(&clients, BUCKET).await;
    support::project(&clients, with_cache("cli-heal-local", local_docker_cache()).service_role(&role), &[]).await;
    support::project(&clients, with_cache("cli-heal-s3", s3_cache(&format!("{BUCKET}/cli-heal-s3"))), &[]).await;
    let server = docker_environment()
        .docker_server(DockerServer::builder().compute_type(ComputeType::BuildGeneral1Large).build().unwrap())
        .build()
        .unwrap();
    let docker = with_cache("cli-heal-docker", local_docker_cache()).environment(server).service_role(&role);
    support::project(&clients, docker, &[]).await;
    // A role that may write logs but not the cache: the heal is refused, with the statement to add.
    let logs_only =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["logs:PutLogEvents"],"Resource":"*"}]}"#;
    let no_cache = support::role(&clients, "cli-heal-logs-only", logs_only).await;
    support::project(&clients, with_cache("cli-heal-denied", local_docker_cache()).service_role(&no_cache), &[]).await;
    let topic = TopicWithQueue::create(&clients, &cache_sentinel::testing::unique("cli-heal")).await;
    let projects = CodeBuildProjects::new(clients.codebuild.clone());
    let cache_of = |name: &'static str| {
        let projects = projects.clone();
        async move { projects.get(&[name.to_owned()]).await.unwrap().0[0].cache.clone() }
    };
    let base = ["--region", REGION, "--bucket", BUCKET, "--set"];
    let notify = format!("NOTIFY_TOPIC_ARN={}", topic.topic_arn);

    let dry = run(&[&base[..], &[notify.as_str(), "heal", "--project", "cli-heal-*"]].concat());
    assert_eq!(dry.code, 1, "a heal is due: {dry:?}");
    assert_snapshot("heal-dry-run", &dry.stdout);
    assert_eq!(cache_of("cli-heal-local").await, CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]), "dry run");
    assert!(topic.drain().await.is_empty(), "a dry run sends nothing");

    let applied =
        run(&[&base[..], &[notify.as_str(), "heal", "--project", "cli-heal-*", "--apply", "--json"]].concat());
    assert_eq!(applied.code, 1, "a refusal needs attention: {applied:?}");
    let report = applied.json();
    assert_eq!(report["dry_run"], false);
    let by = |name: &str| report["projects"].as_array().unwrap().iter().find(|p| p["project"] == name).unwrap();
    assert_eq!(by("cli-heal-local")["outcome"], "healed");
    assert_eq!(by("cli-heal-local")["notified"], true);
    assert_eq!(by("cli-heal-docker")["outcome"], "kept");
    assert_eq!(by("cli-heal-denied")["outcome"], "refused");
    assert_eq!(by("cli-heal-denied")["refusal"], "role_access");
    assert_eq!(by("cli-heal-denied")["notified"], true, "in the combined notice");
    assert_eq!(cache_of("cli-heal-local").await, CacheSetting::s3(format!("{BUCKET}/cli-heal-local")));
    assert_eq!(cache_of("cli-heal-s3").await, CacheSetting::s3(format!("{BUCKET}/cli-heal-s3")));
    let notices = topic.drain().await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    // The CLI runs the guard's sweep, which sends one combined notice.
    assert_eq!(notices[0].subject.as_deref(), Some("cache-guard sweep: 1 healed, 1 not healed"));
    assert_eq!(notices[0].attributes.get("action").map(String::as_str), Some("sweep"));
    assert!(notices[0].message.contains("cli-heal-local"), "{}", notices[0].message);
    assert!(notices[0].message.contains("\"Action\": [\"s3:GetObject\", \"s3:PutObject\"]"), "{}", notices[0].message);

    let again = run(&[&base[..], &[notify.as_str(), "heal", "--project", "cli-heal-*", "--apply", "--json"]].concat());
    assert_eq!(again.code, 1, "still refused: {again:?}");
    let again = again.json();
    let outcomes: Vec<(&str, &str)> = again["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["project"].as_str().unwrap(), p["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        outcomes,
        [
            ("cli-heal-denied", "refused"),
            ("cli-heal-docker", "kept"),
            ("cli-heal-local", "unchanged"),
            ("cli-heal-s3", "unchanged")
        ]
    );
    assert!(topic.drain().await.is_empty(), "nothing healed, and the refusal is notified once a day");
}
