//! One managed location, pruned as an independent run: its own listing (skipping the locations
//! inside it), its own planner and N-newest heap, its own resume point. A sweep runs several at once.

use super::delete::DeleteQueue;
use super::lister::{Lister, S3Lister};
use super::newest::Kept;
use super::pager::{PageLimits, Pager};
use super::plan::{Deletion, ObjectMeta, PlanSummary, PrunePolicy, RunQuota};
use super::planner::{Finished, LocationPlanner};
use super::walk::Walk;
use super::writers::Writers;
use crate::error::AwsError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock};
use tokio::sync::mpsc;
use tracing::{info, warn};

/// Why a run stopped when the deletion cap was met.
pub const CAPPED: &str = "cap of deletions per run reached";

/// Where a location's listing stopped, and its N newest so far: what the next run continues with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_after: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub newest: Vec<Kept>,
}

/// How a location's run ended.
#[derive(Debug)]
pub enum Ending {
    /// The listing reached its end: `Finished` carries what the total budget needs.
    Finished(Box<Finished>),
    /// A limit (deadline, page limit, the deletion cap) stopped it; the next run continues.
    Stopped { why: String, progress: Progress },
    /// A call failed. Transient (throttling, 5xx after the SDK's retries): the next run continues from
    /// `progress`. Permanent (access denied, not found, invalid): the location's refusal.
    Failed { error: AwsError, progress: Progress },
}

impl Ending {
    /// The error is one a retry may heal.
    pub fn transient(error: &AwsError) -> bool {
        error.is_transient()
    }
}

/// What a location's run reports.
#[derive(Debug)]
pub struct LocationRun {
    pub summary: PlanSummary,
    pub ending: Ending,
}

/// What one run's tasks share, owned by the run (built by `CachePruner::kit`); `shared` lends it.
pub struct RunKit {
    pub policy: PrunePolicy,
    pub quota: RunQuota,
    pub limits: PageLimits,
    pub lister: S3Lister,
    /// The deleter: `queue.finish()` once every task is done.
    pub queue: DeleteQueue,
    pub now: DateTime<Utc>,
}

impl RunKit {
    pub fn shared(&self) -> Shared<'_, S3Lister> {
        Shared {
            lister: &self.lister,
            policy: &self.policy,
            quota: &self.quota,
            limits: &self.limits,
            now: self.now,
            deletions: self.queue.sender(),
            halt: self.queue.halt(),
        }
    }
}

/// What every location run of a sweep shares.
pub struct Shared<'a, L: Lister> {
    pub lister: &'a L,
    pub policy: &'a PrunePolicy,
    pub quota: &'a RunQuota,
    pub limits: &'a PageLimits,
    pub now: DateTime<Utc>,
    /// Planned deletions go to the deleter (bounded: a slow S3 slows the listing, never memory).
    pub deletions: mpsc::Sender<Deletion>,
    /// Set by the deleter when deleting cannot go on (a call error no retry heals).
    pub halt: Arc<OnceLock<String>>,
}

impl<L: Lister> Shared<'_, L> {
    /// Why every run must stop now, if it must: the deleter halted, the caller asked to stop, or
    /// the deletion cap is met.
    pub fn stop_reason(&self) -> Option<String> {
        if let Some(why) = self.halt.get() {
            return Some(why.clone());
        }
        if self.limits.lease_lost() {
            return Some(super::keeper::LEASE_LOST.to_owned());
        }
        if self.limits.stop_requested() {
            return Some(super::pager::STOP_REQUESTED.to_owned());
        }
        self.quota.exhausted().then(|| CAPPED.to_owned())
    }
}

/// One location: where to list, what to skip, how to plan, where to start.
pub struct LocationTask<'a> {
    pub prefix: &'a str,
    pub orphaned: bool,
    /// When the location's first project was created (objects older are never deleted).
    pub born: Option<DateTime<Utc>>,
    /// `<location>/` of the locations inside this one.
    pub skip: Vec<String>,
    pub resume: Progress,
    /// Who wrote its objects, when it is shared: the N newest are kept per project.
    pub writers: Option<&'a Writers>,
}

