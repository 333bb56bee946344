//! Pages of one walk, with the next page requested while the current one is planned, within the
//! run's limits (the deadline, an optional page count and the caller's stop flag, shared by every
//! walk of the run).

use super::keeper::{LEASE_LOST, LeaseLoss};
use super::lister::Lister;
use super::progress::PruneProgress;
use super::walk::Request;
use crate::aws::s3_objects::{ListPage, ListedObject};
use crate::error::AwsError;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;
use tokio::task::JoinHandle;
use tracing::Instrument;

/// Why a run stopped when its caller asked it to (`RunLimits::stop`).
pub const STOP_REQUESTED: &str = "stop requested";

/// The run's listing limits, shared by its walks, and its count of what was listed.
#[derive(Debug, Default)]
pub struct PageLimits {
    deadline: Option<Instant>,
    pages_left: Option<AtomicUsize>,
    granted: AtomicBool,
    stop: Option<Arc<AtomicBool>>,
    lease_loss: LeaseLoss,
    progress: Option<Arc<PruneProgress>>,
}

impl PageLimits {
    pub fn new(deadline: Option<Instant>, max_pages: Option<usize>) -> Self {
        PageLimits {
            deadline,
            pages_left: max_pages.map(AtomicUsize::new),
            granted: AtomicBool::new(false),
            stop: None,
            lease_loss: LeaseLoss::default(),
            progress: None,
        }
    }

    /// The listing limits of a run: its deadline, page limit and stop flag.
    pub fn of_run(limits: &super::RunLimits) -> Self {
        PageLimits {
            stop: limits.stop.clone(),
            lease_loss: limits.lease_loss.clone(),
            progress: limits.progress.clone(),
            ..PageLimits::new(limits.deadline, limits.max_pages)
        }
    }

    /// Counts the objects a page brought to its walk, for the caller's progress counters.
    pub fn listed(&self, objects: &[ListedObject]) {
        if let Some(progress) = &self.progress {
            progress.listed(objects.len() as u64, objects.iter().map(|o| o.size).sum());
        }
    }

    /// Whether the caller asked the run to stop (checked before every page, with the deadline).
    pub fn stop_requested(&self) -> bool {
        self.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst))
    }

    /// Whether the run lost its lease (`keeper`): it stops like at a caller's stop.
    pub fn lease_lost(&self) -> bool {
        self.lease_loss.is_lost()
    }

    /// Takes one page of the run's allowance; Err says which limit stops the run. The first page of
    /// a run is always granted, so every run makes progress, unless the caller asked it to stop.
    pub fn reserve(&self) -> Result<(), &'static str> {
        if self.lease_lost() {
            return Err(LEASE_LOST);
        }
        if self.stop_requested() {
            return Err(STOP_REQUESTED);
        }
        if let Some(left) = &self.pages_left
            && left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_err()
        {
            return Err("page limit reached");
        }
        let first = !self.granted.swap(true, Ordering::Relaxed);
        if !first && self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Err("deadline reached");
        }
        Ok(())
    }

    /// Whether the deadline has passed or the caller asked to stop (work that needs no page still
    /// stops).
    pub fn past_deadline(&self) -> bool {
        self.stop_requested() || self.lease_lost() || self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

/// The page in flight of one walk.
pub struct Pager<L: Lister> {
    lister: L,
    in_flight: Option<JoinHandle<Result<ListPage, AwsError>>>,
    /// The limit that stopped the walk, if one did.
    pub stopped: Option<&'static str>,
}

impl<L: Lister> Pager<L> {
    pub fn new(lister: L) -> Self {
        Pager { lister, in_flight: None, stopped: None }
    }

    /// Requests the next page, if the limits allow it.
    pub fn request(&mut self, request: Request, limits: &PageLimits) {
        match limits.reserve() {
            Ok(()) => {
                let lister = self.lister.clone();
                self.in_flight = Some(tokio::spawn(async move { lister.list(request).await }.in_current_span()));
            }
            Err(why) => self.stopped = Some(why),
        }
    }

    /// The page requested last; None when none is in flight (a limit stopped the walk).
    pub async fn next(&mut self) -> Option<Result<ListPage, AwsError>> {
        let handle = self.in_flight.take()?;
        Some(match handle.await {
            Ok(result) => result,
            Err(e) => {
                Err(AwsError::new("s3:ListObjectsV2", crate::error::AwsErrorKind::Service, "TaskFailed", e.to_string()))
            }
        })
    }
}

impl<L: Lister> Drop for Pager<L> {
    fn drop(&mut self) {
        if let Some(handle) = self.in_flight.take() {
            handle.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_page_is_always_granted_then_limits_apply() {
        let past = PageLimits::new(Some(Instant::now()), None);
        assert_eq!(past.reserve(), Ok(()));
        assert_eq!(past.reserve(), Err("deadline reached"));
        let two = PageLimits::new(None, Some(2));
        assert_eq!((two.reserve(), two.reserve(), two.reserve()), (Ok(()), Ok(()), Err("page limit reached")));
    }

    #[test]
    fn a_stop_request_stops_the_next_page_even_the_first() {
        let stop = Arc::new(AtomicBool::new(false));
        let limits = PageLimits::of_run(&super::super::RunLimits::default().with_stop(stop.clone()));
        assert_eq!(limits.reserve(), Ok(()));
        assert!(!limits.past_deadline());
        stop.store(true, Ordering::SeqCst);
        assert_eq!(limits.reserve(), Err(STOP_REQUESTED));
        assert!(limits.past_deadline());
        let fresh = PageLimits::of_run(&super::super::RunLimits::default().with_stop(stop));
        assert_eq!(fresh.reserve(), Err(STOP_REQUESTED), "a run stopped before it began lists nothing");
    }
}
