//! Live counters of one run, for a caller that shows progress while the run goes on (the command
//! line's progress bar): updated per listing page and per deletion batch, read at any time.
//! Relaxed atomics: each counter is exact once the run has ended; during it, a snapshot may be a
//! page or a batch behind.

use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};

/// What a run has done so far.
#[derive(Debug, Default)]
pub struct PruneProgress {
    listed: AtomicU64,
    bytes_listed: AtomicU64,
    planned: AtomicU64,
    bytes_planned: AtomicU64,
    deleted: AtomicU64,
    bytes_freed: AtomicU64,
    failed: AtomicU64,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ProgressSnapshot {
    /// Objects listed (managed and unmanaged) and their bytes.
    pub listed: u64,
    pub bytes_listed: u64,
    /// Deletions planned (in a dry run: what would be deleted).
    pub planned: u64,
    pub bytes_planned: u64,
    pub deleted: u64,
    pub bytes_freed: u64,
    pub failed: u64,
}

impl PruneProgress {
    /// One listing page's objects: how many, and their bytes.
    pub fn listed(&self, objects: u64, bytes: u64) {
        self.listed.fetch_add(objects, Ordering::Relaxed);
        self.bytes_listed.fetch_add(bytes, Ordering::Relaxed);
    }

    /// One planned deletion.
    pub fn planned(&self, bytes: u64) {
        self.planned.fetch_add(1, Ordering::Relaxed);
        self.bytes_planned.fetch_add(bytes, Ordering::Relaxed);
    }

    /// One deletion batch's result.
    pub fn deleted(&self, objects: u64, bytes: u64, failed: u64) {
        self.deleted.fetch_add(objects, Ordering::Relaxed);
        self.bytes_freed.fetch_add(bytes, Ordering::Relaxed);
        self.failed.fetch_add(failed, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> ProgressSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ProgressSnapshot {
            listed: get(&self.listed),
            bytes_listed: get(&self.bytes_listed),
            planned: get(&self.planned),
            bytes_planned: get(&self.bytes_planned),
            deleted: get(&self.deleted),
            bytes_freed: get(&self.bytes_freed),
            failed: get(&self.failed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_add_up() {
        let p = PruneProgress::default();
        p.listed(1000, 5000);
        p.listed(2, 10);
        p.planned(7);
        p.planned(3);
        p.deleted(2, 10, 1);
        let s = p.snapshot();
        assert_eq!((s.listed, s.bytes_listed), (1002, 5010));
        assert_eq!((s.planned, s.bytes_planned), (2, 10));
        assert_eq!((s.deleted, s.bytes_freed, s.failed), (2, 10, 1));
    }
}