impl LocationTask<'_> {
    /// Lists, plans and hands deletions on until the listing ends, a limit stops it, or a call fails.
    pub async fn run<L: Lister>(self, shared: &Shared<'_, L>) -> LocationRun {
        let resumed_at = self.resume.start_after.clone();
        let mut planner = LocationPlanner::new(
            shared.policy,
            shared.quota,
            self.prefix,
            self.orphaned,
            shared.now,
            self.resume.newest,
        )
        .born(self.born)
        .writers(self.writers);
        let mut walk = Walk::new(format!("{}/", self.prefix), self.skip, resumed_at);
        let mut pager = Pager::new(shared.lister.clone());
        pager.request(walk.request(), shared.limits);
        let mut out = Vec::new();
        loop {
            if let Some(why) = shared.stop_reason() {
                return stopped(planner, why, walk.position());
            }
            let page = match pager.next().await {
                None => {
                    let why = pager.stopped.unwrap_or("stopped").to_owned();
                    return stopped(planner, why, walk.position());
                }
                Some(result) => result,
            };
            let objects = match page.and_then(|page| walk.advance(page)) {
                Ok(objects) => objects,
                Err(error) => {
                    warn!(action = "list", location = %self.prefix, error = %error, "listing failed");
                    let start_after = walk.position().map(str::to_owned);
                    let (summary, newest) = planner.suspend();
                    return LocationRun {
                        summary,
                        ending: Ending::Failed { error, progress: Progress { start_after, newest } },
                    };
                }
            };
            shared.limits.listed(&objects);
            if !walk.done() {
                pager.request(walk.request(), shared.limits);
            }
            let mut capped = false;
            for o in objects {
                if !planner
                    .push(ObjectMeta { key: o.key, size: o.size, last_modified_ms: o.last_modified_ms }, &mut out)
                {
                    capped = true;
                    break;
                }
            }
            send(&shared.deletions, &mut out).await;
            if capped {
                let at = planner.last_key().map(str::to_owned);
                return stopped(planner, CAPPED.into(), at.as_deref());
            }
            if walk.done() {
                let manifests = planner.buildkit_manifests();
                let mut read = std::collections::BTreeMap::new();
                for key in manifests {
                    let body = match shared.lister.read(&key).await {
                        Ok(Some(body)) => Ok(body),
                        Ok(None) => Err("it is gone".to_owned()),
                        Err(e) => Err(e.to_string()),
                    };
                    read.insert(key, body);
                }
                planner.decide_buildkit(&read, &mut out);
                let finished = planner.finish(&mut out);
                send(&shared.deletions, &mut out).await;
                info!(action = "listed", location = %self.prefix, scanned = finished.summary.scanned, planned = finished.summary.planned, "location listed");
                return LocationRun { summary: finished.summary.clone(), ending: Ending::Finished(Box::new(finished)) };
            }
        }
    }
}

fn stopped(planner: LocationPlanner, why: String, position: Option<&str>) -> LocationRun {
    let start_after = position.map(str::to_owned);
    let (summary, newest) = planner.suspend();
    LocationRun { summary, ending: Ending::Stopped { why, progress: Progress { start_after, newest } } }
}

