//! `cache-sentinel heal` in ca-central-1: the dry run changes nothing; `--apply` makes the
//! guard's UpdateProject calls and sends its notice, once.

use crate::support::{self, assert_snapshot, run, with_cache};
use cache_sentinel::aws::codebuild::CodeBuildProjects;
use cache_sentinel::project::CacheSetting;
use cache_sentinel::testing::{TopicWithQueue, local_docker_cache, s3_cache};

const REGION: &str = "ca-central-1";
const BUCKET: &str = "cli-heal-cache";

#[tokio::test]
async fn dry_run_then_apply_heals_once_with_the_guards_notice() {
    let clients = support::clients(REGION).await;
    support::bucket(&clients, BUCKET).await;
    // A service role that may use the cache: the guard checks it before it heals.
    let role = cache_sentinel::testing::cache_role(&clients, BUCKET).await;
    support::project(&clients, with_cache("cli-heal-local", local_docker_cache()).service_role(&role), &[]).await;
    support::project(&clients, with_cache("cli-heal-s3", s3_cache(&format!("{BUCKET}/cli-heal-s3"))), &[]).await;
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
    assert_eq!(applied.code, 0, "{applied:?}");
    let report = applied.json();
    assert_eq!(report["dry_run"], false);
    let local = report["projects"].as_array().unwrap().iter().find(|p| p["project"] == "cli-heal-local").unwrap();
    assert_eq!(local["outcome"], "healed");
    assert_eq!(local["notified"], true);
    assert_eq!(cache_of("cli-heal-local").await, CacheSetting::s3(format!("{BUCKET}/cli-heal-local")));
    assert_eq!(cache_of("cli-heal-s3").await, CacheSetting::s3(format!("{BUCKET}/cli-heal-s3")));
    let notices = topic.drain().await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    // The CLI runs the guard's sweep, which sends one combined notice.
    assert_eq!(notices[0].subject.as_deref(), Some("cache-guard sweep: 1 healed"));
    assert_eq!(notices[0].attributes.get("action").map(String::as_str), Some("sweep"));
    assert!(notices[0].message.contains("cli-heal-local"), "{}", notices[0].message);

    let again = run(&[&base[..], &[notify.as_str(), "heal", "--project", "cli-heal-*", "--apply", "--json"]].concat());
    assert_eq!(again.code, 0, "{again:?}");
    assert!(again.json()["projects"].as_array().unwrap().iter().all(|p| p["outcome"] == "unchanged"), "{again:?}");
    assert!(topic.drain().await.is_empty(), "nothing healed, nothing sent");
}
