//! Several deployments on one central cache bucket (two accounts, each with `ExistingCacheBucket`
//! set to it): each keeps its own state and lease, and never orphans what it has not itself seen
//! live, so one going silent for a month loses nothing; the shared state file of earlier versions
//! is migrated by what each deployment uses; a bucket its policy shares deletes orphans only when
//! asked to.

use super::pruner::{keys, listing, objects, project_at, pruner, seed, setup};
use cache_sentinel::aws::Clients;
use cache_sentinel::pruner::RunLimits;
use cache_sentinel::pruner::deployment::{Deployment, LEGACY_STATE_KEY};
use cache_sentinel::testing::{self, ProjectFixture};
use serde_json::{Value, json};

const OTHER_ACCOUNT: &str = "222222222222";

/// Clients acting in `account` of the emulator (STS AssumeRole: moto's credentials act in the
/// role's own account).
pub(crate) async fn clients_in(account: &str) -> Clients {
    let base = testing::emulator_clients().await;
    let sts = aws_sdk_sts::Client::new(&base.sdk);
    let out = sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/OrganizationAccountAccessRole"))
        .role_session_name("pruner-test")
        .send()
        .await
        .expect("assume role");
    let c = out.credentials.expect("credentials");
    let credentials = aws_sdk_s3::config::Credentials::new(
        c.access_key_id,
        c.secret_access_key,
        Some(c.session_token),
        None,
        "emulator-assumed-role",
    );
    let sdk = base
        .sdk
        .to_builder()
        .credentials_provider(aws_sdk_s3::config::SharedCredentialsProvider::new(credentials))
        .build();
    Clients::from_sdk_config(sdk)
}

/// The scheduled sweep of `account`'s deployment.
pub fn sweep_of(account: &str) -> Value {
    let mut event: Value = serde_json::from_str(include_str!("../../../events/scheduled-sweep.json")).unwrap();
    event["account"] = json!(account);
    event["id"] = json!(testing::unique("evt"));
    event
}

#[tokio::test]
async fn a_deployment_silent_for_a_month_loses_nothing_to_another_on_the_same_bucket() {
    let (a, bucket) = setup().await;
    let b = clients_in(OTHER_ACCOUNT).await;
    let a_project = project_at(&a, "a-tts", &bucket, "team-a/tts").await;
    let location = format!("{bucket}/team-b/tts");
    let role = format!("arn:aws:iam::{OTHER_ACCOUNT}:role/service-role/codebuild-b");
    let b_project = ProjectFixture::new(&testing::unique("b-tts"))
        .cache(testing::s3_cache(&location))
        .service_role(&role)
        .create(&b)
        .await;
    assert!(
        a.codebuild.batch_get_projects().names(&b_project).send().await.unwrap().projects().is_empty(),
        "B's project is invisible to A"
    );
    let mut all = objects("team-a/tts/", 5);
    all.extend(objects("team-b/tts/", 5));
    seed(&a, &bucket, all).await;
    let vars = [("CACHE_BUCKET", bucket.as_str())];

    // Day 0: both sweep (everything is younger than the maximum age: nothing goes).
    for (clients, account) in [(&a, testing::ACCOUNT), (&b, OTHER_ACCOUNT)] {
        let report = pruner(clients, &vars, 0).handle(&sweep_of(account), RunLimits::default()).await.unwrap();
        assert!(report.finished && report.outcome.deleted == 0, "{report:?}");
    }
    let both = [
        Deployment::new(&bucket, Some(testing::ACCOUNT), &testing::region()),
        Deployment::new(&bucket, Some(OTHER_ACCOUNT), &testing::region()),
    ];
    for d in &both {
        assert!(
            a.s3.head_object().bucket(&bucket).key(d.state_key()).send().await.is_ok(),
            "{} has its own state",
            d.name()
        );
    }
    // B goes silent (stack deleted, dry run, ...); A sweeps every ten days for a month.
    for day in [10, 20, 30] {
        let report = pruner(&a, &vars, day).handle(&sweep_of(testing::ACCOUNT), RunLimits::default()).await.unwrap();
        assert!(report.finished, "{report:?}");
        assert!(report.locations.keys().all(|l| !l.contains("team-b")), "B's location is not A's: {report:?}");
    }
    let left = keys(&listing(&a, &bucket).await);
    assert_eq!(left.iter().filter(|k| k.starts_with("team-b/tts/")).count(), 5, "none of B's cache deleted: {left:?}");
    assert_eq!(left.iter().filter(|k| k.starts_with("team-a/tts/")).count(), 3, "A's own pruned to its 3 newest");
    let _ = a_project;
}

