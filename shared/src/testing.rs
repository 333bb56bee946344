//! Test support (feature `test-support`): clients for the local emulator, unique resource names,
//! fixtures, a subscriber queue to read notices, and a cargo-lambda runner for end-to-end tests.
//!
//! Tests run against the emulator that `scripts/test.sh` starts and announces with
//! `AWS_ENDPOINT_URL`; they never reach real AWS.

pub mod faults;

use crate::aws::Clients;
use aws_sdk_codebuild::types::{
    ArtifactsType, CacheMode, CacheType, ComputeType, EnvironmentType, ProjectArtifacts, ProjectCache,
    ProjectEnvironment, ProjectSource, SourceType, Tag,
};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// moto's account id.
pub const ACCOUNT: &str = "123456789012";

/// Clients pointed at the emulator. Panics with instructions when no emulator is configured, so a
/// test can never fall through to real AWS.
pub async fn emulator_clients() -> Clients {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    assert!(
        endpoint.starts_with("http://127.0.0.1") || endpoint.starts_with("http://localhost"),
        "AWS_ENDPOINT_URL must point at the local emulator (got {endpoint:?}); run the tests with `bash scripts/test.sh`"
    );
    Clients::from_env().await
}

/// Clients pointed at the emulator in `region` (a bucket created through them lives there).
pub async fn emulator_clients_in(region: &str) -> Clients {
    let _ = emulator_clients().await; // the endpoint check
    let sdk = crate::aws::load_sdk_config_in(region).await;
    Clients::from_sdk_config(sdk)
}

pub fn region() -> String {
    std::env::var("AWS_REGION").unwrap_or_else(|_| "ap-south-1".into())
}

/// A name no other test uses: tests share one emulator and run in parallel.
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{prefix}-{}-{nanos:x}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Creates a bucket in the clients' region.
pub async fn create_bucket(clients: &Clients, bucket: &str) {
    use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
    let mut request = clients.s3.create_bucket().bucket(bucket);
    let region = clients.region().map_or_else(region, str::to_owned);
    if region != "us-east-1" {
        request = request.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region.as_str()))
                .build(),
        );
    }
    request.send().await.expect("create bucket in emulator");
}

/// Writes `lines` to a CloudWatch Logs stream (group and stream created when missing), one event a
/// line, stamped a minute ago onwards (PutLogEvents refuses events older than 14 days).
pub async fn put_log_lines(clients: &Clients, group: &str, stream: &str, lines: &[&str]) {
    let logs = clients.logs();
    let _ = logs.create_log_group().log_group_name(group).send().await;
    let _ = logs.create_log_stream().log_group_name(group).log_stream_name(stream).send().await;
    let start = chrono::Utc::now().timestamp_millis() - 60_000;
    let events: Vec<_> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(start + i as i64)
                .message(if line.is_empty() { " " } else { line })
                .build()
                .expect("log event")
        })
        .collect();
    logs.put_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .set_log_events(Some(events))
        .send()
        .await
        .expect("put log events");
}

/// Puts an object `days` old (the emulator backdates its LastModified; see
/// `scripts/emulator/moto_server.py`).
pub async fn put_aged(clients: &Clients, bucket: &str, key: &str, days: u64, size: usize) {
    clients
        .s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .metadata("emulator-age-seconds", (days * 86_400).to_string())
        .body(vec![b'r'; size].into())
        .send()
        .await
        .expect("put object");
}

/// A realistic Docker-building project, like the TTS service of the seed write-up.
pub struct ProjectFixture {
    pub name: String,
    pub cache: ProjectCache,
    pub tags: Vec<(String, String)>,
    pub buildspec: Option<String>,
    pub service_role: String,
    pub environment: ProjectEnvironment,
    pub vpc: Option<aws_sdk_codebuild::types::VpcConfig>,
    /// How long ago the emulator says the project was created (EMULATOR_CREATED_SECONDS_AGO):
    /// a year by default, so that backdated cache objects do not predate their project.
    pub created_seconds_ago: u64,
}