/// Hands the planned deletions to the deleter (which never goes away before the sweep ends).
pub async fn send(to: &mpsc::Sender<Deletion>, out: &mut Vec<Deletion>) {
    for deletion in out.drain(..) {
        if to.send(deletion).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aws::s3_objects::{ListPage, ListedObject};
    use crate::pruner::RunLimits;
    use crate::pruner::lister::MemoryLister;
    use crate::pruner::pager::STOP_REQUESTED;
    use crate::pruner::progress::PruneProgress;
    use crate::pruner::walk::Request;
    use chrono::TimeZone;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

    /// An in-memory bucket that sets the stop flag when its `at`-th page is asked for (as a person
    /// pressing Ctrl-C while that page is on its way).
    #[derive(Clone)]
    struct StoppingLister {
        inner: MemoryLister,
        stop: Arc<AtomicBool>,
        calls: Arc<AtomicUsize>,
        at: usize,
    }

    impl Lister for StoppingLister {
        async fn list(&self, request: Request) -> Result<ListPage, AwsError> {
            if self.calls.fetch_add(1, Ordering::SeqCst) + 1 == self.at {
                self.stop.store(true, Ordering::SeqCst);
            }
            self.inner.list(request).await
        }

        async fn read(&self, key: &str) -> Result<Option<Vec<u8>>, AwsError> {
            self.inner.read(key).await
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 3, 0, 0).unwrap()
    }

    /// 20 objects of 10 bytes, 40 days old and older (`tts/00` the newest), in pages of 3.
    fn bucket() -> MemoryLister {
        let objects = (0..20)
            .map(|i| ListedObject {
                key: format!("tts/{i:02}"),
                size: 10,
                last_modified_ms: (now() - chrono::Duration::days(40 + i)).timestamp_millis(),
            })
            .collect();
        MemoryLister::new(objects).with_page_size(3)
    }

    /// Runs the location once with `limits`; returns how it ended and the keys it planned.
    async fn run_once<L: Lister>(lister: &L, limits: &RunLimits, resume: Progress) -> (LocationRun, Vec<String>) {
        let policy = PrunePolicy {
            keep_newest: 3,
            max_age: chrono::Duration::days(30),
            min_age: chrono::Duration::hours(24),
            project_budget: None,
            total_budget: None,
            max_deletes: 1000,
        };
        let quota = RunQuota::new(policy.max_deletes);
        let pages = PageLimits::of_run(limits);
        let (tx, mut rx) = mpsc::channel::<Deletion>(64);
        let collector = tokio::spawn(async move {
            let mut keys = Vec::new();
            while let Some(d) = rx.recv().await {
                keys.push(d.key);
            }
            keys
        });
        let shared = Shared {
            lister,
            policy: &policy,
            quota: &quota,
            limits: &pages,
            now: now(),
            deletions: tx,
            halt: Default::default(),
        };
        let task = LocationTask { prefix: "tts", orphaned: false, born: None, skip: vec![], resume, writers: None };
        let run = task.run(&shared).await;
        drop(shared);
        (run, collector.await.unwrap())
    }

    #[tokio::test]
    async fn a_stopped_run_ends_at_a_page_boundary_and_the_next_run_ends_exactly_as_one_would() {
        let stop = Arc::new(AtomicBool::new(false));
        let progress = Arc::new(PruneProgress::default());
        let lister = StoppingLister { inner: bucket(), stop: stop.clone(), calls: Arc::default(), at: 3 };
        let limits = RunLimits::default().with_stop(stop.clone()).with_progress(progress.clone());
        let (run, mut first) = run_once(&lister, &limits, Progress::default()).await;
        let Ending::Stopped { why, progress: resume } = run.ending else { panic!("{:?}", run.ending) };
        assert_eq!(why, STOP_REQUESTED);
        // Page 3 was asked for (setting the flag) while page 2 was planned: the run ends after page
        // 2 or, when page 3 arrived before the flag was seen, after it; never inside a page.
        let listed = progress.snapshot().listed;
        assert!(listed == 6 || listed == 9, "{listed}");
        assert_eq!(resume.start_after, Some(format!("tts/{:02}", listed - 1)));
        assert_eq!(progress.snapshot().bytes_listed, listed * 10, "counted per page planned");

        let (run, rest) = run_once(&bucket(), &RunLimits::default(), resume).await;
        assert!(matches!(run.ending, Ending::Finished(_)), "{:?}", run.ending);
        first.extend(rest);
        let (_, whole) = run_once(&bucket(), &RunLimits::default(), Progress::default()).await;
        assert_eq!(first, whole, "the two runs delete exactly what one run deletes");
        assert_eq!(whole.len(), 17, "all but the 3 newest");
    }
}