#[tokio::test]
async fn the_shared_state_file_is_migrated_by_what_each_deployment_uses() {
    let (a, bucket) = setup().await;
    project_at(&a, "a-tts", &bucket, "team-a/tts").await;
    seed(&a, &bucket, [objects("team-a/tts/", 4), objects("team-b/tts/", 4)].concat()).await;
    // An earlier version's shared state: B's live location remembered as seen live 40 days ago.
    let seen = (chrono::Utc::now() - chrono::Duration::days(40)).to_rfc3339();
    let legacy = json!({"version": 2, "locations": {
        "team-a/tts": {"managed": true, "last_seen_live": seen, "projects": ["a-tts"]},
        "team-b/tts": {"managed": true, "last_seen_live": seen, "projects": ["b-tts"]}
    }});
    a.s3.put_object()
        .bucket(&bucket)
        .key(LEGACY_STATE_KEY)
        .body(legacy.to_string().into_bytes().into())
        .send()
        .await
        .unwrap();
    let vars = [("CACHE_BUCKET", bucket.as_str())];
    let first = pruner(&a, &vars, 1).handle(&sweep_of(testing::ACCOUNT), RunLimits::default()).await.unwrap();
    assert!(
        first.notes.iter().any(|n| n.contains("took the 1 location(s)") && n.contains("1 other(s)")),
        "{:?}",
        first.notes
    );
    // Thirty days later B's remembered location has not become A's orphan.
    for day in [10, 20, 31] {
        pruner(&a, &vars, day).handle(&sweep_of(testing::ACCOUNT), RunLimits::default()).await.unwrap();
    }
    let left = keys(&listing(&a, &bucket).await);
    assert_eq!(left.iter().filter(|k| k.starts_with("team-b/tts/")).count(), 4, "{left:?}");
    let own = Deployment::new(&bucket, Some(testing::ACCOUNT), &testing::region()).state_key();
    let state = a.s3.get_object().bucket(&bucket).key(own).send().await.expect("own state");
    let state: Value = serde_json::from_slice(&state.body.collect().await.unwrap().into_bytes()).unwrap();
    assert!(state["locations"].get("team-b/tts").is_none(), "{state}");
    assert!(state["locations"].get("team-a/tts").is_some(), "{state}");
}

/// Entries forged into the state (by anyone who may put an object in the bucket) are refused with
/// a report line and never make a folder an orphan.
#[tokio::test]
async fn forged_state_entries_are_refused_and_orphan_nothing() {
    let (a, bucket) = setup().await;
    project_at(&a, "a-tts", &bucket, "team-a/tts").await;
    seed(&a, &bucket, [objects("team-a/tts/", 2), objects("releases/", 4), objects("never-live/", 4)].concat()).await;
    let vars = [("CACHE_BUCKET", bucket.as_str())];
    pruner(&a, &vars, 0).handle(&sweep_of(testing::ACCOUNT), RunLimits::default()).await.unwrap();
    let key = Deployment::new(&bucket, Some(testing::ACCOUNT), &testing::region()).state_key();
    let got = a.s3.get_object().bucket(&bucket).key(&key).send().await.expect("state");
    let mut state: Value = serde_json::from_slice(&got.body.collect().await.unwrap().into_bytes()).unwrap();
    let now = chrono::Utc::now().to_rfc3339();
    state["locations"]["releases"] = json!({"managed": true, "last_seen_live": "2000-01-01T00:00:00Z",
        "missing_since": "2000-01-02T00:00:00Z", "projects": ["releases"]});
    state["locations"]["never-live"] =
        json!({"managed": true, "last_seen_live": now, "missing_since": now, "projects": []});
    state["locations"][""] = json!({"managed": true, "last_seen_live": now, "missing_since": now, "projects": []});
    a.s3.put_object().bucket(&bucket).key(&key).body(state.to_string().into_bytes().into()).send().await.unwrap();

    let report = pruner(&a, &vars, 30).handle(&sweep_of(testing::ACCOUNT), RunLimits::default()).await.unwrap();
    for (prefix, why) in
        [("releases", "before this deployment's first run"), ("never-live", "no project"), ("", "no project")]
    {
        let line = format!("state entry {prefix:?} refused");
        assert!(report.notes.iter().any(|n| n.contains(&line) && n.contains(why)), "{prefix}: {:?}", report.notes);
    }
    let left = keys(&listing(&a, &bucket).await);
    for folder in ["releases/", "never-live/"] {
        assert_eq!(left.iter().filter(|k| k.starts_with(folder)).count(), 4, "{folder} untouched: {left:?}");
    }
    assert!(report.locations.keys().all(|l| !l.ends_with("releases") && !l.ends_with("never-live")), "{report:?}");
}

