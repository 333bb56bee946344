//! `cache-sentinel prune`: one run of the library's pruner sweep over the cache bucket.
//!
//! Without `--apply` a dry run: the plan by reason and by cache location, with the bytes it would
//! free, and what the pruner leaves alone. With `--apply` the same run deletes, with a progress bar
//! on stderr (on a terminal). Ctrl-C asks the run to stop: every location stops at a listing page,
//! the deletions already planned finish, the resume state is saved and the lease given back, as at
//! a Lambda deadline; the next run (this command or the scheduled sweep) continues there. The run
//! takes the pruner's lease like the Lambda: while another run holds it, nothing is pruned and the
//! command says so.

use crate::args::Global;
use crate::commands::heal::sweep_event;
use crate::commands::prune_view::render;
use crate::failure::{CliError, EXIT_ATTENTION, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK};
use crate::output;
use crate::progress;
use crate::settings::{self, LayeredEnv};
use cache_sentinel::pruner::keeper::{LEASE_LOST, Renewal};
use cache_sentinel::pruner::pager::STOP_REQUESTED;
use cache_sentinel::pruner::{CachePruner, PruneProgress, PruneReport};
use serde::Serialize;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

/// The run's report, and whether Ctrl-C stopped it.
#[derive(Serialize)]
struct PruneJson<'a> {
    interrupted: bool,
    #[serde(flatten)]
    report: &'a PruneReport,
}

pub async fn run(global: &Global, apply: bool, max_minutes: u16) -> Result<u8, CliError> {
    if apply && global.now.is_some() {
        return Err(CliError::NowWithApply("prune --apply"));
    }
    let mut env = LayeredEnv::from_flags(global)?;
    env.set("DRY_RUN", if apply { "false" } else { "true" }, if apply { "--apply" } else { "prune without --apply" });
    let config = env.pruner()?;
    let topic = config.common.topic_arn.clone();
    let clock = settings::clock(global)?;
    let clients = settings::clients(global).await?;
    let account = cache_sentinel::aws::sts::caller_account(&clients.sdk).await?;
    let event = sweep_event("prune", &account, clients.region_or_default(), clock.now());
    let pruner = CachePruner::new(config, &clients).with_clock(clock);

    // The run stops listing by this time like a Lambda invocation by its deadline; nothing stops
    // the process there, so its lease is renewed while it runs (its last deletions and the state
    // write may take longer) and lasts five minutes past a crash, not the whole --max-minutes.
    let until = SystemTime::now() + Duration::from_secs(u64::from(max_minutes) * 60);
    let stop = Arc::new(AtomicBool::new(false));
    let counters = Arc::new(PruneProgress::default());
    let limits = pruner
        .limits_before(until)?
        .with_stop(stop.clone())
        .with_progress(counters.clone())
        .with_renewal(Renewal::STANDARD);
    watch_ctrl_c(stop.clone(), apply);
    let bar = progress::ticker(move |elapsed| status_line(&counters, apply, elapsed));
    let report = pruner.handle(&event, limits).await;
    bar.finish_and_clear();
    let report = report?;

    let interrupted = stop.load(Ordering::SeqCst) && report.stopped.as_deref() == Some(STOP_REQUESTED);
    if global.json {
        output::print_json(&PruneJson { interrupted, report: &report })?;
    } else {
        output::print(&render(&report, interrupted, topic.as_deref()))?;
    }
    Ok(exit_code(&report, interrupted))
}

/// 1 when another run held the lease (nothing pruned), when a dry run found something to delete,
/// or when the run stopped before the end (the time limit, the cap): run again; 2 on failures, a
/// bucket in another region, and when the run lost its lease; 130 on Ctrl-C.
fn exit_code(report: &PruneReport, interrupted: bool) -> u8 {
    if report.skipped.is_some() {
        EXIT_ATTENTION
    } else if interrupted {
        EXIT_INTERRUPTED
    } else if report.outcome.failed > 0
        || report.stopped_on_error()
        || report.stopped.as_deref() == Some(LEASE_LOST)
        || report.refused().next().is_some()
        || report.bucket_refused.is_some()
    {
        EXIT_ERROR
    } else if (report.dry_run && report.plan.planned > 0) || !report.finished {
        EXIT_ATTENTION
    } else {
        EXIT_OK
    }
}

/// "listed 12000 objects (1.2 GiB), deleted 9000 (900.0 MiB freed), 3000 objects/s"
fn status_line(counters: &PruneProgress, apply: bool, elapsed: Duration) -> String {
    let now = counters.snapshot();
    let seconds = elapsed.as_secs_f64().max(0.001);
    let listed = format!("listed {} objects ({})", now.listed, output::bytes(now.bytes_listed));
    if apply {
        let rate = now.deleted as f64 / seconds;
        format!(
            "{listed}, deleted {} ({} freed), {rate:.0} deletions/s{}",
            now.deleted,
            output::bytes(now.bytes_freed),
            if now.failed > 0 { format!(", {} failed", now.failed) } else { String::new() }
        )
    } else {
        let rate = now.listed as f64 / seconds;
        format!("{listed}, would delete {} ({}), {rate:.0} objects/s", now.planned, output::bytes(now.bytes_planned))
    }
}

/// First Ctrl-C: ask the run to stop cleanly. Second: quit at once.
fn watch_ctrl_c(stop: Arc<AtomicBool>, apply: bool) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        stop.store(true, Ordering::SeqCst);
        if apply {
            eprintln!(
                "\nStopping at the next listing page: the deletions already planned finish, then the resume state is saved (Ctrl-C again to quit at once)..."
            );
        } else {
            eprintln!("\nStopping at the next listing page (Ctrl-C again to quit at once)...");
        }
        if tokio::signal::ctrl_c().await.is_ok() {
            if apply {
                eprintln!(
                    "Quit at once: the deletions made stand; the resume state of this run was not saved, so the next run continues from the last saved one; the pruner's lease stays held until it expires (at most six minutes: it is renewed every 100 s for five, plus a minute)."
                );
            }
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
    });
}
