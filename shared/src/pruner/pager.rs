//! Pages of one walk, with the next page requested while the current one is planned, within the
//! run's limits (the deadline and an optional page count, shared by every walk of the run).

use super::lister::Lister;
use super::walk::Request;
use crate::aws::s3_objects::ListPage;
use crate::error::AwsError;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;
use tokio::task::JoinHandle;
use tracing::Instrument;

/// The run's listing limits, shared by its walks.
#[derive(Debug, Default)]
pub struct PageLimits {
    deadline: Option<Instant>,
    pages_left: Option<AtomicUsize>,
    granted: AtomicBool,
}

impl PageLimits {
    pub fn new(deadline: Option<Instant>, max_pages: Option<usize>) -> Self {
        PageLimits { deadline, pages_left: max_pages.map(AtomicUsize::new), granted: AtomicBool::new(false) }
    }

    /// Takes one page of the run's allowance; Err says which limit stops the run. The first page of
    /// a run is always granted, so every run makes progress.
    pub fn reserve(&self) -> Result<(), &'static str> {
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

    /// Whether the deadline has passed (work that needs no page still stops).
    pub fn past_deadline(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
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
            Err(e) => Err(AwsError {
                operation: "s3:ListObjectsV2",
                kind: crate::error::AwsErrorKind::Service,
                code: "TaskFailed".into(),
                message: e.to_string(),
            }),
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
}