impl ProjectFixture {
    pub fn new(name: &str) -> Self {
        ProjectFixture {
            name: name.to_owned(),
            cache: local_docker_cache(),
            tags: vec![("team".into(), "speech".into())],
            buildspec: Some(
                "version: 0.2\nphases:\n  pre_build:\n    commands:\n      - docker pull pytorch/pytorch:2.1.0-cuda12.1-cudnn8-devel\n  build:\n    commands:\n      - docker build -t tts-service .\ncache:\n  paths:\n    - '/root/.cache/pip/**/*'\n".into(),
            ),
            service_role: format!("arn:aws:iam::{ACCOUNT}:role/service-role/codebuild-tts"),
            environment: docker_environment().build().expect("environment"),
            vpc: None,
            created_seconds_ago: 365 * 86_400,
        }
    }

    /// The service role builds run as (the default names a role the emulator does not have).
    pub fn service_role(mut self, arn: &str) -> Self {
        self.service_role = arn.to_owned();
        self
    }

    /// The build environment (default: a privileged Linux container, BUILD_GENERAL1_LARGE).
    pub fn environment(mut self, environment: ProjectEnvironment) -> Self {
        self.environment = environment;
        self
    }

    /// Builds in a VPC.
    pub fn vpc(mut self, vpc: aws_sdk_codebuild::types::VpcConfig) -> Self {
        self.vpc = Some(vpc);
        self
    }

    /// Created this long ago, as the emulator reports it (0: now).
    pub fn created_seconds_ago(mut self, seconds: u64) -> Self {
        self.created_seconds_ago = seconds;
        self
    }

    pub fn cache(mut self, cache: ProjectCache) -> Self {
        self.cache = cache;
        self
    }

    pub fn tag(mut self, key: &str, value: &str) -> Self {
        self.tags.push((key.into(), value.into()));
        self
    }

    pub async fn create(self, clients: &Clients) -> String {
        let mut environment = self.environment.clone();
        if self.created_seconds_ago > 0 {
            let aged = aws_sdk_codebuild::types::EnvironmentVariable::builder()
                .name("EMULATOR_CREATED_SECONDS_AGO")
                .value(self.created_seconds_ago.to_string())
                .build()
                .expect("variable");
            environment.environment_variables.get_or_insert_with(Vec::new).push(aged);
        }
        let mut request = clients
            .codebuild
            .create_project()
            .name(&self.name)
            .description("text-to-speech service image")
            .source(
                ProjectSource::builder()
                    .r#type(SourceType::Codecommit)
                    .location("https://git-codecommit.ap-south-1.amazonaws.com/v1/repos/tts-service")
                    .set_buildspec(self.buildspec.clone())
                    .build()
                    .expect("source"),
            )
            .artifacts(ProjectArtifacts::builder().r#type(ArtifactsType::NoArtifacts).build().expect("artifacts"))
            .environment(environment)
            .service_role(&self.service_role)
            .set_vpc_config(self.vpc.clone())
            .timeout_in_minutes(60)
            .cache(self.cache.clone());
        for (k, v) in &self.tags {
            request = request.tags(Tag::builder().key(k).value(v).build());
        }
        request.send().await.expect("create project in emulator");
        self.name
    }
}

/// The fixture's environment, to vary (fleet, Docker server, compute type).
pub fn docker_environment() -> aws_sdk_codebuild::types::builders::ProjectEnvironmentBuilder {
    ProjectEnvironment::builder()
        .r#type(EnvironmentType::LinuxContainer)
        .image("aws/codebuild/standard:7.0")
        .compute_type(ComputeType::BuildGeneral1Large)
        .privileged_mode(true)
}

pub fn local_docker_cache() -> ProjectCache {
    ProjectCache::builder().r#type(CacheType::Local).modes(CacheMode::LocalDockerLayerCache).build().expect("cache")
}

pub fn s3_cache(location: &str) -> ProjectCache {
    ProjectCache::builder().r#type(CacheType::S3).location(location).build().expect("cache")
}

pub fn no_cache() -> ProjectCache {
    ProjectCache::builder().r#type(CacheType::NoCache).build().expect("cache")
}

/// An SNS topic with an SQS queue subscribed (raw delivery off, as an email subscriber sees the
/// subject and message), so tests read exactly what subscribers receive.
pub struct TopicWithQueue {
    pub topic_arn: String,
    pub queue_url: String,
    sqs: aws_sdk_sqs::Client,
}

/// One message as a subscriber received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub subject: Option<String>,
    pub message: String,
    /// Message attributes as name -> string value.
    pub attributes: std::collections::BTreeMap<String, String>,
}

