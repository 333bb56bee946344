//! The build-time monitor's labelled corpus (`shared/tests/corpus/*.json`, one build a file): each
//! case is made real in the emulator (the project with its cache, its history as exact builds, the
//! build itself, its log in CloudWatch Logs, its cache location in S3), the real monitor judges
//! the build's EventBridge event, and what subscribers received is compared with the label a person
//! reading the seed's table gives it. Any miss (an email wanted, none sent) or false alarm (an
//! email sent, none wanted) fails the test, naming the case; so does a judged scenario other than
//! the labelled one, or an email without the words the label says it must carry.
//!
//! `scripts/corpus.sh` runs this test and prints the figures: builds, emails wanted, sent, misses,
//! false alarms, precision and recall. Adding a case is adding one file; its fields are documented
//! in `shared/tests/corpus/README.md`.

use super::guard_support::create_fleet;
use super::monitor_evidence::put_log;
use aws_sdk_codebuild::types::{ComputeType, DockerServer, FleetOverflowBehavior, ProjectFleet};
use cache_sentinel::aws::s3::Markers;
use cache_sentinel::guard::dedup;
use cache_sentinel::guard::plan::RefusalCause;
use cache_sentinel::monitor::{BuildTimeMonitor, Outcome};
use cache_sentinel::testing::{self, ProjectFixture, Sandbox};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One labelled build.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    /// What the case is, in a person's words.
    about: String,
    project: ProjectSpec,
    /// Earlier builds, oldest first, one a day, the last ending a day before the build.
    #[serde(default)]
    history: Vec<BuildSpec>,
    build: BuildSpec,
    /// The build's log: a file of `events/logs/` or literal lines; none: no log stream exists.
    #[serde(default)]
    log: Option<LogSpec>,
    /// The S3 cache location when the build started: `warm` (written by earlier builds) or `empty`.
    #[serde(default)]
    cache: Option<CacheState>,
    /// Whether the build wrote its cache (an object after its start); default: when it SUCCEEDED
    /// on the S3 cache.
    #[serde(default)]
    uploaded: Option<bool>,
    /// Changes to the EventBridge event made of the figures above: JSON pointers under `detail`
    /// and the value to set there (for example a real event's odd phase times).
    #[serde(default)]
    event_patch: BTreeMap<String, Value>,
    label: Label,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectSpec {
    /// `S3` (at `<bucket>/<project>`), `LOCAL` (Docker layer, source and custom modes) or `NO_CACHE`.
    cache: String,
    /// The project builds on a reserved-capacity fleet (overflow ON_DEMAND).
    #[serde(default)]
    fleet: bool,
    /// The project has a Docker server (`environment.dockerServer`).
    #[serde(default)]
    docker_server: bool,
    /// Project tags (`{"cache-sentinel:ignore": "true"}` opts it out of the guard).
    #[serde(default)]
    tags: BTreeMap<String, String>,
    /// Heals cache-guard refused for the project (`bucket`, `role-access`, `access-unverified`,
    /// `aws-refused`): its refusal markers, as the guard leaves them in the cache bucket.
    #[serde(default)]
    refused: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BuildSpec {
    /// The build's own time (BUILD phase and after), minutes.
    minutes: f64,
    /// The resolved source version (commit).
    source: String,
    #[serde(default = "succeeded")]
    status: String,
    /// Seconds queued (not judged); default 5.
    #[serde(default)]
    queued_seconds: Option<u64>,
    /// Exported environment variables (`CACHE_SENTINEL_SCENARIO`).
    #[serde(default)]
    exported: BTreeMap<String, String>,
    /// The batch build it is a job of (a name; builds with the same one are jobs of one batch) and
    /// its job's identifier in the batch.
    #[serde(default)]
    batch: Option<String>,
    #[serde(default)]
    job: Option<String>,
}

fn succeeded() -> String {
    "SUCCEEDED".into()
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum LogSpec {
    Fixture(String),
    Lines(Vec<String>),
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "snake_case")]
enum CacheState {
    Warm,
    Empty,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Label {
    /// Whether a person reading the seed's table wants a slow-build email for this build.
    email: bool,
    /// Why, in their words.
    why: String,
    /// The scenario the build really was (`first`, `no_change`, `app`, `requirements`,
    /// `unknown_change`); checked when given.
    #[serde(default)]
    scenario: Option<String>,
    /// Words the email must carry.
    #[serde(default)]
    says: Vec<String>,
    /// Words no email may carry (advice that does not apply).
    #[serde(default)]
    never_says: Vec<String>,
    /// The causes the monitor must name (`pull-rate-limit`, `no-space`, `stale-cache`, ...: the
    /// log's, and a failed build's), exactly; checked when given.
    #[serde(default)]
    causes: Option<Vec<String>>,
    /// Whether a failed build's "Build failed: <project>: <cause>" email is wanted.
    #[serde(default)]
    cause_email: bool,
}

/// What happened to one case.
struct Row {
    name: String,
    wanted: bool,
    sent: bool,
    cause_wanted: bool,
    cause_sent: bool,
    problems: Vec<String>,
    summary: String,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn load_cases() -> Vec<(String, Case)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("shared/tests/corpus")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let case: Case = serde_json::from_str(&text).unwrap_or_else(|e| panic!("corpus case {name}: {e}"));
            (name, case)
        })
        .collect()
}

