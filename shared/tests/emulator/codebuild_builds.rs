//! The harness's CodeBuild builds: numbered 1, 2, 3... per project, ListBuildsForProject sorted by
//! build number (descending unless asked), paged by 100, refusing a sort order past 100 builds;
//! and the emulator-only `EMULATOR_BUILD` override that makes a build's figures deterministic.

use aws_sdk_codebuild::types::{EnvironmentVariable, EnvironmentVariableType, SortOrderType, StatusType};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use cache_sentinel::aws::codebuild::build_facts;
use cache_sentinel::testing::{self, ProjectFixture};

fn fixed(spec: serde_json::Value) -> EnvironmentVariable {
    EnvironmentVariable::builder()
        .name("EMULATOR_BUILD")
        .value(spec.to_string())
        .r#type(EnvironmentVariableType::Plaintext)
        .build()
        .unwrap()
}

#[tokio::test]
async fn builds_are_numbered_and_listed_newest_first_in_pages() {
    let clients = testing::emulator_clients().await;
    let name = ProjectFixture::new(&testing::unique("num")).create(&clients).await;
    let mut ids = Vec::new();
    for expected in 1..=3 {
        let build = clients.codebuild.start_build().project_name(&name).send().await.unwrap();
        let build = build.build_value().unwrap();
        assert_eq!(build.build_number(), Some(expected));
        ids.push(build.id().unwrap().to_owned());
    }
    let listed = clients.codebuild.list_builds_for_project().project_name(&name).send().await.unwrap();
    let newest_first: Vec<String> = ids.iter().rev().cloned().collect();
    assert_eq!(listed.ids(), newest_first.as_slice(), "descending by build number when no order is given");
    let ascending = clients
        .codebuild
        .list_builds_for_project()
        .project_name(&name)
        .sort_order(SortOrderType::Ascending)
        .send()
        .await
        .unwrap();
    assert_eq!(ascending.ids(), ids.as_slice());

    // Past 100 builds: pages of 100 with a token, and a sort order is refused.
    for _ in 3..101 {
        clients.codebuild.start_build().project_name(&name).send().await.unwrap();
    }
    let first = clients.codebuild.list_builds_for_project().project_name(&name).send().await.unwrap();
    assert_eq!(first.ids().len(), 100);
    let token = first.next_token().expect("a second page");
    let second =
        clients.codebuild.list_builds_for_project().project_name(&name).next_token(token).send().await.unwrap();
    assert_eq!(second.ids(), &ids[..1], "the oldest build comes last");
    assert_eq!(second.next_token(), None);
    let err = clients
        .codebuild
        .list_builds_for_project()
        .project_name(&name)
        .sort_order(SortOrderType::Descending)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidInputException"));
}

#[tokio::test]
async fn emulator_build_override_fixes_the_figures() {
    let clients = testing::emulator_clients().await;
    let name = ProjectFixture::new(&testing::unique("fix")).create(&clients).await;
    let done = serde_json::json!({
        "start": "2026-11-20T09:00:00Z", "status": "FAILED", "sourceVersion": "abc123",
        "phases": [["QUEUED", 30], ["PROVISIONING", 20], ["BUILD", 600]],
        "exported": {"CACHE_SENTINEL_SCENARIO": "app"}
    });
    let running = serde_json::json!({"start": "2026-11-20T10:00:00Z", "status": "IN_PROGRESS",
        "phases": [["QUEUED", 10], ["BUILD", 0]]});
    let mut ids = Vec::new();
    for spec in [done, running] {
        let out = clients
            .codebuild
            .start_build()
            .project_name(&name)
            .environment_variables_override(fixed(spec))
            .send()
            .await
            .unwrap();
        ids.push(out.build_value().unwrap().id().unwrap().to_owned());
    }
    // Read twice: the figures do not change between reads (moto's own builds do).
    for _ in 0..2 {
        let builds = clients.codebuild.batch_get_builds().set_ids(Some(ids.clone())).send().await.unwrap();
        let failed = builds.builds().iter().find(|b| b.id() == Some(ids[0].as_str())).unwrap();
        assert_eq!(failed.build_status(), Some(&StatusType::Failed));
        let facts = build_facts(failed);
        assert_eq!(facts.start.map(|t| t.to_rfc3339()).as_deref(), Some("2026-11-20T09:00:00+00:00"));
        assert_eq!(facts.duration_seconds(chrono::Utc::now()), Some(650));
        assert_eq!(facts.phase_seconds("QUEUED"), Some(30));
        assert_eq!(facts.phase_seconds("BUILD"), Some(600));
        assert_eq!(facts.source_version.as_deref(), Some("abc123"));
        assert_eq!(facts.exported.get("CACHE_SENTINEL_SCENARIO").map(String::as_str), Some("app"));

        let running = builds.builds().iter().find(|b| b.id() == Some(ids[1].as_str())).unwrap();
        assert_eq!(running.build_status(), Some(&StatusType::InProgress));
        assert_eq!(running.end_time(), None);
        assert_eq!(running.current_phase(), Some("BUILD"));
    }
}