/// A run whose lease lapsed (a CLI run past its expiry, a takeover) never overwrites the state a
/// later run wrote: the save is conditional on the state it read.
#[tokio::test]
async fn a_run_whose_lease_was_taken_over_does_not_overwrite_the_state() {
    use cache_sentinel::pruner::state::{PrunerState, StateStore};
    let (a, bucket) = setup().await;
    let deployment = Deployment::new(&bucket, Some(testing::ACCOUNT), &testing::region());
    let first = StateStore::new(a.s3.clone(), &deployment);
    first.load().await.unwrap();
    first.save(&PrunerState::new()).await.expect("the first save creates it");
    // The slow run read the state; its lease lapsed, a new run took over, read and saved.
    let slow = StateStore::new(a.s3.clone(), &deployment);
    slow.load().await.unwrap();
    let takeover = StateStore::new(a.s3.clone(), &deployment);
    takeover.load().await.unwrap();
    let mut newer = PrunerState::new();
    newer.deployment = Some("written by the run holding the lease".into());
    takeover.save(&newer).await.expect("the lease holder saves");
    let err = slow.save(&PrunerState::new()).await.expect_err("the slow run must not overwrite it");
    assert!(err.to_string().contains("after this one read it"), "{err}");
    let got = a.s3.get_object().bucket(&bucket).key(deployment.state_key()).send().await.unwrap();
    let state: Value = serde_json::from_slice(&got.body.collect().await.unwrap().into_bytes()).unwrap();
    assert_eq!(state["deployment"], "written by the run holding the lease");
    // Two runs that both found no state: only the first creates it.
    let (a1, a2) = (
        StateStore::new(a.s3.clone(), &Deployment::new(&bucket, Some("333333333333"), "x")),
        StateStore::new(a.s3.clone(), &Deployment::new(&bucket, Some("333333333333"), "x")),
    );
    a1.load().await.unwrap();
    a2.load().await.unwrap();
    a1.save(&PrunerState::new()).await.unwrap();
    assert!(a2.save(&PrunerState::new()).await.is_err());
}

/// A bucket whose policy lets another account in: a location this deployment stopped using may be
/// the other's, so it is not orphaned and the report says why; with the opt-in it is.
#[tokio::test]
async fn in_a_bucket_shared_by_its_policy_orphans_wait_for_the_opt_in() {
    let (a, bucket) = setup().await;
    let policy = json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "CentralCache",
        "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{OTHER_ACCOUNT}:root")},
        "Action": ["s3:GetObject", "s3:PutObject"],
        "Resource": format!("arn:aws:s3:::{bucket}/*")
    }]});
    a.s3.put_bucket_policy().bucket(&bucket).policy(policy.to_string()).send().await.expect("bucket policy");
    let name = project_at(&a, "a-tts", &bucket, "tts").await;
    seed(&a, &bucket, objects("tts/", 5)).await;
    let vars = [("CACHE_BUCKET", bucket.as_str())];
    pruner(&a, &vars, 0).handle(&sweep_of(testing::ACCOUNT), RunLimits::default()).await.unwrap();
    a.codebuild.delete_project().name(&name).send().await.expect("delete project");
    // Seen missing on day 1; day 20 is past the 7-day grace, within the 30-day maximum age.
    pruner(&a, &vars, 1).handle(&sweep_of(testing::ACCOUNT), RunLimits::default()).await.unwrap();
    let report = pruner(&a, &vars, 20).handle(&sweep_of(testing::ACCOUNT), RunLimits::default()).await.unwrap();
    assert_eq!(report.api_calls.get("s3:GetBucketPolicy"), Some(&1));
    assert!(
        report.notes.iter().any(|n| n.contains("account 222222222222")
            && n.contains("invisible to this deployment")
            && n.contains("no orphaned location is deleted")),
        "{:?}",
        report.notes
    );
    let left = keys(&listing(&a, &bucket).await);
    assert_eq!(left.iter().filter(|k| k.starts_with("tts/")).count(), 5, "kept under the live rules: {left:?}");

    let opted = [("CACHE_BUCKET", bucket.as_str()), ("PRUNE_DELETE_ORPHANS_IN_SHARED_BUCKET", "true")];
    let report = pruner(&a, &opted, 21).handle(&sweep_of(testing::ACCOUNT), RunLimits::default()).await.unwrap();
    assert!(report.notes.iter().any(|n| n.contains("still deleted after the grace")), "{:?}", report.notes);
    let left = keys(&listing(&a, &bucket).await);
    assert_eq!(left.iter().filter(|k| k.starts_with("tts/")).count(), 0, "the opt-in deletes the orphan: {left:?}");
}