/// CodeBuild's event time format ("Nov 20, 2026 9:15:01 AM").
fn codebuild_time(t: DateTime<Utc>) -> String {
    t.format("%b %-d, %Y %-I:%M:%S %p").to_string()
}

/// A project name CodeBuild accepts, unique to this run.
fn project_name(case: &str) -> String {
    let clean: String = case.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    testing::unique(&format!("corpus-{}", &clean[..clean.len().min(60)]))
}

fn phases_of(spec: &BuildSpec) -> Vec<(&'static str, u64)> {
    vec![("QUEUED", spec.queued_seconds.unwrap_or(5)), ("BUILD", (spec.minutes * 60.0).round() as u64)]
}

/// Starts a build in the emulator reported exactly as `spec` says (EMULATOR_BUILD); its id.
async fn start_build(s: &Sandbox, project: &str, spec: &BuildSpec, start: DateTime<Utc>) -> String {
    let mut fixed = json!({
        "start": start.to_rfc3339(),
        "status": spec.status,
        "phases": phases_of(spec),
        "exported": spec.exported,
        "sourceVersion": spec.source,
    });
    if let Some(batch) = &spec.batch {
        let arn = format!("arn:aws:codebuild:{}:{}:build-batch/{project}:{batch}", testing::region(), testing::ACCOUNT);
        fixed["batch"] = json!({"arn": arn, "identifier": spec.job});
    }
    let out = s
        .clients
        .codebuild
        .start_build()
        .project_name(project)
        .source_version(&spec.source)
        .environment_variables_override(
            aws_sdk_codebuild::types::EnvironmentVariable::builder()
                .name("EMULATOR_BUILD")
                .value(fixed.to_string())
                .r#type(aws_sdk_codebuild::types::EnvironmentVariableType::Plaintext)
                .build()
                .expect("variable"),
        )
        .send()
        .await
        .expect("start build");
    out.build_value.and_then(|b| b.id).expect("build id")
}