/// Batch builds, which moto lacks: a job started with EMULATOR_BUILD's `batch` reports its
/// `buildBatchArn`, and BatchGetBuildBatches lists each job's identifier with its build, as AWS
/// documents (buildGroups, currentBuildSummary); a batch nobody started is not found.
#[tokio::test]
async fn batch_jobs_name_their_batch_and_batch_get_build_batches_their_identifiers() {
    use cache_sentinel::aws::codebuild::CodeBuildProjects;
    let clients = testing::emulator_clients().await;
    let name = ProjectFixture::new(&testing::unique("batch")).create(&clients).await;
    let batch = format!("arn:aws:codebuild:{}:{}:build-batch/{name}:b1", testing::region(), testing::ACCOUNT);
    let mut ids = vec![];
    for job in ["linux_amd64", "linux_arm64"] {
        let spec = serde_json::json!({"status": "SUCCEEDED", "phases": [["BUILD", 300]],
            "batch": {"arn": batch, "identifier": job}});
        let out = clients.codebuild.start_build().project_name(&name).environment_variables_override(fixed(spec));
        ids.push(out.send().await.unwrap().build_value().unwrap().id().unwrap().to_owned());
    }
    let builds = clients.codebuild.batch_get_builds().set_ids(Some(ids.clone())).send().await.unwrap();
    for b in builds.builds() {
        assert_eq!(b.build_batch_arn(), Some(batch.as_str()));
        assert_eq!(build_facts(b).batch.as_deref(), Some(batch.as_str()));
    }
    let codebuild = CodeBuildProjects::new(clients.codebuild.clone());
    let unknown = format!("arn:aws:codebuild:{}:{}:build-batch/{name}:nobody", testing::region(), testing::ACCOUNT);
    let jobs = codebuild.batch_jobs(&[batch.clone(), unknown]).await.expect("batch jobs");
    assert_eq!(jobs.get(&ids[0]).map(String::as_str), Some("linux_amd64"));
    assert_eq!(jobs.get(&ids[1]).map(String::as_str), Some("linux_arm64"));
    assert_eq!(jobs.len(), 2, "{jobs:?}");
}

/// Build.cache and Build.environment are what the build used (moto reports NO_CACHE and a small
/// Linux container for every build): the project's, or StartBuild's overrides.
#[tokio::test]
async fn a_build_reports_the_cache_and_environment_it_used() {
    use aws_sdk_codebuild::types::{CacheType, ComputeType};
    let clients = testing::emulator_clients().await;
    let name = ProjectFixture::new(&testing::unique("bcache"))
        .cache(testing::s3_cache("cache-bucket/team"))
        .create(&clients)
        .await;
    let own = clients.codebuild.start_build().project_name(&name).send().await.unwrap();
    let overridden = clients
        .codebuild
        .start_build()
        .project_name(&name)
        .cache_override(testing::s3_cache("other-bucket/x"))
        .compute_type_override(ComputeType::BuildGeneral1Small)
        .send()
        .await
        .unwrap();
    assert_eq!(own.build_value().and_then(|b| b.cache()).and_then(|c| c.location()), Some("cache-bucket/team"));
    let ids: Vec<String> =
        [own, overridden].iter().map(|b| b.build_value().unwrap().id().unwrap().to_owned()).collect();
    let read = clients.codebuild.batch_get_builds().set_ids(Some(ids.clone())).send().await.unwrap();
    let cache_of = |id: &str| {
        let build = read.builds().iter().find(|b| b.id() == Some(id)).unwrap();
        build.cache().map(|c| (c.r#type().clone(), c.location().map(str::to_owned)))
    };
    assert_eq!(cache_of(&ids[0]), Some((CacheType::S3, Some("cache-bucket/team".to_owned()))));
    assert_eq!(cache_of(&ids[1]), Some((CacheType::S3, Some("other-bucket/x".to_owned()))));
    let compute_of = |id: &str| {
        let build = read.builds().iter().find(|b| b.id() == Some(id)).unwrap();
        build.environment().map(|e| e.compute_type().clone())
    };
    assert_eq!(compute_of(&ids[0]), Some(ComputeType::BuildGeneral1Large), "the fixture's");
    assert_eq!(compute_of(&ids[1]), Some(ComputeType::BuildGeneral1Small), "the override");
}
