//! template.yaml and the code held together: every function builds a workspace binary, sets exactly
//! the environment variables its code reads, and receives exactly the sample events meant for it,
//! judged by EventBridge's TestEventPattern (on the emulator) with the rules as deployed.
//!
//! The template is read through `scripts/template_json.py` (cfn-lint's decoder, and with
//! `--transform` the SAM transform itself) in the project's `.venv`; `bash scripts/lint-install.sh`
//! installs what it needs.

use cache_sentinel::guard::GuardConfig;
use cache_sentinel::monitor::MonitorConfig;
use cache_sentinel::pruner::PrunerConfig;
use cache_sentinel::testing;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

pub(super) const GUARD: &str = "CacheGuardFunction";
pub(super) const PRUNER: &str = "CachePrunerFunction";
pub(super) const MONITOR: &str = "BuildTimeMonitorFunction";

/// The variables each function reads, from the code where the code has its list.
/// (Each config's `variables()` is the common list plus its own.)
fn variables_read_by(function: &str) -> BTreeSet<String> {
    let read = match function {
        GUARD => GuardConfig::variables(),
        PRUNER => PrunerConfig::variables(),
        MONITOR => MonitorConfig::variables(),
        other => panic!("no variable list for function {other}"),
    };
    read.into_iter().map(str::to_owned).collect()
}