/// The "CodeBuild Build State Change" event CodeBuild sends for the build (AWS's documented shape).
fn state_change(s: &Sandbox, project: &str, build_id: &str, case: &Case, start: DateTime<Utc>) -> Value {
    let mut event: Value = serde_json::from_str(include_str!("../../../events/build-succeeded.json")).unwrap();
    let arn = format!("arn:aws:codebuild:{}:{}:build/{build_id}", testing::region(), testing::ACCOUNT);
    let stream = build_id.split_once(':').map(|(_, uuid)| uuid).unwrap_or(build_id);
    event["id"] = json!(testing::unique("evt"));
    event["region"] = json!(testing::region());
    event["resources"] = json!([arn]);
    let detail = &mut event["detail"];
    detail["project-name"] = json!(project);
    detail["build-id"] = json!(arn);
    detail["build-status"] = json!(case.build.status);
    // The emulator numbers a project's builds 1, 2, 3... as CodeBuild does.
    detail["additional-information"]["build-number"] = json!(case.history.len() + 1);
    let info = &mut detail["additional-information"];
    info["cache"] = match case.project.cache.as_str() {
        "S3" => json!({"type": "S3", "location": format!("{}/{project}", s.bucket)}),
        other => json!({"type": other}),
    };
    info["logs"] = json!({"group-name": format!("/aws/codebuild/{project}"), "stream-name": stream});
    info["source-version"] = json!(case.build.source);
    info["build-start-time"] = json!(codebuild_time(start));
    let mut phases = vec![];
    let mut at = start;
    let mut all = vec![("SUBMITTED", 0)];
    all.extend(phases_of(&case.build));
    let last = all.len() - 1;
    for (i, (phase, seconds)) in all.into_iter().enumerate() {
        let end = at + Duration::seconds(seconds as i64);
        let status = if i == last { case.build.status.as_str() } else { "SUCCEEDED" };
        phases.push(json!({"phase-context": [], "start-time": codebuild_time(at), "end-time": codebuild_time(end),
            "duration-in-seconds": seconds, "phase-type": phase, "phase-status": status}));
        at = end;
    }
    phases.push(json!({"start-time": codebuild_time(at), "phase-type": "COMPLETED"}));
    info["phases"] = json!(phases);
    for (pointer, value) in &case.event_patch {
        *detail.pointer_mut(pointer).unwrap_or_else(|| panic!("event_patch: no {pointer} in the event's detail")) =
            value.clone();
    }
    event
}

async fn put_cache_object(s: &Sandbox, key: &str, age_seconds: Option<i64>) {
    let mut request = s.clients.s3.put_object().bucket(&s.bucket).key(key).body(b"cache archive".to_vec().into());
    if let Some(age) = age_seconds {
        request = request.metadata("emulator-age-seconds", age.to_string());
    }
    request.send().await.expect("put cache object");
}

