//! Planner-only benchmark over a synthetic listing stream (no S3, no network): how much memory and
//! time the streaming planner needs for a given number of objects. Objects are generated in S3's
//! order (project by project, keys increasing), planned one by one, and each planned deletion is
//! dropped at once as the service hands it to a delete batch. Prints a JSON line including the
//! process's peak RSS (VmHWM). Run under `/usr/bin/time -v` for an independent figure.
//!
//!   bench_planner [OBJECTS=1000000] [PROJECTS=100] [BUDGET=none|project|total] [MAX_AGE_DAYS=30]
//!
//! Ages are uniform over 0-90 days; MAX_AGE_DAYS=3650 makes every object a budget candidate (the
//! worst case for the total budget's memory).

use cache_sentinel::pruner::budget::TotalBudget;
use cache_sentinel::pruner::plan::RunQuota;
use cache_sentinel::pruner::{LocationPlanner, ObjectMeta, PrunePolicy};
use chrono::{Duration, TimeZone, Utc};
use std::collections::BTreeMap;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let objects: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let projects: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(100).max(1);
    let budget = args.get(3).map(String::as_str).unwrap_or("none").to_owned();
    let max_age_days: i64 = args.get(4).and_then(|a| a.parse().ok()).unwrap_or(30);
    let now = Utc.with_ymd_and_hms(2026, 11, 20, 3, 0, 0).unwrap();
    let policy = PrunePolicy {
        keep_newest: 3,
        max_age: Duration::days(max_age_days),
        min_age: Duration::hours(24),
        // Budgets small enough to bite: each location holds ~objects/projects * ~50 MB on average.
        project_budget: (budget == "project").then_some(20 * 1024 * 1024 * 1024),
        total_budget: (budget == "total").then_some(1024 * 1024 * 1024 * 1024),
        max_deletes: usize::MAX,
    };
    let started = Instant::now();
    let quota = RunQuota::new(policy.max_deletes);
    let mut total = TotalBudget::new(policy.total_budget, projects as usize);
    let mut by_reason = BTreeMap::new();
    let mut out = Vec::with_capacity(1024);
    let (mut planned, mut rng) = (0u64, 0x9E37_79B9_7F4A_7C15u64);
    let per_project = objects / projects;
    let prefixes: Vec<String> = (0..projects).map(|p| format!("codebuild/{}", project_name(p))).collect();
    for p in 0..projects {
        // Every tenth location is orphaned (its projects gone for longer than the grace).
        let mut planner = LocationPlanner::new(&policy, &quota, &prefixes[p as usize], p % 10 == 9, now, vec![]);
        let in_location = if p == projects - 1 { objects - per_project * (projects - 1) } else { per_project };
        for i in 0..in_location {
            rng = xorshift(rng);
            planner.push(synthetic(&prefixes[p as usize], i, rng, now), &mut out);
            count(&mut out, &mut planned, &mut by_reason);
        }
        let finished = planner.finish(&mut out);
        count(&mut out, &mut planned, &mut by_reason);
        total.absorb(p as u32, finished, &quota);
    }
    let refs: Vec<&str> = prefixes.iter().map(String::as_str).collect();
    let mut drain = total.into_drain(&quota);
    while drain.next_batch(&refs, &quota, 1000, &mut out) {
        count(&mut out, &mut planned, &mut by_reason);
    }
    count(&mut out, &mut planned, &mut by_reason);
    let budget_outcome = drain.finish(&quota);
    let elapsed = started.elapsed();
    println!(
        "{}",
        serde_json::json!({
            "benchmark": "planner only, synthetic listing stream (no S3)",
            "objects": objects,
            "projects": projects,
            "budget": budget,
            "max_age_days": max_age_days,
            "planned": planned,
            "by_reason": by_reason,
            "total_budget": budget_outcome.note,
            "seconds": elapsed.as_secs_f64(),
            "objects_per_second": (objects as f64 / elapsed.as_secs_f64()).round(),
            "peak_rss_kib": cache_sentinel::testing::peak_rss_kib(),
        })
    );
}

/// The i-th object of a location: CodeBuild S3 cache keys are 36-character UUIDs under the
/// location; ages uniform over 0-90 days, sizes 1 KiB-100 MiB.
fn synthetic(prefix: &str, i: u64, rng: u64, now: chrono::DateTime<Utc>) -> ObjectMeta {
    let key = format!(
        "{prefix}/{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        i,
        (rng >> 48) & 0xffff,
        (rng >> 32) & 0xffff,
        (rng >> 16) & 0xffff,
        rng & 0xffff_ffff_ffff
    );
    let age_minutes = (rng >> 7) % (90 * 24 * 60);
    let size = 1024 + (rng >> 13) % (100 * 1024 * 1024);
    ObjectMeta { key, size, last_modified_ms: (now - Duration::minutes(age_minutes as i64)).timestamp_millis() }
}

/// Counts the planned deletions by reason and drops them, as the sweep hands them to S3.
fn count(
    out: &mut Vec<cache_sentinel::pruner::Deletion>,
    planned: &mut u64,
    by_reason: &mut BTreeMap<&'static str, u64>,
) {
    for d in out.drain(..) {
        *planned += 1;
        *by_reason.entry(d.reason.as_str()).or_default() += 1;
    }
}

fn project_name(p: u64) -> String {
    format!("service-{p:04}-build")
}

fn xorshift(mut x: u64) -> u64 {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}
