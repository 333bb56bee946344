//! `cache-sentinel prune`: the pruner's sweep of the cache root, by the library's `CachePruner`.
//! Without `--apply` a dry run (what would be deleted, by reason and project); with `--apply`
//! resumable steps (`prune_steps`) with a progress bar, Ctrl-C stopping after the current step
//! with the resume state saved (a second Ctrl-C quits at once).

use crate::args::Global;
use crate::commands::heal::sweep_event;
use crate::failure::{CliError, EXIT_ATTENTION, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK};
use crate::output::{self, Tone, cell};
use crate::progress;
use crate::settings::{self, LayeredEnv};
use cache_sentinel::prune_steps::{SweepTotals, needs_one_step, sweep_in_steps};
use cache_sentinel::pruner::service::ProjectReport;
use cache_sentinel::pruner::{CachePruner, RunLimits};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub async fn run(global: &Global, apply: bool, pages_per_step: u16) -> Result<u8, CliError> {
    let mut env = LayeredEnv::from_flags(global)?;
    env.set("DRY_RUN", if apply { "false" } else { "true" }, if apply { "--apply" } else { "prune without --apply" });
    let config = env.pruner()?;
    let clock = settings::clock(global)?;
    let clients = settings::clients(global).await?;
    let account = cache_sentinel::aws::sts::caller_account(&clients.sdk).await?;
    let event = sweep_event("prune", &account, clients.region_or_default(), clock.now());

    let totals = if apply {
        let one_step = needs_one_step(&config);
        let stop = Arc::new(AtomicBool::new(false));
        watch_ctrl_c(stop.clone(), one_step);
        let bar = progress::spinner("", "{spinner} listed {pos} objects, {msg} [{elapsed}]");
        let pages = (!one_step).then_some(usize::from(pages_per_step));
        let totals = sweep_in_steps(&config, &clients, clock, &event, pages, &stop, |t| {
            let rate = t.deleted as f64 / bar.elapsed().as_secs_f64().max(0.001);
            bar.set_position(t.scanned);
            bar.set_message(format!(
                "deleted {} ({} freed, {rate:.0} objects/s)",
                t.deleted,
                output::bytes(t.bytes_freed)
            ));
        })
        .await;
        bar.finish_and_clear();
        let mut totals = totals?;
        if one_step {
            totals
                .notes
                .push("a size budget is set, so the sweep ran as one step (budgets need whole listings)".into());
        }
        totals
    } else {
        let bar = progress::spinner("planning (dry run)", "{spinner} {msg} [{elapsed}]");
        let pruner = CachePruner::new(config.clone(), &clients).with_clock(clock);
        let report = pruner.handle(&event, RunLimits::default()).await;
        bar.finish_and_clear();
        let mut totals = SweepTotals::default();
        totals.absorb(&report?);
        totals
    };

    if global.json {
        output::print_json(&totals)?;
    } else {
        output::print(&render(&totals, apply))?;
    }
    Ok(if totals.interrupted {
        EXIT_INTERRUPTED
    } else if totals.failed > 0 || totals.stopped.as_deref().is_some_and(|s| s.starts_with("error")) {
        EXIT_ERROR
    } else if !apply && totals.planned > 0 {
        EXIT_ATTENTION
    } else {
        EXIT_OK
    })
}

/// First Ctrl-C: stop after the current step (the pruner saves its resume state). Second: quit.
fn watch_ctrl_c(stop: Arc<AtomicBool>, one_step: bool) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        stop.store(true, Ordering::SeqCst);
        if one_step {
            eprintln!(
                "\nInterrupted: a size budget makes this sweep one step, which cannot stop at a resume point; quitting. Deletions already made stand; the next run starts from the last saved state."
            );
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
        eprintln!("\nStopping after the current step (Ctrl-C again to quit at once)...");
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
    });
}

fn render(t: &SweepTotals, apply: bool) -> String {
    let mut out = if apply {
        format!("Prune of s3://{}/{} ({})\n\n", t.bucket, t.prefix, output::count(t.steps as usize, "step", "steps"))
    } else {
        format!("Prune plan for s3://{}/{} (dry run: nothing deleted; --apply to delete)\n\n", t.bucket, t.prefix)
    };
    if let Some(key) = &t.resumed_after {
        out.push_str(&format!("Resumed an interrupted sweep after {key}\n"));
    }
    out.push_str(&format!("Listed:        {} objects, {}\n", t.scanned, output::bytes(t.bytes_scanned)));
    let verb = if apply { "Planned:       " } else { "Would delete:  " };
    out.push_str(&format!("{verb}{} objects, {}\n", t.planned, output::bytes(t.bytes_planned)));
    if apply {
        out.push_str(&format!("Deleted:       {} objects, {} freed\n", t.deleted, output::bytes(t.bytes_freed)));
        if t.failed > 0 {
            out.push_str(&output::tone(&format!("Failed:        {} objects\n", t.failed), Tone::Bad));
        }
    }
    if !t.by_reason.is_empty() {
        let mut table = output::table(&["REASON", "OBJECTS"]);
        for (reason, n) in &t.by_reason {
            table.add_row(vec![cell(reason.as_str(), Tone::Plain), cell(n, Tone::Plain)]);
        }
        out.push_str(&format!("\n{}\n", table.trim_fmt()));
    }
    let touched: Vec<(&String, &ProjectReport)> =
        t.projects.iter().filter(|(_, p)| p.plan.planned > 0 || p.deleted > 0 || p.failed > 0).collect();
    if !touched.is_empty() {
        let mut header = vec!["PROJECT", "LISTED", "SIZE", "TO DELETE", "TO FREE"];
        if apply {
            header.extend(["DELETED", "FREED"]);
        }
        let mut table = output::table(&header);
        for (name, p) in touched {
            let label = if p.plan.orphaned { format!("{name} (no such project)") } else { name.clone() };
            let mut row = vec![
                cell(label, Tone::Plain),
                cell(p.plan.scanned, Tone::Plain),
                cell(output::bytes(p.plan.bytes_scanned), Tone::Plain),
                cell(p.plan.planned, Tone::Warn),
                cell(output::bytes(p.plan.bytes_planned), Tone::Warn),
            ];
            if apply {
                row.extend([cell(p.deleted, Tone::Good), cell(output::bytes(p.bytes_freed), Tone::Good)]);
            }
            table.add_row(row);
        }
        out.push_str(&format!("\n{}\n", table.trim_fmt()));
    }
    let kept = t.projects.values().filter(|p| p.plan.planned == 0).count();
    if kept > 0 {
        out.push_str(&format!("\nNothing to delete in {}.\n", output::count(kept, "other project", "other projects")));
    }
    for e in t.errors.iter().take(20) {
        out.push_str(&format!("Error: {}: {} {} (after {} attempts)\n", e.key, e.code, e.message, e.attempts));
    }
    for note in &t.notes {
        out.push_str(&format!("Note: {note}\n"));
    }
    if t.interrupted {
        let after = t.resume_after.as_deref().unwrap_or("-");
        out.push_str(&output::tone(
            &format!("\nInterrupted: the resume state is saved (after {after}); run the same command to continue.\n"),
            Tone::Warn,
        ));
    } else if let Some(why) = t.stopped.as_deref().filter(|s| !t.finished && s.starts_with("error")) {
        out.push_str(&output::tone(&format!("\nStopped by an {why}\n"), Tone::Bad));
    } else if let Some(why) = t.stopped.as_deref().filter(|_| !t.finished) {
        out.push_str(&format!("\nStopped before the end of the listing: {why}; the next run continues.\n"));
    }
    out
}