/// Makes the case real in the emulator, has the monitor judge it, and compares with its label.
async fn run_case(s: &Sandbox, monitor: &BuildTimeMonitor, name: &str, case: &Case) -> Row {
    let project = project_name(name);
    let cache = match case.project.cache.as_str() {
        "S3" => testing::s3_cache(&format!("{}/{project}", s.bucket)),
        "LOCAL" => testing::local_docker_cache(),
        "NO_CACHE" => testing::no_cache(),
        other => panic!("corpus case {name}: project cache {other:?} is not S3, LOCAL or NO_CACHE"),
    };
    let mut fixture = ProjectFixture::new(&project).cache(cache);
    let mut environment = testing::docker_environment();
    if case.project.fleet {
        let fleet = create_fleet(&s.clients, &testing::unique("fleet"), Some(FleetOverflowBehavior::OnDemand))
            .await
            .expect("create fleet");
        let arn = fleet.fleet.and_then(|f| f.arn).expect("fleet arn");
        environment = environment.fleet(ProjectFleet::builder().fleet_arn(arn).build());
    }
    if case.project.docker_server {
        let server = DockerServer::builder().compute_type(ComputeType::BuildGeneral1Large).build().expect("server");
        environment = environment.docker_server(server);
    }
    fixture = fixture.environment(environment.build().expect("environment"));
    for (key, value) in &case.project.tags {
        fixture = fixture.tag(key, value);
    }
    fixture.create(&s.clients).await;
    let guard_markers = Markers::new(s.clients.s3.clone(), s.bucket.clone(), dedup::NAMESPACE);
    for refused in &case.project.refused {
        let cause = RefusalCause::ALL
            .into_iter()
            .find(|c| c.as_str() == refused)
            .unwrap_or_else(|| panic!("corpus case {name}: no refusal cause {refused:?}"));
        guard_markers.claim(&dedup::refusal_marker(&project, cause), "{}").await.expect("refusal marker");
    }

    let now = Utc::now();
    // A finished build ends two minutes ago; a running one has run its minutes until now.
    let running = case.build.status == "IN_PROGRESS";
    let ended_ago = if running { 0 } else { 120 };
    let start = now - Duration::seconds((case.build.minutes * 60.0).round() as i64 + ended_ago);
    let days = case.history.len() as i64;
    for (i, past) in case.history.iter().enumerate() {
        let at = start - Duration::days(days - i as i64);
        start_build(s, &project, past, at).await;
    }
    let build_id = start_build(s, &project, &case.build, start).await;

    if case.project.cache == "S3" {
        if case.cache == Some(CacheState::Warm) {
            let age = (now - start).num_seconds() + 86_400;
            put_cache_object(s, &format!("{project}/earlier-archive"), Some(age)).await;
        }
        if case.uploaded.unwrap_or(case.build.status == "SUCCEEDED") {
            put_cache_object(s, &format!("{project}/new-archive"), None).await;
        }
    }
    if let Some(log) = &case.log {
        let text = match log {
            LogSpec::Fixture(file) => {
                let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/logs").join(file);
                std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("corpus case {name}: {}: {e}", path.display()))
            }
            LogSpec::Lines(lines) => lines.join("\n"),
        };
        let logs = aws_sdk_cloudwatchlogs::Client::new(&s.clients.sdk);
        let stream = build_id.split_once(':').map(|(_, uuid)| uuid).unwrap_or(&build_id);
        put_log(&logs, &format!("/aws/codebuild/{project}"), stream, &text).await;
    }

    // A running build is judged by the monitor's sweep (its scope: this project), as in production.
    let (event, scoped) = if running {
        let sweep: Value = serde_json::from_str(include_str!("../../../events/scheduled-sweep.json")).unwrap();
        (sweep, Some(super::monitor_evidence::monitor(s, &[("PROJECT_INCLUDE", project.as_str())])))
    } else {
        (state_change(s, &project, &build_id, case, start), None)
    };
    let mut problems = vec![];
    let (mut cause_sent, mut named) = (false, vec![]);
    let (sent, summary, judged) = match scoped.as_ref().unwrap_or(monitor).handle(&event).await {
        Ok(report) => match report.builds.iter().find(|b| b.build_id.as_deref() == Some(build_id.as_str())) {
            Some(b) => {
                let judged = b.verdict.as_ref().map(|v| v.scenario.scenario.as_str().to_owned());
                let found = b.evidence.as_ref().and_then(|e| e.found.as_ref());
                named.extend(found.into_iter().flat_map(|f| f.causes.iter().map(|c| c.kind)));
                if let Some(notice) = &b.cause_notice {
                    cause_sent = notice.outcome == Outcome::Notified;
                    named.extend(notice.sent.iter().copied());
                }
                (b.outcome == Outcome::Notified, format!("{:?}: {}", b.outcome, b.reason), judged)
            }
            None => {
                problems.push(format!("the build is not in the report: {report:?}"));
                (false, String::new(), None)
            }
        },
        Err(e) => {
            problems.push(format!("the monitor failed: {e}"));
            (false, String::new(), None)
        }
    };
    named.sort();
    named.dedup();
    let named: Vec<String> = named.iter().map(|k| k.as_str().to_owned()).collect();
    if let Some(want) = &case.label.causes {
        let mut want = want.clone();
        want.sort();
        if want != named {
            problems.push(format!("named the causes {named:?}, labelled {want:?}"));
        }
    }
    if cause_sent != case.label.cause_email {
        problems.push(format!("a failed build's cause email sent={cause_sent}, labelled {}", case.label.cause_email));
    }
    let received = s.topic.drain().await;
    if std::env::var_os("CORPUS_EMAILS").is_some() {
        for email in &received {
            println!("--- {name}\nSubject: {}\n\n{}", email.subject.as_deref().unwrap_or(""), email.message);
        }
    }
    if received.len() != usize::from(sent) + usize::from(cause_sent) {
        problems.push(format!(
            "{} email(s) received for a report saying sent={sent}, cause email sent={cause_sent}",
            received.len()
        ));
    }
    if let (Some(want), Some(got)) = (&case.label.scenario, &judged)
        && want != got
    {
        problems.push(format!("judged as {got}, labelled {want}"));
    }
    if !received.is_empty() {
        let all: Vec<&str> = received.iter().map(|e| e.message.as_str()).collect();
        for words in &case.label.says {
            if !all.iter().any(|m| m.contains(words.as_str())) {
                problems.push(format!("the email does not say {words:?}"));
            }
        }
        for words in &case.label.never_says {
            if all.iter().any(|m| m.contains(words.as_str())) {
                problems.push(format!("an email says {words:?}, which does not apply"));
            }
        }
        if problems.iter().any(|p| p.starts_with("the email does not say") || p.starts_with("an email says")) {
            problems.push(format!("the email(s):\n{}", all.join("\n---\n")));
        }
    }
    Row {
        name: name.to_owned(),
        wanted: case.label.email,
        sent,
        cause_wanted: case.label.cause_email,
        cause_sent,
        problems,
        summary,
    }
}