impl TopicWithQueue {
    pub async fn create(clients: &Clients, name: &str) -> Self {
        let sqs = aws_sdk_sqs::Client::new(&clients.sdk);
        let topic_arn =
            clients.sns.create_topic().name(name).send().await.expect("create topic").topic_arn.expect("topic arn");
        let queue_url =
            sqs.create_queue().queue_name(name).send().await.expect("create queue").queue_url.expect("queue url");
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("queue attributes");
        let queue_arn = attrs
            .attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
            .cloned()
            .expect("queue arn");
        clients
            .sns
            .subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .send()
            .await
            .expect("subscribe");
        TopicWithQueue { topic_arn, queue_url, sqs }
    }

    /// Every message delivered so far (waits briefly for stragglers).
    pub async fn drain(&self) -> Vec<Received> {
        let mut out = Vec::new();
        for _ in 0..3 {
            let resp = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(0)
                .send()
                .await
                .expect("receive");
            let messages = resp.messages();
            if messages.is_empty() {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            for m in messages {
                let envelope: serde_json::Value = serde_json::from_str(m.body().unwrap_or("{}")).expect("SNS envelope");
                let attributes = envelope["MessageAttributes"]
                    .as_object()
                    .map(|o| {
                        o.iter().map(|(k, v)| (k.clone(), v["Value"].as_str().unwrap_or_default().to_owned())).collect()
                    })
                    .unwrap_or_default();
                out.push(Received {
                    subject: envelope["Subject"].as_str().map(str::to_owned),
                    message: envelope["Message"].as_str().unwrap_or_default().to_owned(),
                    attributes,
                });
                if let Some(handle) = m.receipt_handle() {
                    self.sqs
                        .delete_message()
                        .queue_url(&self.queue_url)
                        .receipt_handle(handle)
                        .send()
                        .await
                        .expect("delete");
                }
            }
        }
        out
    }
}

/// Runs a function binary under `cargo lambda watch` (the real Lambda Runtime API, emulated by
/// cargo-lambda) and invokes it with `cargo lambda invoke`. Stops the watcher when dropped.
pub struct LambdaWatch {
    child: std::process::Child,
    port: u16,
    workspace: std::path::PathBuf,
    /// The functions' stdout (their JSON logs and metric lines), as Lambda would send it to
    /// CloudWatch Logs.
    stdout: std::path::PathBuf,
}

impl LambdaWatch {
    /// Starts `cargo lambda watch` in the workspace with the given extra environment.
    pub fn start(env: &[(&str, &str)]) -> Self {
        let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace").to_path_buf();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let stdout = std::env::temp_dir().join(format!("{}.stdout", unique("lambda-watch")));
        let mut cmd = std::process::Command::new("cargo");
        cmd.current_dir(&workspace)
            .args([
                "lambda",
                "watch",
                "--invoke-port",
                &port.to_string(),
                "--invoke-address",
                "127.0.0.1",
                "--ignore-changes",
            ])
            .stdin(std::process::Stdio::null())
            .stdout(std::fs::File::create(&stdout).expect("a file for the functions' stdout"))
            .stderr(std::process::Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("cargo lambda watch (installed by scripts/emulator.sh install)");
        let watch = LambdaWatch { child, port, workspace, stdout };
        for _ in 0..600 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return watch;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("cargo lambda watch did not listen on port {port} within 60 s");
    }

    /// The lines the functions wrote to stdout so far that contain `needle`, waiting up to 10 s for
    /// the first (the watcher relays the functions' output as it comes).
    pub fn stdout_lines(&self, needle: &str) -> Vec<String> {
        for _ in 0..100 {
            let text = std::fs::read_to_string(&self.stdout).unwrap_or_default();
            let found: Vec<String> = text.lines().filter(|l| l.contains(needle)).map(str::to_owned).collect();
            if !found.is_empty() {
                return found;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        vec![]
    }

    /// `cargo lambda invoke FUNCTION --data-file FILE`: Ok(the function's JSON response) or
    /// Err(what cargo-lambda printed about the function's error).
    pub fn invoke(&self, function: &str, data_file: &str) -> Result<serde_json::Value, String> {
        let out = std::process::Command::new("cargo")
            .current_dir(&self.workspace)
            .args([
                "lambda",
                "invoke",
                function,
                "--invoke-port",
                &self.port.to_string(),
                "--invoke-address",
                "127.0.0.1",
                "--data-file",
                data_file,
                "--output-format",
                "json",
            ])
            .output()
            .expect("cargo lambda invoke");
        let stdout = String::from_utf8_lossy(&out.stdout);
        if out.status.success() {
            serde_json::from_str(&stdout).map_err(|e| format!("response is not JSON ({e}): {stdout}"))
        } else {
            Err(format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)))
        }
    }
}

impl Drop for LambdaWatch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.stdout);
    }
}

