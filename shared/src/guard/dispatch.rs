//! Sends what the checks want notified: a build event's notice on its own, a sweep's as one
//! combined notice. Refusals, warnings and failures are claimed first (a marker a day per project
//! and cause); heals were claimed before UpdateProject. With no bucket to hold markers (the
//! bucket is missing), a build event's notice is not sent (the hourly sweep reports the problem,
//! once per sweep), so a broken deployment does not email at every build start.

use super::notice::{self, Failure, NoticeContext, SweepItem};
use super::run::{Pending, Run, is_transient};
use crate::aws::s3::Markers;
use crate::error::AwsError;
use crate::notify::Notice;
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use tracing::{info, warn};

/// What the dispatcher did.
#[derive(Debug, Default)]
pub struct Dispatched {
    /// Indices (into the pending list) of the notices that were published.
    pub notified: Vec<usize>,
    /// Why notices were not sent.
    pub problems: Vec<String>,
    /// A transient error that should fail the invocation (so it is retried).
    pub transient: Option<AwsError>,
}

pub async fn dispatch(run: &Run<'_>, pending: &[Pending], ctx: &NoticeContext<'_>, sweep: bool) -> Dispatched {
    let mut done = Dispatched::default();
    if pending.is_empty() {
        return done;
    }
    let markers = run.markers().await;
    let now = run.guard.clock.now();
    // Claims a few at a time: a sweep may have hundreds of projects to report.
    let claims: Vec<Claim> = futures::stream::iter(pending)
        .map(|item| {
            claim(item, markers.as_ref(), now, item.repeat(run.guard.config.heal_loop_days), sweep, &run.policy.bucket)
        })
        .buffered(CLAIMS_IN_FLIGHT)
        .collect()
        .await;
    let mut chosen = Vec::new();
    let mut claimed = Vec::new();
    for (index, claim) in claims.into_iter().enumerate() {
        match claim {
            Claim::Send => chosen.push(index),
            Claim::Claimed(name) => {
                chosen.push(index);
                claimed.push(name);
            }
            Claim::AlreadySent => {}
            Claim::NotSent(problem) => done.problems.push(problem),
            Claim::SendAnyway(problem) => {
                chosen.push(index);
                done.problems.push(problem);
            }
            Claim::Transient(problem, e) => {
                done.problems.push(problem);
                done.transient = Some(e);
            }
        }
    }
    if chosen.is_empty() {
        return done;
    }
    let notices: Vec<(Vec<usize>, Notice)> = if sweep {
        let items: Vec<SweepItem> = chosen.iter().map(|&i| item(&pending[i])).collect();
        vec![(chosen.clone(), notice::sweep(&items, ctx))]
    } else {
        chosen.iter().map(|&i| (vec![i], single(&pending[i], ctx))).collect()
    };
    for (indices, notice) in notices {
        match run.guard.publisher.publish_logged(&notice).await {
            Ok(Some(_)) => done.notified.extend(indices),
            Ok(None) => {}
            Err(e) => {
                done.problems.push(format!("could not publish \"{}\": {e}", notice.subject()));
                // Give the day's claims back so that a retry or the next run notifies.
                if let Some(markers) = &markers {
                    for i in &indices {
                        if let Some(name) = pending[*i].marker().filter(|n| claimed.contains(n)) {
                            let _ = markers.release(&name).await;
                        }
                    }
                }
                if is_transient(&e) {
                    done.transient = Some(e);
                }
            }
        }
    }
    done
}

const CLAIMS_IN_FLIGHT: usize = 8;

/// Whether one notice goes out, after its marker was tried.
enum Claim {
    /// No marker needed (a heal, claimed before its update; a sweep without a bucket).
    Send,
    Claimed(String),
    AlreadySent,
    NotSent(String),
    /// The marker could not be written for good: better a repeated notice than a lost one.
    SendAnyway(String),
    Transient(String, AwsError),
}

async fn claim(
    item: &Pending,
    markers: Option<&Markers>,
    now: DateTime<Utc>,
    repeat: Duration,
    sweep: bool,
    bucket: &str,
) -> Claim {
    let Some(name) = item.marker() else { return Claim::Send };
    let Some(markers) = markers else {
        return if sweep {
            Claim::Send
        } else {
            Claim::NotSent(format!(
                "no cache bucket {bucket} to hold the once-a-day notice markers: not notified from a build event; the scheduled sweep reports it"
            ))
        };
    };
    match markers.claim_until(&name, now, now + repeat).await {
        Ok(true) => Claim::Claimed(name),
        Ok(false) => {
            info!(action = "notify", marker = %markers.key(&name), "already notified: not repeated");
            Claim::AlreadySent
        }
        Err(e) if is_transient(&e) => Claim::Transient(format!("could not claim the notice marker {name}: {e}"), e),
        Err(e) => {
            warn!(action = "notify", error = %e, "could not write the notice marker; notifying without it");
            Claim::SendAnyway(format!("notice marker {name} could not be written ({e}); sent without it"))
        }
    }
}

fn item(pending: &Pending) -> SweepItem<'_> {
    match pending {
        Pending::Healed(plan) => SweepItem::Healed(plan),
        Pending::Refused(plan) => SweepItem::Refused(plan),
        Pending::Warned(plan) => SweepItem::Warned(plan),
        Pending::Failed { project, before, reason, .. } => {
            SweepItem::Failed(Failure { project, before: before.as_ref(), reason })
        }
    }
}

fn single(pending: &Pending, ctx: &NoticeContext) -> Notice {
    match pending {
        Pending::Healed(plan) => notice::healed(plan, ctx),
        Pending::Refused(plan) => notice::refused(plan, ctx),
        Pending::Warned(plan) => notice::warned(plan, ctx),
        Pending::Failed { project, before, reason, .. } => {
            notice::failed(&Failure { project, before: before.as_ref(), reason }, ctx)
        }
    }
}
