//! cache-pruner: removes stale cache objects from the cache bucket, safely, at any bucket size, in
//! bounded memory, and never what a build still needs.
//!
//! `plan` decides (a pure streaming planner: which objects to delete and why, see its docs for the
//! policies, the memory bound and why resuming is exact), `service` lists, deletes, resumes and
//! reports, `state` is the small resume object under the reserved prefix, `config` reads the
//! variables below.
//!
//! # Triggers
//! * A schedule (any EventBridge "Scheduled Event"): a sweep of the whole cache root
//!   (`CACHE_KEY_PREFIX`). A sweep too large for one invocation stops before the deadline (or at
//!   the deletion cap) and the next scheduled run continues after the last key it planned.
//! * A "CodeBuild Build State Change" with status SUCCEEDED: that project's prefix
//!   `<CACHE_KEY_PREFIX><project>/`, right after the build wrote fresh cache. Other statuses, projects
//!   out of scope and the shared-prefix layout give an `ignored` result, not an error. These runs
//!   neither read nor write the sweep state and never apply the total budget.
//!
//! # Configuration (besides the common CACHE_BUCKET, CACHE_KEY_PREFIX, CACHE_PREFIX_PER_PROJECT,
//! NOTIFY_TOPIC_ARN, DRY_RUN, PROJECT_INCLUDE, PROJECT_EXCLUDE)
//! | variable | default | meaning |
//! |---|---|---|
//! | PRUNE_KEEP_NEWEST | 3 | the N newest objects of a live project are never deleted (>= 1) |
//! | PRUNE_MAX_AGE_DAYS | 30 | objects older than this, beyond the N newest, are deleted |
//! | PRUNE_MIN_AGE_HOURS | 24 | objects younger than this are never deleted (builds in flight) |
//! | PRUNE_PROJECT_BUDGET | none | byte size ("20GiB"): per project, oldest deleted first until under |
//! | PRUNE_TOTAL_BUDGET | none | byte size: for the whole root, oldest first (sweeps listing the whole root in one run) |
//! | PRUNE_ORPHAN_GRACE_DAYS | 7 | prefixes of projects CodeBuild no longer has: objects older than this go |
//! | PRUNE_MAX_DELETES_PER_RUN | 100000 | planning stops at this many deletions; the sweep continues next run |
//! | PRUNE_DELETE_CONCURRENCY | 4 | DeleteObjects calls in flight (1-16) |
//! | PRUNE_DEADLINE_MARGIN_SECONDS | 30 | stop listing this long before the Lambda timeout |
//!
//! `CACHE_PREFIX_PER_PROJECT=false`: all projects share the root, so the whole root is one group
//! named `*` (keep-newest-N, ages and the project budget apply to the group), orphan detection is
//! off and build events are ignored (only the sweep prunes). PROJECT_INCLUDE/EXCLUDE: projects out
//! of scope are listed and counted (their bytes count toward the total) but never deleted.
//!
//! # Safety
//! Every key is checked before every DeleteObjects call: inside the root, not the root itself, not
//! under `.cache-sentinel/`. DRY_RUN plans, logs every would-be deletion with its reason, returns
//! the first 1,000 in the report, and changes nothing (not even the sweep state).
//!
//! # Versioned buckets
//! Each sweep asks GetBucketVersioning (one cheap call) and reports the status. On a versioned
//! bucket, DeleteObjects without version ids only adds delete markers: the noncurrent versions keep
//! their storage. The backstop is a lifecycle rule with NoncurrentVersionExpiration (for example 1
//! day) and ExpiredObjectDeleteMarker; the report and the notice say so. The pruner never deletes
//! versions itself.
//!
//! # Cost
//! Per sweep: ceil(listed/1,000) ListObjectsV2 calls, ceil(deleted/1,000) DeleteObjects calls
//! (plus retries of keys S3 reports in `Errors`), ceil(project prefixes/1,000) ListObjectsV2 calls
//! with a delimiter to find the projects, ceil(projects/100) BatchGetProjects, one
//! GetBucketVersioning, one GetObject of the state, at most one PutObject of the state, and at most
//! one SNS Publish.
//!
//! # IAM
//! s3:ListBucket (on the bucket; ListObjectsV2), s3:DeleteObject (on `<root>*`; DeleteObjects),
//! s3:GetObject and s3:PutObject on `.cache-sentinel/pruner/*`, s3:GetBucketVersioning,
//! codebuild:BatchGetProjects, sns:Publish on NOTIFY_TOPIC_ARN.

pub mod config;
pub mod plan;
pub mod service;
pub mod state;

pub use config::PrunerConfig;
pub use plan::{Deletion, ObjectMeta, Plan, PlanSummary, Planner, PrunePolicy, Reason, plan};
pub use service::{CachePruner, PruneReport, RunLimits};
