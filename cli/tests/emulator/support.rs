//! Running the binary against the emulator, fixtures in a region of the test's own (moto keeps
//! CodeBuild per region, so a fixed set of projects there makes the output reproducible), and
//! byte-exact snapshots of the human output.

use aws_sdk_codebuild::types::{EnvironmentVariable, EnvironmentVariableType, ProjectCache};
use cache_sentinel::aws::Clients;
use cache_sentinel::testing::ProjectFixture;
use std::path::PathBuf;
use std::process::{Command, Output};

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    /// Errors are sentences: never a panic message or a backtrace.
    pub fn assert_clean_error(&self) {
        assert_eq!(self.code, 2, "{self:?}");
        assert!(self.stdout.is_empty(), "{self:?}");
        let lower = self.stderr.to_lowercase();
        assert!(!lower.contains("panicked") && !lower.contains("backtrace"), "{self:?}");
        assert!(self.stderr.starts_with("cache-sentinel: "), "{self:?}");
    }
}

impl From<Output> for Run {
    fn from(out: Output) -> Self {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// The binary with the test environment (the emulator's endpoint and dummy credentials from
/// `scripts/test.sh`); refuses to run without a local endpoint, so a test never reaches AWS.
pub fn command(args: &[&str]) -> Command {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        endpoint.starts_with("http://127.0.0.1") || endpoint.starts_with("http://localhost"),
        "AWS_ENDPOINT_URL must point at the local emulator (got {endpoint:?}); run the tests with `bash scripts/test.sh`"
    );
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cache-sentinel"));
    cmd.args(args).env_remove("RUST_LOG").env_remove("NO_COLOR");
    for var in cache_sentinel_variables() {
        cmd.env_remove(var);
    }
    cmd
}

pub fn run(args: &[&str]) -> Run {
    command(args).output().expect("run cache-sentinel").into()
}

/// The configuration variables, so that none leaks in from the environment of the test run.
fn cache_sentinel_variables() -> Vec<&'static str> {
    use cache_sentinel::{guard::GuardConfig, monitor::MonitorConfig, pruner::PrunerConfig};
    GuardConfig::variables().into_iter().chain(PrunerConfig::variables()).chain(MonitorConfig::variables()).collect()
}

/// Compares with `cli/tests/snapshots/<name>.txt` byte for byte; UPDATE_SNAPSHOTS=1 rewrites it.
pub fn assert_snapshot(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots").join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run once with UPDATE_SNAPSHOTS=1 and review it", path.display()));
    assert!(
        expected == actual,
        "output differs from {}\n--- expected\n{expected}\n--- actual\n{actual}",
        path.display()
    );
}

/// Clients for the emulator in `region`.
pub async fn clients(region: &str) -> Clients {
    let _ = cache_sentinel::testing::emulator_clients().await; // the endpoint check
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_owned()))
        .load()
        .await;
    Clients::from_sdk_config(sdk)
}

/// A bucket in the clients' region (kept if it exists: nextest may retry a test).
pub async fn bucket(clients: &Clients, name: &str) {
    use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
    let region = clients.region_or_default().to_owned();
    let _ = clients
        .s3
        .create_bucket()
        .bucket(name)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region.as_str()))
                .build(),
        )
        .send()
        .await;
}

/// A project with the given builds (`EMULATOR_BUILD` specs, oldest first), so that a rerun on the
/// same emulator finds the same fixtures: a project with builds is created once and then reused
/// (builds outlive a deleted project, so it is not made anew); one without builds is made anew,
/// as tests change its cache.
pub async fn project(clients: &Clients, fixture: ProjectFixture, builds: &[serde_json::Value]) -> String {
    let exists = clients
        .codebuild
        .batch_get_projects()
        .names(&fixture.name)
        .send()
        .await
        .is_ok_and(|out| !out.projects().is_empty());
    if exists && !builds.is_empty() {
        return fixture.name;
    }
    let _ = clients.codebuild.delete_project().name(&fixture.name).send().await;
    let name = fixture.create(clients).await;
    for spec in builds {
        let fixed = EnvironmentVariable::builder()
            .name("EMULATOR_BUILD")
            .value(spec.to_string())
            .r#type(EnvironmentVariableType::Plaintext)
            .build()
            .expect("variable");
        clients
            .codebuild
            .start_build()
            .project_name(&name)
            .environment_variables_override(fixed)
            .send()
            .await
            .expect("build");
    }
    name
}

pub fn with_cache(name: &str, cache: ProjectCache) -> ProjectFixture {
    ProjectFixture::new(name).cache(cache)
}

/// An IAM role with one inline policy, made once per emulator (a rerun finds it): its ARN.
pub async fn role(clients: &Clients, name: &str, policy: &str) -> String {
    let iam = aws_sdk_iam::Client::new(&clients.sdk);
    if let Ok(found) = iam.get_role().role_name(name).send().await
        && let Some(role) = found.role
    {
        return role.arn;
    }
    cache_sentinel::testing::create_role(clients, name, &[("cache", policy)]).await
}

/// Deletes every object under `prefix` in `bucket`.
pub async fn delete_prefix(clients: &Clients, bucket: &str, prefix: &str) {
    let listed = clients.s3.list_objects_v2().bucket(bucket).prefix(prefix).send().await.expect("list");
    for object in listed.contents() {
        let key = object.key().unwrap_or_default();
        clients.s3.delete_object().bucket(bucket).key(key).send().await.expect("delete");
    }
}
