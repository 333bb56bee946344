//! A lease kept for as long as the run lasts. A Lambda invocation ends at its deadline, and its
//! lease is taken to cover it; a run nothing stops at a deadline (the command line's `prune
//! --apply`: its deletions in flight and its state write may run past `--max-minutes`) asks for
//! [`Renewal`] instead: its lease lasts one span and is renewed every `every` while the run goes on,
//! so no other run can take it over while this one still deletes, and a run that crashed blocks
//! the others for one span at most.
//!
//! A renewal refused (the lease is another run's now) or not made before the lease ran out (S3 out
//! of reach for a whole span) loses the lease: the run stops at its next page ([`LEASE_LOST`]) and
//! does not save the state, which is the new holder's to write.

use super::calls::ApiCalls;
use super::lease::{Lease, LeaseStore, SKEW};
use crate::clock::Clock;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tracing::{info, warn};

/// Why a run stopped when it lost its lease.
pub const LEASE_LOST: &str = "lease lost";

/// How a run that may outlive its deadline keeps its lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Renewal {
    /// How long the lease lasts from each renewal (plus the clock skew margin).
    pub span: Duration,
    /// How often it is renewed: well within the span, so a failed renewal has another chance.
    pub every: Duration,
}

impl Renewal {
    /// Five minutes, renewed every 100 s: three tries before anyone may take it over.
    pub const STANDARD: Renewal = Renewal { span: Duration::from_secs(300), every: Duration::from_secs(100) };
}

/// Set once a run has lost its lease, with why; shared by the run's limits and its keeper.
#[derive(Debug, Clone, Default)]
pub struct LeaseLoss {
    lost: Arc<AtomicBool>,
    why: Arc<OnceLock<String>>,
}

impl LeaseLoss {
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::SeqCst)
    }

    pub fn why(&self) -> Option<&str> {
        self.why.get().map(String::as_str)
    }

    pub(crate) fn set(&self, why: String) {
        let _ = self.why.set(why);
        self.lost.store(true, Ordering::SeqCst);
    }
}

/// What renewing needs.
pub(super) struct Keeper<'a> {
    pub store: &'a LeaseStore,
    pub renewal: Renewal,
    pub clock: &'a dyn Clock,
    pub loss: &'a LeaseLoss,
    pub calls: &'a ApiCalls,
}

impl Keeper<'_> {
    /// Runs `work` while renewing `lease`; returns its output and the lease as last renewed (None
    /// when lost, so it is not given back over the new holder's).
    pub async fn keep<F: Future>(&self, lease: Lease, work: F) -> (F::Output, Option<Lease>) {
        let current = Mutex::new(Some(lease));
        let output = {
            let mut work = std::pin::pin!(work);
            let renewals = std::pin::pin!(self.renewals(&current));
            tokio::select! {
                out = &mut work => out,
                () = renewals => work.await,
            }
        };
        let lease = current.lock().map(|mut c| c.take()).unwrap_or(None);
        (output, lease)
    }

    /// Renews until the lease is lost (never returns otherwise).
    async fn renewals(&self, current: &Mutex<Option<Lease>>) {
        let mut held_until = Instant::now() + self.renewal.span;
        loop {
            tokio::time::sleep(self.renewal.every).await;
            let Some(lease) = current.lock().ok().and_then(|c| c.clone()) else { return };
            let expires_at = self.clock.now() + chrono::Duration::from_std(self.renewal.span).unwrap_or(SKEW) + SKEW;
            let lost = match self.store.renew(&lease, expires_at, self.calls).await {
                Ok(Some(renewed)) => {
                    held_until = Instant::now() + self.renewal.span;
                    if let Ok(mut c) = current.lock() {
                        *c = Some(renewed);
                    }
                    info!(action = "lease", expires_at = %expires_at.to_rfc3339(), "lease renewed");
                    None
                }
                Ok(None) => Some(format!("another run took the lease {} over", self.store.key)),
                Err(e) if Instant::now() >= held_until => {
                    Some(format!("the lease {} ran out before it could be renewed ({e})", self.store.key))
                }
                Err(e) => {
                    warn!(action = "lease", error = %e, "could not renew the lease: trying again");
                    None
                }
            };
            if let Some(why) = lost {
                warn!(action = "lease", reason = %why, "lease lost: the run stops and does not save the state");
                if let Ok(mut c) = current.lock() {
                    *c = None;
                }
                self.loss.set(why);
                return;
            }
        }
    }
}
