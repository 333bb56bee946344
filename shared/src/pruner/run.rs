//! One listing run: lists a prefix page by page (the next page is requested while this one is
//! planned and its deletions are in flight), feeds the planner, deletes, and stops at a limit.

use super::calls::ApiCalls;
use super::delete::{DELETE_BATCH, Deleter};
use super::limits::RunLimits;
use super::plan::{Carry, ObjectMeta, PrunePolicy};
use super::planner::Planner;
use super::report::PruneReport;
use crate::aws::s3_objects::{self, ListPage, ListRequest};
use crate::error::AwsError;
use aws_sdk_s3::Client;
use chrono::{DateTime, Utc};
use std::collections::HashSet;
use std::sync::Arc;
use tokio::task::JoinHandle;
use tracing::{error, info};

/// What a listing run needs from the service.
#[derive(Clone)]
pub struct RunContext {
    pub s3: Client,
    pub bucket: String,
    pub now: DateTime<Utc>,
    pub delete_concurrency: usize,
    pub dry_run: bool,
    pub calls: Arc<ApiCalls>,
}

/// One listing: where it starts, what it carries over, what it applies.
pub struct SweepRun<'a> {
    pub prefix: String,
    /// Continue after this key (a resumed sweep).
    pub start_after: Option<String>,
    /// The project in progress where the previous run stopped.
    pub carry: Option<Carry>,
    pub policy: &'a PrunePolicy,
    pub missing: &'a HashSet<String>,
    /// The listing covers the whole root from its start (so the total budget may apply).
    pub whole_root: bool,
    pub limits: RunLimits,
}

/// Where a listing run ended.
pub struct Ran {
    /// The next run continues after this key (None: the listing finished).
    pub resume_after: Option<String>,
    pub carry: Option<Carry>,
    pub stop_error: Option<String>,
}

impl SweepRun<'_> {
    /// Lists, plans and deletes; the report gets the plan, the deletions' outcome and where it stopped.
    pub async fn execute(mut self, ctx: &RunContext, report: &mut PruneReport) -> Ran {
        let mut planner = Planner::new(self.policy, ctx.now, self.missing, self.carry.take());
        let mut deleter = Deleter::new(
            ctx.s3.clone(),
            ctx.bucket.clone(),
            self.policy.clone(),
            ctx.delete_concurrency,
            ctx.dry_run,
            ctx.calls.clone(),
        );
        let mut out = Vec::new();
        let mut pages = 0usize;
        let mut stop: Option<String> = None;
        let mut stop_error = None;
        let mut next = Some(self.request(ctx, self.start_after.clone(), None));
        let mut finished = false;
        while let Some(request) = next.take() {
            let page = match request.await {
                Ok(Ok(page)) => page,
                Ok(Err(e)) => {
                    error!(action = "list", error = %e, "listing failed: the run stops here");
                    stop = Some(format!("error: {e}"));
                    stop_error = Some(e.to_string());
                    break;
                }
                Err(e) => {
                    stop = Some(format!("error: listing task failed: {e}"));
                    break;
                }
            };
            pages += 1;
            let limit = self.limits.expired(pages);
            if let (Some(token), None) = (page.next_token.clone(), limit) {
                next = Some(self.request(ctx, None, Some(token)));
            }
            for object in page.objects {
                let object =
                    ObjectMeta { key: object.key, size: object.size, last_modified_ms: object.last_modified_ms };
                planner.push(object, &mut out);
                if planner.capped() {
                    break;
                }
            }
            for deletion in out.drain(..) {
                deleter.add(deletion).await;
            }
            if deleter.aborted.is_some() {
                stop = deleter.aborted.clone();
                next = None;
                break;
            }
            if planner.capped() {
                stop = Some(format!("cap of {} deletions per run reached", self.policy.max_deletes));
                next = None;
                break;
            }
            if page.next_token.is_none() {
                finished = true;
                break;
            }
            if let Some(why) = limit {
                stop = Some(why.to_owned());
                break;
            }
        }
        if let Some(pending) = next.take() {
            pending.abort();
        }
        let resume_after = planner.last_key().map(str::to_owned).or(self.start_after.clone());
        let (summary, carry) = if finished {
            planner.end_listing(self.whole_root, &mut out);
            loop {
                // Total-budget deletions come in batches, each handed to S3 before the next.
                let more = planner.drain_budget(&mut out, DELETE_BATCH);
                for deletion in out.drain(..) {
                    deleter.add(deletion).await;
                }
                if !more {
                    break;
                }
            }
            (planner.into_summary(), None)
        } else {
            planner.suspend()
        };
        let outcome = deleter.finish().await;
        report.plan = summary;
        report.finished = finished;
        report.stopped = stop.clone();
        outcome.apply(report);
        if let Some(why) = &stop {
            info!(action = "stop", reason = %why, resume_after = resume_after.as_deref().unwrap_or("-"), "run stopped before the end of the listing");
        }
        Ran { resume_after: if finished { None } else { resume_after }, carry, stop_error }
    }

    fn request(
        &self,
        ctx: &RunContext,
        start_after: Option<String>,
        token: Option<String>,
    ) -> JoinHandle<Result<ListPage, AwsError>> {
        let (s3, bucket, prefix, calls) = (ctx.s3.clone(), ctx.bucket.clone(), self.prefix.clone(), ctx.calls.clone());
        tokio::spawn(async move {
            calls.add("s3:ListObjectsV2", 1);
            let request = ListRequest {
                prefix: &prefix,
                start_after: start_after.as_deref(),
                continuation_token: token.as_deref(),
                ..ListRequest::default()
            };
            s3_objects::list_page(&s3, &bucket, request).await
        })
    }
}
