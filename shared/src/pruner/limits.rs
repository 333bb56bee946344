//! The bounds of one run: the Lambda deadline (minus a margin) and an optional page limit.

use std::time::{Duration, Instant, SystemTime};

/// Bounds of one run.
#[derive(Debug, Clone, Copy, Default)]
pub struct RunLimits {
    /// Stop listing once this instant is reached (the Lambda deadline minus the margin). At least one
    /// page is always processed, so every run makes progress.
    pub deadline: Option<Instant>,
    /// Stop after this many listing pages (an operational and test knob; None = no limit).
    pub max_pages: Option<usize>,
}

impl RunLimits {
    /// Limits for an invocation that must end by `deadline`: listing stops `margin` before it, so
    /// the deletions in flight and the state write finish in time. A deadline already past (or
    /// closer than the margin) still lets one page through: every run makes progress.
    pub fn before_deadline(deadline: SystemTime, now: SystemTime, margin: Duration) -> Self {
        let left = deadline.duration_since(now).unwrap_or_default();
        RunLimits { deadline: Some(Instant::now() + left.saturating_sub(margin)), max_pages: None }
    }

    /// Why the run must stop after `pages` pages, if it must.
    pub fn expired(&self, pages: usize) -> Option<&'static str> {
        if self.max_pages.is_some_and(|max| pages >= max) {
            Some("page limit reached")
        } else if self.deadline.is_some_and(|d| Instant::now() >= d) {
            Some("deadline reached")
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deadline_leaves_the_margin() {
        let now = SystemTime::now();
        let before = Instant::now();
        let limits = RunLimits::before_deadline(now + Duration::from_secs(900), now, Duration::from_secs(30));
        let deadline = limits.deadline.expect("a deadline");
        assert!(deadline >= before + Duration::from_secs(870) && deadline <= Instant::now() + Duration::from_secs(870));
        // Already past, or within the margin: the deadline is now (one page, then stop).
        let past = RunLimits::before_deadline(now - Duration::from_secs(5), now, Duration::from_secs(30));
        assert!(past.deadline.expect("a deadline") <= Instant::now());
        let close = RunLimits::before_deadline(now + Duration::from_secs(10), now, Duration::from_secs(30));
        assert!(close.deadline.expect("a deadline") <= Instant::now());
        assert_eq!(close.max_pages, None);
    }
}
