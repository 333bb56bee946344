//! How the sweep's listing scales with PRUNE_LIST_CONCURRENCY when S3 is latency-bound, without
//! S3: the sweep's own location runs (walk, planner, N-newest heap, deletions handed on) over an
//! in-memory bucket that answers each ListObjectsV2 after a fixed delay. It measures the pruner's
//! side only (no XML, no network): wall time, objects per second and the process's CPU time for
//! each concurrency. The end-to-end figure against an S3 emulator is `scripts/bench-pruner.sh`.
//!
//!   bench_walk [OBJECTS=100000] [LOCATIONS=100] [LATENCY_MS=50] [CONCURRENCIES=1,2,4,8,16,32]

use cache_sentinel::aws::s3_objects::{ListPage, ListedObject};
use cache_sentinel::error::AwsError;
use cache_sentinel::pruner::PrunePolicy;
use cache_sentinel::pruner::lister::{Lister, MemoryLister};
use cache_sentinel::pruner::pager::PageLimits;
use cache_sentinel::pruner::plan::RunQuota;
use cache_sentinel::pruner::task::{LocationTask, Shared};
use cache_sentinel::pruner::walk::Request;
use chrono::{Duration, TimeZone, Utc};
use futures::StreamExt;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// The in-memory bucket, answering after a fixed delay, as a latency-bound S3 would.
#[derive(Clone)]
struct Slow {
    bucket: MemoryLister,
    latency: std::time::Duration,
}

impl Lister for Slow {
    async fn list(&self, request: Request) -> Result<ListPage, AwsError> {
        tokio::time::sleep(self.latency).await;
        Ok(self.bucket.page(&request))
    }

    async fn read(&self, key: &str) -> Result<Option<Vec<u8>>, AwsError> {
        tokio::time::sleep(self.latency).await;
        self.bucket.read(key).await
    }
}

fn arg<T: std::str::FromStr>(i: usize, default: T) -> T {
    std::env::args().nth(i).and_then(|a| a.parse().ok()).unwrap_or(default)
}

/// User plus system CPU time of this process so far, in seconds (from /proc/self/stat).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or_default().split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / 100.0
}

#[tokio::main]
async fn main() {
    let objects: u64 = arg(1, 100_000);
    let locations: u64 = arg(2, 100).max(1);
    let latency = std::time::Duration::from_millis(arg(3, 50));
    let concurrencies: String = arg(4, "1,2,4,8,16,32".to_owned());
    let now = Utc.with_ymd_and_hms(2026, 11, 20, 3, 0, 0).unwrap();
    let mut listed = Vec::with_capacity(objects as usize);
    for i in 0..objects {
        let key =
            format!("service-{:04}-build/{:016x}", i % locations, (i / locations).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let age = Duration::minutes(((i * 7919) % (90 * 24 * 60)) as i64);
        listed.push(ListedObject { key, size: 1 << 20, last_modified_ms: (now - age).timestamp_millis() });
    }
    let lister = Slow { bucket: MemoryLister::new(listed), latency };
    let prefixes: Vec<String> = (0..locations).map(|l| format!("service-{l:04}-build")).collect();
    let policy = PrunePolicy {
        keep_newest: 3,
        max_age: Duration::days(30),
        min_age: Duration::hours(24),
        project_budget: None,
        total_budget: None,
        max_deletes: usize::MAX,
    };
    for concurrency in concurrencies.split(',').filter_map(|c| c.trim().parse::<usize>().ok()) {
        let quota = RunQuota::new(policy.max_deletes);
        let limits = PageLimits::new(None, None);
        let (tx, mut rx) = tokio::sync::mpsc::channel(2000);
        let drain = tokio::spawn(async move {
            let mut n = 0u64;
            while rx.recv().await.is_some() {
                n += 1;
            }
            n
        });
        let shared = Shared {
            lister: &lister,
            policy: &policy,
            quota: &quota,
            limits: &limits,
            now,
            deletions: tx,
            halt: Arc::new(OnceLock::new()),
        };
        let (started, cpu) = (Instant::now(), cpu_seconds());
        let scanned: u64 = futures::stream::iter(&prefixes)
            .map(|prefix| {
                let task = LocationTask {
                    prefix,
                    orphaned: false,
                    born: None,
                    skip: vec![],
                    resume: Default::default(),
                    writers: None,
                };
                let shared = &shared;
                async move { task.run(shared).await.summary.scanned }
            })
            .buffer_unordered(concurrency)
            .fold(0, |a, b| async move { a + b })
            .await;
        drop(shared);
        let planned = drain.await.unwrap_or(0);
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{}",
            serde_json::json!({
                "benchmark": "location runs over an in-memory bucket with a fixed delay per request",
                "objects": objects, "locations": locations, "latency_ms": latency.as_millis() as u64,
                "concurrency": concurrency, "scanned": scanned, "planned": planned,
                "seconds": (seconds * 1000.0).round() / 1000.0,
                "objects_per_second": (scanned as f64 / seconds).round(),
                "cpu_seconds": ((cpu_seconds() - cpu) * 100.0).round() / 100.0,
            })
        );
    }
}