/// One malformed sample of `events/invalid/`: each file is named `<what>--<cause>.json`, and the
/// error it provokes must name the cause (underscores stand for spaces).
pub struct InvalidEvent {
    pub path: std::path::PathBuf,
    /// The file as JSON, or as a JSON string when it is not JSON at all (what the function gets
    /// when Lambda is invoked with a string payload; a payload that is not JSON never reaches it).
    pub event: serde_json::Value,
    pub cause: String,
}

/// Every sample in `events/invalid/`.
pub fn invalid_events() -> Vec<InvalidEvent> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/invalid");
    let mut samples: Vec<InvalidEvent> = std::fs::read_dir(&dir)
        .expect("events/invalid")
        .map(|entry| {
            let path = entry.expect("dir entry").path();
            // Some samples are not JSON, or not UTF-8 (on purpose): Lambda never hands such a
            // payload to the function; here it becomes a JSON string, which the function refuses.
            let bytes = std::fs::read(&path).expect("sample");
            let stem = path.file_stem().expect("file name").to_string_lossy().to_string();
            let cause = stem.split("--").nth(1).unwrap_or(&stem).replace('_', " ");
            let event = serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&bytes).into_owned()));
            InvalidEvent { path, event, cause }
        })
        .collect();
    samples.sort_by(|a, b| a.path.cmp(&b.path));
    assert!(samples.len() >= 30, "expected the malformed samples in events/invalid, found {}", samples.len());
    samples
}

/// What most emulator tests start from: clients, a fresh cache bucket, and a topic whose
/// subscriber queue shows what was sent.
pub struct Sandbox {
    pub clients: Clients,
    pub bucket: String,
    pub topic: TopicWithQueue,
}

impl Sandbox {
    pub async fn new() -> Self {
        let clients = emulator_clients().await;
        let bucket = unique("cache");
        create_bucket(&clients, &bucket).await;
        let topic = TopicWithQueue::create(&clients, &unique("topic")).await;
        Sandbox { clients, bucket, topic }
    }
}

/// The trust policy of a CodeBuild service role.
pub const CODEBUILD_TRUST_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"codebuild.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// Creates an IAM role (under /service-role/, as the CodeBuild console does) with the given inline
/// policies (name, JSON document); returns its ARN.
pub async fn create_role(clients: &Clients, name: &str, inline: &[(&str, &str)]) -> String {
    let iam = aws_sdk_iam::Client::new(&clients.sdk);
    let role = iam
        .create_role()
        .role_name(name)
        .path("/service-role/")
        .assume_role_policy_document(CODEBUILD_TRUST_POLICY)
        .send()
        .await
        .expect("create role in emulator");
    for (policy, document) in inline {
        iam.put_role_policy()
            .role_name(name)
            .policy_name(*policy)
            .policy_document(*document)
            .send()
            .await
            .expect("put role policy");
    }
    role.role.map(|r| r.arn).expect("role arn")
}

/// A CodeBuild service role that may use the S3 cache in `bucket` (objects anywhere in it, and
/// the bucket identity calls CodeBuild's documented service role policy grants).
pub async fn cache_role(clients: &Clients, bucket: &str) -> String {
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::{bucket}/*"}},
            {{"Effect":"Allow","Action":["s3:GetBucketAcl","s3:GetBucketLocation"],"Resource":"arn:aws:s3:::{bucket}"}}]}}"#
    );
    create_role(clients, &unique("codebuild-cache"), &[("cache", &policy)]).await
}

/// The process's peak resident set in KiB (VmHWM from /proc/self/status), None where unavailable:
/// what the benchmark examples report of themselves.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