fn ratio(num: usize, den: usize) -> String {
    if den == 0 { "n/a".into() } else { format!("{:.3}", num as f64 / den as f64) }
}

#[tokio::test]
async fn the_monitor_judges_the_labelled_corpus() {
    let cases = load_cases();
    assert!(cases.len() >= 10, "the corpus has {} cases", cases.len());
    let s = Sandbox::new().await;
    let monitor = super::monitor_evidence::monitor(&s, &[]);
    let mut rows = vec![];
    for (name, case) in &cases {
        assert!(!case.about.is_empty() && !case.label.why.is_empty(), "{name}: say what the case is and why");
        rows.push(run_case(&s, &monitor, name, case).await);
    }

    let wanted = rows.iter().filter(|r| r.wanted).count();
    let sent = rows.iter().filter(|r| r.sent).count();
    let hits = rows.iter().filter(|r| r.wanted && r.sent).count();
    let misses: Vec<&Row> = rows.iter().filter(|r| r.wanted && !r.sent).collect();
    let false_alarms: Vec<&Row> = rows.iter().filter(|r| !r.wanted && r.sent).collect();
    println!("{:<44} {:>6} {:>5}  result", "case", "wanted", "sent");
    for r in &rows {
        let result = match (r.wanted, r.sent) {
            (true, false) => "MISS",
            (false, true) => "FALSE ALARM",
            _ if !r.problems.is_empty() => "WRONG",
            _ => "ok",
        };
        println!("{:<44} {:>6} {:>5}  {result}", r.name, r.wanted, r.sent);
    }
    println!(
        "corpus: builds {}, emails wanted {wanted}, sent {sent}, misses {}, false alarms {}, precision {}, recall {}",
        rows.len(),
        misses.len(),
        false_alarms.len(),
        ratio(hits, sent),
        ratio(hits, wanted)
    );
    println!(
        "corpus: failed builds' cause emails wanted {}, sent {}, matching the label {}",
        rows.iter().filter(|r| r.cause_wanted).count(),
        rows.iter().filter(|r| r.cause_sent).count(),
        rows.iter().filter(|r| r.cause_wanted == r.cause_sent).count()
    );
    let failures: Vec<String> = rows
        .iter()
        .filter(|r| r.wanted != r.sent || !r.problems.is_empty())
        .map(|r| {
            let what = match (r.wanted, r.sent) {
                (true, false) => "miss".to_owned(),
                (false, true) => "false alarm".to_owned(),
                _ => "wrong".to_owned(),
            };
            format!("{} ({what}): {} [{}]", r.name, r.problems.join("; "), r.summary)
        })
        .collect();
    assert!(failures.is_empty(), "corpus cases judged wrong:\n{}", failures.join("\n"));
}
