//! Bad input through all three functions: every sample of `events/invalid/` is refused by each with
//! a typed `*.InvalidEvent` error naming the cause (the file name says which), and valid events
//! mutated at random (fields dropped, retyped, replaced) never panic: each function returns a report
//! or a typed error. The functions run in dry run, scoped to no real project.

use cache_sentinel::aws::Clients;
use cache_sentinel::guard::{CacheGuard, GuardConfig};
use cache_sentinel::monitor::{BuildTimeMonitor, MonitorConfig};
use cache_sentinel::pruner::{CachePruner, PrunerConfig, RunLimits};
use cache_sentinel::testing;
use proptest::prelude::*;
use serde_json::Value;
use std::collections::HashMap;

struct Functions {
    guard: CacheGuard,
    pruner: CachePruner,
    monitor: BuildTimeMonitor,
}

/// One invocation's outcome: Ok, or the error's Lambda type and message.
type Outcome = Result<(), (&'static str, String)>;

impl Functions {
    async fn new(clients: &Clients) -> Self {
        let bucket = testing::unique("bad-input");
        testing::create_bucket(clients, &bucket).await;
        let env: HashMap<String, String> =
            [("CACHE_BUCKET", bucket.as_str()), ("DRY_RUN", "true"), ("PROJECT_INCLUDE", "no-project-of-any-test-*")]
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect();
        Functions {
            guard: CacheGuard::new(GuardConfig::from_env(&env).unwrap(), clients),
            pruner: CachePruner::new(PrunerConfig::from_env(&env).unwrap(), clients),
            monitor: BuildTimeMonitor::new(MonitorConfig::from_env(&env).unwrap(), clients),
        }
    }

    /// Each function's outcome for the event, by function name.
    async fn run(&self, event: &Value) -> [(&'static str, Outcome); 3] {
        let guard = self.guard.handle(event).await.map(drop).map_err(|e| (e.error_type(), e.to_string()));
        let pruner = self
            .pruner
            .handle(event, RunLimits::default())
            .await
            .map(drop)
            .map_err(|e| (e.error_type(), e.to_string()));
        let monitor = self.monitor.handle(event).await.map(drop).map_err(|e| (e.error_type(), e.to_string()));
        [("cache-guard", guard), ("cache-pruner", pruner), ("build-time-monitor", monitor)]
    }
}

#[tokio::test]
async fn every_malformed_sample_is_refused_by_each_function_with_a_typed_error_naming_the_cause() {
    let clients = testing::emulator_clients().await;
    let functions = Functions::new(&clients).await;
    let samples = testing::invalid_events();
    assert!(samples.len() >= 30, "{} samples", samples.len());
    let mut failures = Vec::new();
    for sample in &samples {
        for (function, outcome) in functions.run(&sample.event).await {
            match outcome {
                Ok(()) => failures.push(format!("{}: accepted by {function}", sample.path.display())),
                Err((kind, message)) => {
                    if !kind.ends_with(".InvalidEvent") || !message.contains(&sample.cause) || message.len() > 1000 {
                        failures.push(format!(
                            "{}: {function} said {kind}: {message:.300}, not naming {:?} briefly",
                            sample.path.display(),
                            sample.cause
                        ));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The valid sample events of `events/`.
fn valid_events() -> Vec<Value> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let mut events: Vec<(std::path::PathBuf, Value)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let event = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
            (p, event)
        })
        .collect();
    events.sort_by(|a, b| a.0.cmp(&b.0));
    events.into_iter().map(|(_, e)| e).collect()
}

/// Every path (object keys, array indexes) in the value, depth first.
fn paths(value: &Value, prefix: &mut Vec<PathStep>, out: &mut Vec<Vec<PathStep>>) {
    let children: Vec<(PathStep, &Value)> = match value {
        Value::Object(map) => map.iter().map(|(k, v)| (PathStep::Key(k.clone()), v)).collect(),
        Value::Array(items) => items.iter().enumerate().map(|(i, v)| (PathStep::Index(i), v)).collect(),
        _ => return,
    };
    for (step, child) in children {
        prefix.push(step);
        out.push(prefix.clone());
        paths(child, prefix, out);
        prefix.pop();
    }
}

#[derive(Debug, Clone)]
enum PathStep {
    Key(String),
    Index(usize),
}

#[derive(Debug, Clone)]
enum Mutation {
    Drop,
    Replace(Value),
}

fn replacement() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("JSON numbers are finite", |f| f.is_finite()).prop_map(Value::from),
        ".{0,24}".prop_map(Value::String),
        "(IN_PROGRESS|SUCCEEDED|FAILED|STOPPED|TIMED_OUT|FAULT|aws.codebuild|aws.events|Scheduled Event)"
            .prop_map(Value::String),
        Just(serde_json::json!([])),
        Just(serde_json::json!({})),
        Just(serde_json::json!({"nested": [1, "two", {"three": null}]})),
    ]
}

fn mutation() -> impl Strategy<Value = (usize, Mutation)> {
    (any::<usize>(), prop_oneof![Just(Mutation::Drop), replacement().prop_map(Mutation::Replace)])
}

fn apply(event: &mut Value, path: &[PathStep], mutation: Mutation) {
    let Some((last, parents)) = path.split_last() else { return };
    let mut target = event;
    for step in parents {
        let next = match (step, target) {
            (PathStep::Key(k), Value::Object(map)) => map.get_mut(k),
            (PathStep::Index(i), Value::Array(items)) => items.get_mut(*i),
            _ => None,
        };
        // An earlier mutation may have removed or retyped the parent.
        let Some(next) = next else { return };
        target = next;
    }
    match (last, target, mutation) {
        (PathStep::Key(k), Value::Object(map), Mutation::Drop) => {
            map.remove(k);
        }
        (PathStep::Key(k), Value::Object(map), Mutation::Replace(v)) => {
            map.insert(k.clone(), v);
        }
        (PathStep::Index(i), Value::Array(items), Mutation::Drop) if *i < items.len() => {
            items.remove(*i);
        }
        (PathStep::Index(i), Value::Array(items), Mutation::Replace(v)) if *i < items.len() => items[*i] = v,
        _ => {}
    }
}

#[test]
fn valid_events_mutated_at_random_give_each_function_a_report_or_a_typed_error() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let functions = runtime.block_on(async { Functions::new(&testing::emulator_clients().await).await });
    let bases = valid_events();
    let config = ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() };
    proptest!(config, |(base in 0..bases.len(), mutations in prop::collection::vec(mutation(), 1..4))| {
        let mut event = bases[base].clone();
        let mut all = Vec::new();
        paths(&event, &mut Vec::new(), &mut all);
        for (pick, m) in mutations {
            apply(&mut event, &all[pick % all.len()], m);
        }
        for (function, outcome) in runtime.block_on(functions.run(&event)) {
            if let Err((kind, message)) = outcome {
                let prefix = match function {
                    "cache-guard" => "CacheGuard.",
                    "cache-pruner" => "CachePruner.",
                    _ => "BuildTimeMonitor.",
                };
                prop_assert!(kind.starts_with(prefix) && !message.is_empty(), "{function}: {kind}: {message}");
            }
        }
    });
}

/// Events a function does not handle (`events/unhandled/`: a phase change, a fleet state change,
/// another service's event, a notification rule's payload, directly or through SNS) are refusals,
/// not failures: each function succeeds with a report naming the event and why (retrying never
/// helps, and a broader rule must not page anyone).
#[tokio::test]
async fn events_a_function_does_not_handle_are_reported_refusals_not_failures() {
    let clients = testing::emulator_clients().await;
    let functions = Functions::new(&clients).await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events/unhandled");
    let mut samples: Vec<std::path::PathBuf> =
        std::fs::read_dir(&dir).expect("events/unhandled").map(|e| e.expect("entry").path()).collect();
    samples.sort();
    assert!(samples.len() >= 5, "{} samples", samples.len());
    for path in &samples {
        let event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let cause = stem.split("--").nth(1).unwrap().replace('_', " ");
        let reports = [
            ("cache-guard", as_json(functions.guard.handle(&event).await)),
            ("cache-pruner", as_json(functions.pruner.handle(&event, RunLimits::default()).await)),
            ("build-time-monitor", as_json(functions.monitor.handle(&event).await)),
        ];
        for (function, report) in reports {
            let report = report.unwrap_or_else(|e| panic!("{stem}: {function} failed: {e}"));
            assert_eq!(report["trigger"], "unhandled", "{stem}: {function}: {report}");
            let refused = report["refused"].as_str().unwrap_or_default();
            assert!(refused.contains(&cause), "{stem}: {function} refused with {refused:?}, not naming {cause:?}");
        }
    }
}

/// A function's report as JSON, or its error in words.
fn as_json<R: serde::Serialize, E: std::fmt::Display>(result: Result<R, E>) -> Result<Value, String> {
    result.map(|r| serde_json::to_value(r).expect("report as JSON")).map_err(|e| e.to_string())
}
