//! API call counters: one per request this library sends, by operation, so a report can show the
//! calls against their minimum. The SDK's own retries are not counted here.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// The operations the pruner counts, in report order.
const OPERATIONS: [&str; 15] = [
    "s3:ListObjectsV2",
    "s3:ListObjectsV2(delimiter)",
    "s3:DeleteObjects",
    "s3:DeleteObject",
    "s3:GetObject",
    "s3:PutObject",
    "s3:GetBucketVersioning",
    "s3:GetBucketPolicy",
    "codebuild:ListProjects",
    "codebuild:BatchGetProjects",
    "codebuild:ListBuildsForProject",
    "codebuild:BatchGetBuilds",
    "sns:Publish",
    "s3:PutObject(lease)",
    "s3:PutObject(freed)",
];

/// Counters shared by the tasks of one run.
#[derive(Debug, Default)]
pub struct ApiCalls {
    counts: [AtomicU64; OPERATIONS.len()],
}

impl ApiCalls {
    /// Counts `n` calls of `operation` (an operation not in the list is ignored).
    pub fn add(&self, operation: &str, n: u64) {
        if let Some(i) = OPERATIONS.iter().position(|o| *o == operation) {
            self.counts[i].fetch_add(n, Ordering::Relaxed);
        }
    }

    /// The non-zero counts.
    pub fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        OPERATIONS
            .iter()
            .zip(&self.counts)
            .map(|(o, c)| (*o, c.load(Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_known_operations_only() {
        let calls = ApiCalls::default();
        calls.add("s3:ListObjectsV2", 2);
        calls.add("s3:ListObjectsV2", 1);
        calls.add("s3:Unknown", 5);
        assert_eq!(calls.snapshot(), BTreeMap::from([("s3:ListObjectsV2", 3)]));
    }
}