/// Which functions' build rules each sample event must reach (with no project-name prefix set).
/// Every file in events/ (not events/invalid) must be listed here.
const EXPECTED_RECEIVERS: &[(&str, &[&str])] = &[
    ("build-in-progress.json", &[GUARD]),
    ("build-succeeded.json", &[PRUNER, MONITOR]),
    ("aws-documented-build-succeeded.json", &[PRUNER, MONITOR]),
    ("build-failed.json", &[MONITOR]),
    ("build-timed-out.json", &[MONITOR]),
    ("scheduled-sweep.json", &[]),
    ("sam-generated-scheduled-event.json", &[]),
    // The digest schedule's Input, as its rule sends it (no pattern: only the schedule sends it).
    ("digest-request.json", &[]),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

/// The template as JSON; `transform` = after the SAM transform (what CloudFormation deploys).
pub(super) fn template(transform: bool) -> Value {
    let python = root().join(".venv/bin/python");
    assert!(python.exists(), "{} is missing: run `bash scripts/lint-install.sh`", python.display());
    let mut command = Command::new(&python);
    command.arg(root().join("scripts/template_json.py"));
    if transform {
        command.arg("--transform");
    }
    let out = command.arg(root().join("template.yaml")).output().expect("run scripts/template_json.py");
    assert!(
        out.status.success(),
        "scripts/template_json.py failed ({}); if a module is missing run `bash scripts/lint-install.sh`:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("template_json.py prints JSON")
}

fn resources_of_type<'a>(template: &'a Value, kind: &str) -> BTreeMap<&'a str, &'a Value> {
    template["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(id, r)| (id.as_str(), r))
        .collect()
}

/// The logical id a `{"Fn::GetAtt": [id, "Arn"]}` or `{"Ref": id}` points at.
pub(super) fn referenced_id(value: &Value) -> Option<&str> {
    value.get("Fn::GetAtt").and_then(|g| g.get(0)).or_else(|| value.get("Ref")).and_then(Value::as_str)
}

/// Parameter values: the template's defaults, with overrides.
pub(super) fn parameters(template: &Value, overrides: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut values: BTreeMap<String, String> = template["Parameters"]
        .as_object()
        .expect("Parameters")
        .iter()
        .map(|(name, p)| {
            let default = match &p["Default"] {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (name.clone(), default)
        })
        .collect();
    for (name, value) in overrides {
        assert!(values.contains_key(*name), "template has no parameter {name}");
        values.insert((*name).to_owned(), (*value).to_owned());
    }
    values
}

/// Evaluates a condition expression of the Conditions section.
fn condition(template: &Value, expr: &Value, params: &BTreeMap<String, String>) -> bool {
    let (name, args) = expr.as_object().and_then(|o| o.iter().next()).expect("condition is an intrinsic");
    match name.as_str() {
        "Fn::Equals" => {
            let a = resolve(template, &args[0], params);
            let b = resolve(template, &args[1], params);
            a == b
        }
        "Fn::Not" => !condition(template, &args[0], params),
        "Fn::And" => args.as_array().expect("Fn::And list").iter().all(|c| condition(template, c, params)),
        "Fn::Or" => args.as_array().expect("Fn::Or list").iter().any(|c| condition(template, c, params)),
        "Condition" => named_condition(template, args.as_str().expect("condition name"), params),
        other => panic!("unsupported condition function {other}"),
    }
}

pub(super) fn named_condition(template: &Value, name: &str, params: &BTreeMap<String, String>) -> bool {
    let expr = &template["Conditions"][name];
    assert!(!expr.is_null(), "no condition {name}");
    condition(template, expr, params)
}

/// Resolves the intrinsics an event pattern may hold (Ref to a parameter, Fn::If) for given
/// parameter values; anything else in a pattern is a test failure, as EventBridge could not take it.
pub(super) fn resolve(template: &Value, value: &Value, params: &BTreeMap<String, String>) -> Value {
    match value {
        Value::Object(map) if map.len() == 1 && map.contains_key("Ref") => {
            let name = map["Ref"].as_str().expect("Ref name");
            Value::String(params.get(name).unwrap_or_else(|| panic!("Ref {name} is not a parameter")).clone())
        }
        Value::Object(map) if map.len() == 1 && map.contains_key("Fn::If") => {
            let args = map["Fn::If"].as_array().expect("Fn::If list");
            let branch = if named_condition(template, args[0].as_str().expect("condition name"), params) {
                &args[1]
            } else {
                &args[2]
            };
            resolve(template, branch, params)
        }
        Value::Object(map) => {
            if let Some(key) = map.keys().find(|k| k.starts_with("Fn::")) {
                panic!("unsupported intrinsic {key} in an event pattern");
            }
            Value::Object(map.iter().map(|(k, v)| (k.clone(), resolve(template, v, params))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(|v| resolve(template, v, params)).collect()),
        other => other.clone(),
    }
}

/// The build-event rules as deployed (after the transform): (rule id, target function id, pattern).
fn build_rules(deployed: &Value) -> Vec<(String, String, Value)> {
    resources_of_type(deployed, "AWS::Events::Rule")
        .into_iter()
        .filter(|(_, rule)| !rule["Properties"]["EventPattern"].is_null())
        .map(|(id, rule)| {
            let targets = rule["Properties"]["Targets"].as_array().expect("rule targets");
            assert_eq!(targets.len(), 1, "rule {id} should have one target");
            let function = referenced_id(&targets[0]["Arn"]).expect("target is a function of the stack").to_owned();
            (id.to_owned(), function, rule["Properties"]["EventPattern"].clone())
        })
        .collect()
}

async fn eventbridge() -> aws_sdk_eventbridge::Client {
    aws_sdk_eventbridge::Client::new(&testing::emulator_clients().await.sdk)
}

/// The functions whose build rules match `event`, by EventBridge's TestEventPattern.
async fn receivers(
    client: &aws_sdk_eventbridge::Client,
    deployed: &Value,
    params: &BTreeMap<String, String>,
    event: &str,
) -> BTreeSet<String> {
    let mut matched = BTreeSet::new();
    for (rule, function, pattern) in build_rules(deployed) {
        let pattern = resolve(deployed, &pattern, params);
        let out = client
            .test_event_pattern()
            .event_pattern(pattern.to_string())
            .event(event)
            .send()
            .await
            .unwrap_or_else(|e| panic!("TestEventPattern for rule {rule} ({pattern}): {e:?}"));
        if out.result() {
            matched.insert(function);
        }
    }
    matched
}

fn sample_events() -> Vec<(String, String)> {
    let mut events: Vec<(String, String)> = std::fs::read_dir(root().join("events"))
        .expect("events/")
        .map(|e| e.expect("events/ entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let name = p.file_name().expect("file name").to_string_lossy().into_owned();
            let body = std::fs::read_to_string(&p).expect("read event");
            (name, body)
        })
        .collect();
    events.sort();
    assert!(events.len() >= EXPECTED_RECEIVERS.len(), "sample events missing from events/");
    events
}

fn expected_receivers(file: &str) -> BTreeSet<String> {
    let (_, functions) = EXPECTED_RECEIVERS
        .iter()
        .find(|(name, _)| *name == file)
        .unwrap_or_else(|| panic!("events/{file} is not in EXPECTED_RECEIVERS: say which functions must receive it"));
    functions.iter().map(|f| (*f).to_owned()).collect()
}

fn set(functions: &[&str]) -> BTreeSet<String> {
    functions.iter().map(|f| (*f).to_owned()).collect()
}

#[test]
fn every_function_builds_a_workspace_binary_with_cargo_lambda() {
    let declared = template(false);
    let deployed = template(true);
    let metadata = Command::new(env!("CARGO"))
        .args(["metadata", "--no-deps", "--format-version", "1", "--offline", "--manifest-path"])
        .arg(root().join("Cargo.toml"))
        .output()
        .expect("cargo metadata");
    assert!(metadata.status.success(), "cargo metadata: {}", String::from_utf8_lossy(&metadata.stderr));
    let metadata: Value = serde_json::from_slice(&metadata.stdout).expect("cargo metadata JSON");
    // Binary name -> manifest of the package that defines it.
    let binaries: BTreeMap<String, PathBuf> = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .flat_map(|p| {
            let manifest = PathBuf::from(p["manifest_path"].as_str().expect("manifest_path"));
            p["targets"]
                .as_array()
                .expect("targets")
                .iter()
                .filter(|t| t["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "bin")))
                .map(move |t| (t["name"].as_str().expect("target name").to_owned(), manifest.clone()))
        })
        .collect();

    let functions = resources_of_type(&declared, "AWS::Serverless::Function");
    assert_eq!(functions.keys().copied().collect::<BTreeSet<_>>(), [GUARD, PRUNER, MONITOR].into_iter().collect());
    let mut built = BTreeSet::new();
    for (id, function) in &functions {
        assert_eq!(function["Metadata"]["BuildMethod"], "rust-cargolambda", "{id}: BuildMethod");
        let binary = function["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{id}: no BuildProperties.Binary"));
        let manifest = binaries
            .get(binary)
            .unwrap_or_else(|| panic!("{id}: no workspace binary named {binary} (have {:?})", binaries.keys()));
        let expected_manifest = root().join("functions").join(binary).join("Cargo.toml");
        assert_eq!(
            manifest.canonicalize().ok(),
            expected_manifest.canonicalize().ok(),
            "{id}: binary {binary} is not defined by functions/{binary}/Cargo.toml"
        );
        built.insert(binary.to_owned());

        // What Lambda is given, after Globals are merged in by the transform.
        let properties = &deployed["Resources"][*id]["Properties"];
        assert_eq!(properties["Runtime"], "provided.al2023", "{id}: Runtime");
        assert_eq!(properties["Handler"], "bootstrap", "{id}: Handler");
        assert_eq!(properties["Architectures"], json!([{ "Ref": "Architecture" }]), "{id}: Architectures");
        assert_eq!(properties["LoggingConfig"]["LogFormat"], "JSON", "{id}: LogFormat");
        assert!(properties["MemorySize"].is_u64() && properties["Timeout"].is_u64(), "{id}: memory and timeout set");
    }
    // sam build runs `cargo lambda build --bin <Binary>` in CodeUri, the workspace root.
    assert_eq!(declared["Globals"]["Function"]["CodeUri"], ".", "CodeUri must be the workspace root");
    assert_eq!(declared["Parameters"]["Architecture"]["Default"], "arm64");
    let functions_dir = root().join("functions");
    let workspace_functions: BTreeSet<String> = binaries
        .iter()
        .filter(|(_, manifest)| manifest.starts_with(&functions_dir))
        .map(|(name, _)| name.clone())
        .collect();
    assert_eq!(built, workspace_functions, "every binary under functions/ is deployed by exactly one function");
}

#[test]
fn every_function_is_given_exactly_the_variables_it_reads() {
    let deployed = template(true);
    for function in [GUARD, PRUNER, MONITOR] {
        let variables = deployed["Resources"][function]["Properties"]["Environment"]["Variables"]
            .as_object()
            .unwrap_or_else(|| panic!("{function}: no environment"));
        let given: BTreeSet<String> = variables.keys().filter(|k| *k != "RUST_LOG").cloned().collect();
        let read = variables_read_by(function);
        let unset: Vec<_> = read.difference(&given).collect();
        let unread: Vec<_> = given.difference(&read).collect();
        assert!(
            unset.is_empty() && unread.is_empty(),
            "{function}: read but not set by the template: {unset:?}; set but never read: {unread:?}"
        );
    }
}

#[tokio::test]
async fn each_sample_event_reaches_exactly_the_functions_meant_for_it() {
    let deployed = template(true);
    let client = eventbridge().await;
    let params = parameters(&deployed, &[]);
    assert_eq!(params["ProjectNamePrefix"], "", "the default deploys with no prefix filter");
    let mut failures = Vec::new();
    for (file, body) in sample_events() {
        let expected = expected_receivers(&file);
        let actual = receivers(&client, &deployed, &params, &body).await;
        if actual != expected {
            failures.push(format!("events/{file}: reached {actual:?}, expected {expected:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[tokio::test]
async fn with_a_project_name_prefix_only_that_prefix_gets_through() {
    let deployed = template(true);
    let client = eventbridge().await;
    let mut checked_both_ways = (false, false);
    for prefix in ["tts-", "my-sample-", "no-such-project-"] {
        let params = parameters(&deployed, &[("ProjectNamePrefix", prefix)]);
        for (file, body) in sample_events() {
            let event: Value = serde_json::from_str(&body).expect("sample event is JSON");
            let project = event["detail"]["project-name"].as_str().unwrap_or_default();
            let expected = if !project.is_empty() && project.starts_with(prefix) {
                expected_receivers(&file)
            } else {
                BTreeSet::new()
            };
            if !expected_receivers(&file).is_empty() {
                if expected.is_empty() { checked_both_ways.1 = true } else { checked_both_ways.0 = true }
            }
            let actual = receivers(&client, &deployed, &params, &body).await;
            assert_eq!(actual, expected, "prefix {prefix:?}, events/{file} (project {project:?})");
        }
    }
    assert_eq!(
        checked_both_ways,
        (true, true),
        "the prefix must be seen both letting events through and keeping them out"
    );
}

#[tokio::test]
async fn every_documented_build_status_reaches_the_right_functions() {
    // CodeBuild's build-status values in "CodeBuild Build State Change" events.
    let deployed = template(true);
    let client = eventbridge().await;
    let params = parameters(&deployed, &[]);
    let base: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("events/build-succeeded.json")).expect("read event"))
            .expect("JSON");
    for (status, expected) in [
        ("IN_PROGRESS", set(&[GUARD])),
        ("SUCCEEDED", set(&[PRUNER, MONITOR])),
        ("FAILED", set(&[MONITOR])),
        ("STOPPED", set(&[MONITOR])),
        ("TIMED_OUT", set(&[MONITOR])),
        ("FAULT", set(&[MONITOR])),
    ] {
        let mut event = base.clone();
        event["detail"]["build-status"] = json!(status);
        let actual = receivers(&client, &deployed, &params, &event.to_string()).await;
        assert_eq!(actual, expected, "build-status {status}");
    }
}

#[test]
fn every_rule_retries_and_dead_letters_and_may_write_to_the_queue() {
    let deployed = template(true);
    let rules = resources_of_type(&deployed, "AWS::Events::Rule");
    let mut per_function: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (id, rule) in &rules {
        let target = &rule["Properties"]["Targets"][0];
        assert_eq!(
            referenced_id(&target["DeadLetterConfig"]["Arn"]),
            Some("DeadLetterQueue"),
            "{id}: dead-letter queue"
        );
        assert!(target["RetryPolicy"]["MaximumRetryAttempts"].is_u64(), "{id}: retry policy");
        let function = referenced_id(&target["Arn"]).expect("target function").to_owned();
        let counts = per_function.entry(function).or_default();
        if rule["Properties"]["ScheduleExpression"].is_null() { counts.0 += 1 } else { counts.1 += 1 }
    }
    for function in [GUARD, PRUNER] {
        assert_eq!(per_function.get(function), Some(&(1, 1)), "{function}: one build-event rule and one schedule");
    }
    assert_eq!(per_function.get(MONITOR), Some(&(1, 2)), "monitor: build events, the sweep and the digest");
    // The queue policy must let every one of these rules (and only them) send dead letters.
    let policy = &deployed["Resources"]["DeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"];
    let allowed: BTreeSet<&str> = policy
        .as_array()
        .expect("statements")
        .iter()
        .filter(|s| s["Effect"] == "Allow" && s["Principal"]["Service"] == "events.amazonaws.com")
        .flat_map(|s| s["Condition"]["ArnEquals"]["aws:SourceArn"].as_array().expect("source ARNs").iter())
        .map(|arn| referenced_id(arn).expect("rule reference"))
        .collect();
    assert_eq!(allowed, rules.keys().copied().collect(), "DeadLetterQueuePolicy source rules");
    // Asynchronous invocations: bounded retries and age, failures to the same queue.
    for function in [GUARD, PRUNER, MONITOR] {
        let config = resources_of_type(&deployed, "AWS::Lambda::EventInvokeConfig")
            .into_values()
            .find(|c| referenced_id(&c["Properties"]["FunctionName"]) == Some(function))
            .unwrap_or_else(|| panic!("{function}: no EventInvokeConfig"));
        assert!(
            config["Properties"]["MaximumRetryAttempts"].is_u64()
                && config["Properties"]["MaximumEventAgeInSeconds"].is_u64()
        );
        let dlq = &deployed["Resources"][function]["Properties"]["DeadLetterConfig"]["TargetArn"];
        assert_eq!(referenced_id(dlq), Some("DeadLetterQueue"), "{function}: async dead-letter queue");
    }
}

/// The digest's schedule sends a request the monitor reads as one (the account, the region and
/// `DigestDays` filled in as CloudFormation's Fn::Sub would), enabled by default and disabled, not
/// removed, by `DigestSchedule=off`.
#[test]
fn the_digest_rule_sends_a_request_the_monitor_reads_and_off_disables_it() {
    use cache_sentinel::event::digest_request::DigestRequest;
    let deployed = template(true);
    let rule = &deployed["Resources"]["BuildTimeMonitorFunctionDigest"]["Properties"];
    assert_eq!(referenced_id(&rule["Targets"][0]["Arn"]), Some(MONITOR));
    for (overrides, days, schedule, state) in [
        (&[][..], "7", "cron(0 8 ? * MON *)", "ENABLED"),
        (&[("DigestSchedule", "off"), ("DigestDays", "1")][..], "1", "rate(7 days)", "DISABLED"),
        (&[("DigestSchedule", "rate(1 day)"), ("DigestDays", "1")][..], "1", "rate(1 day)", "ENABLED"),
    ] {
        let params = parameters(&deployed, overrides);
        assert_eq!(resolve(&deployed, &rule["ScheduleExpression"], &params), json!(schedule));
        assert_eq!(resolve(&deployed, &rule["State"], &params), json!(state));
        let input = rule["Targets"][0]["Input"]["Fn::Sub"].as_str().expect("Input is a Fn::Sub");
        let input = input
            .replace("${AWS::AccountId}", "123456789012")
            .replace("${AWS::Region}", "ap-south-1")
            .replace("${DigestDays}", &params["DigestDays"]);
        let event: Value = serde_json::from_str(&input).expect("Input is JSON");
        let request = DigestRequest::parse(&event).expect("a digest request").expect("valid");
        assert_eq!(request.days.to_string(), days);
        assert_eq!(request.account.as_deref(), Some("123456789012"));
    }
}

#[test]
fn alarms_watch_every_function_and_the_dead_letter_queue() {
    let deployed = template(true);
    let alarms = resources_of_type(&deployed, "AWS::CloudWatch::Alarm");
    let watched: BTreeSet<&str> = alarms
        .values()
        .inspect(|a| {
            assert_eq!(
                a["Properties"]["AlarmActions"],
                json!([{ "Ref": "NotificationTopic" }]),
                "alarm goes to the topic"
            )
        })
        .filter_map(|a| referenced_id(&a["Properties"]["Dimensions"][0]["Value"]))
        .collect();
    assert_eq!(watched, [GUARD, PRUNER, MONITOR, "DeadLetterQueue"].into_iter().collect());
}

#[test]
fn the_deploy_guide_names_what_the_template_defines() {
    let declared = template(false);
    let guide = std::fs::read_to_string(root().join("docs/deploy.md")).expect("docs/deploy.md");
    // The parameters' table is docs/configuration.md's (the guide links it).
    let configuration = std::fs::read_to_string(root().join("docs/configuration.md")).expect("docs/configuration.md");
    let mut missing = Vec::new();
    for section in ["Parameters", "Outputs"] {
        let page = if section == "Parameters" { &configuration } else { &guide };
        for name in declared[section].as_object().expect(section).keys() {
            if !page.contains(&format!("`{name}`")) {
                missing.push(format!("{section}: {name}"));
            }
        }
    }
    for id in [GUARD, PRUNER, MONITOR] {
        if !guide.contains(&format!("`{id}`")) {
            missing.push(format!("function {id}"));
        }
    }
    for id in resources_of_type(&declared, "AWS::CloudWatch::Alarm").keys() {
        if !guide.contains(&format!("`{id}`")) {
            missing.push(format!("alarm {id}"));
        }
    }
    assert!(missing.is_empty(), "docs/deploy.md (docs/configuration.md for parameters) does not mention: {missing:?}");
    // Every logical id the guide invokes locally exists.
    for line in guide.lines().filter(|l| l.contains("sam local invoke ")) {
        let id = line
            .split("sam local invoke ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .expect("function id");
        assert!(
            declared["Resources"][id]["Type"] == "AWS::Serverless::Function",
            "docs/deploy.md invokes unknown function {id}"
        );
    }
}

/// The dashboard shows only metrics the code emits, exactly as it emits them (namespace, name, the
/// `Function` dimension with its function), and every one of them: they cannot drift apart.
#[test]
fn the_dashboard_shows_every_metric_the_code_emits_and_no_other() {
    use cache_sentinel::metrics::catalogue::{CATALOGUE, FUNCTION, NAMESPACE};
    let declared = template(false);
    let dashboards = resources_of_type(&declared, "AWS::CloudWatch::Dashboard");
    assert_eq!(dashboards.len(), 1, "one dashboard: {:?}", dashboards.keys());
    let body = dashboards.values().next().unwrap()["Properties"]["DashboardBody"]["Fn::Sub"]
        .as_str()
        .expect("DashboardBody is a !Sub string");
    // ${AWS::Region} and ${...LogGroup} are CloudFormation's; anything else would be a typo.
    let mut substituted = String::new();
    let mut rest = body;
    while let Some(at) = rest.find("${") {
        substituted.push_str(&rest[..at]);
        let end = rest[at..].find('}').expect("a closed ${...}") + at;
        let name = &rest[at + 2..end];
        assert!(
            name == "AWS::Region" || declared["Resources"][name].is_object(),
            "the dashboard substitutes ${{{name}}}, which is neither a pseudo parameter nor a resource"
        );
        substituted.push('x');
        rest = &rest[end + 1..];
    }
    substituted.push_str(rest);
    let body: Value = serde_json::from_str(&substituted).expect("the dashboard body is JSON");
    let mut shown = BTreeSet::new();
    for widget in body["widgets"].as_array().expect("widgets") {
        if widget["type"] != "metric" {
            continue;
        }
        for metric in widget["properties"]["metrics"].as_array().expect("a metric widget's metrics") {
            let parts = metric.as_array().expect("a metric is an array");
            let strings: Vec<&str> = parts.iter().filter_map(Value::as_str).collect();
            if strings.is_empty() {
                continue; // a math expression over the metrics below it
            }
            let (namespace, name, dimensions) = (strings[0], strings[1], &strings[2..]);
            assert_eq!(namespace, NAMESPACE, "{metric}");
            let def =
                CATALOGUE.iter().find(|d| d.name == name).unwrap_or_else(|| panic!("the code emits no metric {name}"));
            assert_eq!(dimensions, [FUNCTION, def.function], "{name} is emitted with Function={} only", def.function);
            shown.insert(name);
        }
    }
    let missing: Vec<_> = CATALOGUE.iter().map(|d| d.name).filter(|n| !shown.contains(n)).collect();
    assert!(missing.is_empty(), "metrics the code emits that the dashboard does not show: {missing:?}");
}
