//! The bounds of one run: the Lambda deadline (minus a margin), an optional page limit, and a
//! caller's stop flag; and the counters a caller may watch the run by.

use super::keeper::{LeaseLoss, Renewal};
use super::progress::PruneProgress;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// How long a run without a deadline (a local process, a test) holds the lease.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(15 * 60);

/// Bounds of one run.
#[derive(Debug, Clone, Default)]
pub struct RunLimits {
    /// Stop listing once this instant is reached (the Lambda deadline minus the margin). At least one
    /// page is always processed, so every run makes progress.
    pub deadline: Option<Instant>,
    /// The invocation's own end (Lambda stops it there): how long the run's lease must last.
    pub hard_deadline: Option<Instant>,
    /// Stop after this many listing pages (an operational and test knob; None = no limit).
    pub max_pages: Option<usize>,
    /// Set by the caller (a person pressing Ctrl-C) to stop the run cleanly: checked wherever the
    /// deadline is, so every location stops at a page boundary, the deletions already planned are
    /// made, and the resume state is saved and the lease given back, as at a deadline.
    pub stop: Option<Arc<AtomicBool>>,
    /// Counters updated per listing page and per deletion batch, for a caller showing progress.
    pub progress: Option<Arc<PruneProgress>>,
    /// For a run nothing stops at its deadline (the command line): its lease lasts one span and is
    /// renewed while it runs (`keeper`). None: the lease covers the run to its hard deadline.
    pub renewal: Option<Renewal>,
    /// Set when the run lost its lease: it stops at the next page and does not save the state.
    pub lease_loss: LeaseLoss,
}

impl RunLimits {
    /// Limits for an invocation that must end by `deadline`: listing stops `margin` before it, so
    /// the deletions in flight and the state write finish in time. Err(time left) when the margin
    /// is not below the time the invocation has: the function's timeout is too short for it.
    pub fn before_deadline(deadline: SystemTime, now: SystemTime, margin: Duration) -> Result<Self, Duration> {
        let left = deadline.duration_since(now).unwrap_or_default();
        if left <= margin {
            return Err(left);
        }
        let start = Instant::now();
        Ok(RunLimits {
            deadline: Some(start + (left - margin)),
            hard_deadline: Some(start + left),
            ..RunLimits::default()
        })
    }

    /// These limits with a stop flag the caller may set at any time.
    pub fn with_stop(mut self, stop: Arc<AtomicBool>) -> Self {
        self.stop = Some(stop);
        self
    }

    /// These limits with counters the caller may read while the run goes on.
    pub fn with_progress(mut self, progress: Arc<PruneProgress>) -> Self {
        self.progress = Some(progress);
        self
    }

    /// These limits with the lease renewed while the run goes on (a run that may outlive its
    /// deadline).
    pub fn with_renewal(mut self, renewal: Renewal) -> Self {
        self.renewal = Some(renewal);
        self
    }

    /// Whether the caller asked the run to stop.
    pub fn stop_requested(&self) -> bool {
        self.stop.as_ref().is_some_and(|s| s.load(Ordering::SeqCst))
    }

    /// How long the run's lease lasts when taken: one renewal span, or until the invocation's
    /// end, or the default.
    pub fn lease_duration(&self) -> chrono::Duration {
        if let Some(renewal) = self.renewal {
            return chrono::Duration::from_std(renewal.span).unwrap_or(chrono::Duration::minutes(5));
        }
        let left = self.hard_deadline.map_or(DEFAULT_LEASE, |d| d.saturating_duration_since(Instant::now()));
        chrono::Duration::from_std(left).unwrap_or(chrono::Duration::minutes(15))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deadline_leaves_the_margin() {
        let now = SystemTime::now();
        let before = Instant::now();
        let limits = RunLimits::before_deadline(now + Duration::from_secs(900), now, Duration::from_secs(30)).unwrap();
        let deadline = limits.deadline.expect("a deadline");
        assert!(deadline >= before + Duration::from_secs(870) && deadline <= Instant::now() + Duration::from_secs(870));
        assert!(limits.lease_duration() <= chrono::Duration::seconds(900));
        assert!(limits.lease_duration() > chrono::Duration::seconds(890));
        assert_eq!(limits.max_pages, None);
    }

    #[test]
    fn a_margin_the_invocation_cannot_afford_is_refused() {
        let now = SystemTime::now();
        let margin = Duration::from_secs(30);
        assert_eq!(
            RunLimits::before_deadline(now + Duration::from_secs(20), now, margin).unwrap_err(),
            Duration::from_secs(20)
        );
        assert_eq!(RunLimits::before_deadline(now - Duration::from_secs(5), now, margin).unwrap_err(), Duration::ZERO);
        assert!(RunLimits::before_deadline(now + Duration::from_secs(31), now, margin).is_ok());
        assert_eq!(RunLimits::default().lease_duration(), chrono::Duration::minutes(15));
    }

    #[test]
    fn a_renewed_lease_lasts_one_span_whatever_the_deadline() {
        let now = SystemTime::now();
        let limits = RunLimits::before_deadline(now + Duration::from_secs(3600), now, Duration::from_secs(30))
            .unwrap()
            .with_renewal(Renewal::STANDARD);
        assert_eq!(limits.lease_duration(), chrono::Duration::minutes(5));
    }
}
