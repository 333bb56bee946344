//! Sends what the checks want notified: a build event's notice on its own, a sweep's as one
//! combined notice. Refusals, warnings and failures are claimed first (a marker a day per project
//! and cause); heals were claimed before UpdateProject. With no bucket to hold markers (the
//! bucket is missing), a build event's notice is not sent (the hourly sweep reports the problem,
//! once per sweep), so a broken deployment does not email at every build start.

use super::dedup;
use super::notice::{self, Failure, NoticeContext, SweepItem};
use super::run::{Pending, Run, is_transient};
use crate::error::AwsError;
use crate::notify::Notice;
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
    let mut chosen = Vec::new();
    let mut claimed = Vec::new();
    for (index, item) in pending.iter().enumerate() {
        let Some(name) = item.marker() else {
            chosen.push(index);
            continue;
        };
        let Some(markers) = &markers else {
            if sweep {
                chosen.push(index);
            } else {
                done.problems.push(format!(
                    "no cache bucket {} to hold the once-a-day notice markers: not notified from a build event; the scheduled sweep reports it",
                    run.policy.bucket
                ));
            }
            continue;
        };
        match markers.claim_until(&name, now, now + dedup::notice_repeat()).await {
            Ok(true) => {
                chosen.push(index);
                claimed.push(name);
            }
            Ok(false) => {
                info!(action = "notify", marker = %markers.key(&name), "already notified within the day: not repeated")
            }
            Err(e) if is_transient(&e) => {
                done.problems.push(format!("could not claim the notice marker {name}: {e}"));
                done.transient = Some(e);
            }
            Err(e) => {
                // Better a repeated notice than a lost one.
                warn!(action = "notify", error = %e, "could not write the notice marker; notifying without it");
                done.problems.push(format!("notice marker {name} could not be written ({e}); sent without it"));
                chosen.push(index);
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
