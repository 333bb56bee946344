//! The N newest objects of the location in progress: a min-heap whose entries are also what a
//! stopped run carries over to the next, so keep-newest-N stays exact across runs.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// An entry of a project's N-newest heap (also carried across runs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    pub key: String,
    pub size: u64,
    pub last_modified_ms: i64,
}

impl Ord for Kept {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.last_modified_ms, &self.key).cmp(&(other.last_modified_ms, &other.key))
    }
}

impl PartialOrd for Kept {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The project in progress when a run stopped, so the next run continues it exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Carry {
    pub project: String,
    pub newest: Vec<Kept>,
}
