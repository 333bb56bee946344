//! The emulator's CodeBuild listings as AWS documents them (scripts/emulator/moto_server.py):
//! ListBuilds and ListBuildsForProject in pages of 100 with a nextToken, newest first unless
//! ASCENDING; an unknown nextToken refused; BatchGetBuilds at most 100 ids, unknown ids in
//! buildsNotFound; and the aids that backdate a build and keep it running.

use aws_sdk_codebuild::error::ProvideErrorMetadata;
use aws_sdk_codebuild::types::{EnvironmentVariable, SortOrderType};
use cache_sentinel::testing::{self, ProjectFixture};

async fn start(clients: &cache_sentinel::aws::Clients, project: &str, ago_seconds: u64, keep_running: bool) -> String {
    let mut request = clients.codebuild.start_build().project_name(project).environment_variables_override(
        EnvironmentVariable::builder()
            .name("EMULATOR_STARTED_SECONDS_AGO")
            .value(ago_seconds.to_string())
            .build()
            .unwrap(),
    );
    if keep_running {
        request = request.environment_variables_override(
            EnvironmentVariable::builder().name("EMULATOR_KEEP_RUNNING").value("true").build().unwrap(),
        );
    }
    request.send().await.expect("start build").build_value.and_then(|b| b.id).expect("build id")
}

#[tokio::test]
async fn build_listings_page_by_100_newest_first() {
    let clients = testing::emulator_clients().await;
    let project = ProjectFixture::new(&testing::unique("listing")).create(&clients).await;
    // Started oldest first; the newest is 0 seconds old. Far in the past, so that builds other tests
    // start meanwhile sort before them.
    let mut ids = Vec::new();
    for i in (0..130u64).rev() {
        ids.push(start(&clients, &project, 400 * 24 * 3600 + i * 60, false).await);
    }
    ids.reverse(); // newest first

    let first = clients.codebuild.list_builds_for_project().project_name(&project).send().await.expect("list");
    assert_eq!(first.ids().len(), 100);
    assert_eq!(first.ids(), &ids[..100]);
    let token = first.next_token().expect("a second page").to_owned();
    let second = clients
        .codebuild
        .list_builds_for_project()
        .project_name(&project)
        .next_token(token)
        .send()
        .await
        .expect("list");
    assert_eq!(second.ids(), &ids[100..]);
    assert!(second.next_token().is_none());
    // "If the project has more than 100 builds, setting the sort order will result in an error."
    let err = clients
        .codebuild
        .list_builds_for_project()
        .project_name(&project)
        .sort_order(SortOrderType::Ascending)
        .send()
        .await
        .expect_err("a sort order past 100 builds");
    assert_eq!(err.as_service_error().and_then(|e| e.code()), Some("InvalidInputException"));
    // The account-wide ListBuilds has no such limit: ASCENDING lists ours oldest first.
    let mut ascending = Vec::new();
    let mut pages = clients.codebuild.list_builds().sort_order(SortOrderType::Ascending).into_paginator().send();
    while let Some(page) = pages.next().await {
        ascending.extend(page.expect("list builds").ids().iter().filter(|id| ids.contains(id)).cloned());
    }
    assert_eq!(ascending.first(), Some(&ids[129]), "ASCENDING: oldest first");

    // The account-wide listing: every page at most 100, ours in newest-first order among the rest.
    let mut all = Vec::new();
    let mut pages = clients.codebuild.list_builds().into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.expect("list builds");
        assert!(page.ids().len() <= 100);
        all.extend(page.ids().iter().cloned());
    }
    let ours: Vec<&String> = all.iter().filter(|id| ids.contains(id)).collect();
    assert_eq!(ours, ids.iter().collect::<Vec<_>>());

    let err = clients.codebuild.list_builds().next_token("not-a-token").send().await.expect_err("bad token");
    assert_eq!(err.as_service_error().and_then(|e| e.code()), Some("InvalidInputException"));
}

#[tokio::test]
async fn batch_get_builds_takes_100_ids_and_names_the_unknown_ones() {
    let clients = testing::emulator_clients().await;
    let project = ProjectFixture::new(&testing::unique("batch")).create(&clients).await;
    let running = start(&clients, &project, 1800, true).await;
    let done = start(&clients, &project, 3600, false).await;
    let unknown = format!("{project}:00000000-0000-0000-0000-000000000000");
    let out = clients
        .codebuild
        .batch_get_builds()
        .ids(&running)
        .ids(&done)
        .ids(&unknown)
        .send()
        .await
        .expect("batch get builds");
    assert_eq!(out.builds_not_found(), std::slice::from_ref(&unknown));
    let status = |id: &str| out.builds().iter().find(|b| b.id() == Some(id)).and_then(|b| b.build_status().cloned());
    assert_eq!(status(&running).map(|s| s.as_str().to_owned()).as_deref(), Some("IN_PROGRESS"), "kept running");
    assert_eq!(status(&done).map(|s| s.as_str().to_owned()).as_deref(), Some("SUCCEEDED"), "moto completes on read");
    let started = out.builds().iter().find(|b| b.id() == Some(running.as_str())).and_then(|b| b.start_time()).unwrap();
    let age = chrono::Utc::now().timestamp() - started.secs();
    assert!((1790..1900).contains(&age), "backdated by 30 minutes, got {age} s");

    let many: Vec<String> = (0..101).map(|i| format!("{project}:{i}")).collect();
    let err = clients.codebuild.batch_get_builds().set_ids(Some(many)).send().await.expect_err("101 ids");
    assert_eq!(err.as_service_error().and_then(|e| e.code()), Some("InvalidInputException"));
}
