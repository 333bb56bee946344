//! `cache-sentinel report`: per project in scope, its recent builds judged as the monitor judges
//! them (duration, scenario, queue time, expected range), and p50/p90 of its successful builds;
//! with `--logs`, what each build's log shows: the causes it names and the cache's own work;
//! with `--since 7d`, the builds of that window. Each build's minutes over its range and what they
//! cost at its compute type (`digest::week`), and a bar of its own time against its range.

use crate::args::{Global, ProjectArgs};
use crate::failure::{CliError, EXIT_ATTENTION, EXIT_ERROR, EXIT_OK, describe_aws};
use crate::output::{self, Tone, cell};
use crate::progress;
use crate::settings::{self, LayeredEnv};
use cache_sentinel::aws::codebuild::CodeBuildProjects;
use cache_sentinel::aws::logs::BuildLogs;
use cache_sentinel::error::AwsError;
use cache_sentinel::monitor::judge::fmt_duration;
use cache_sentinel::recent_builds::{BuildRow, ProjectBuilds, read_recent};
use cache_sentinel::recent_logs::read_logs;
use futures::StreamExt;
use serde::Serialize;

/// Projects read concurrently.
const CONCURRENCY: usize = 4;

#[derive(Serialize)]
struct ProjectLine {
    #[serde(flatten)]
    builds: Option<ProjectBuilds>,
    #[serde(skip_serializing_if = "Option::is_none")]
    project: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<AwsError>,
}

#[derive(Serialize)]
struct ReportJson {
    over_expected: usize,
    errors: usize,
    projects: Vec<ProjectLine>,
}

pub async fn run(
    global: &Global,
    args: &ProjectArgs,
    builds: Option<u16>,
    since: Option<chrono::Duration>,
    logs: bool,
) -> Result<u8, CliError> {
    let builds = builds.unwrap_or(if since.is_some() { 100 } else { 10 });
    let env = LayeredEnv::from_flags(global)?.with_projects(&args.patterns);
    let config = env.monitor()?;
    let clock = settings::clock(global)?;
    let clients = settings::clients(global).await?;
    let codebuild = CodeBuildProjects::new(clients.codebuild.clone());
    let mut names: Vec<String> =
        codebuild.list_names().await?.into_iter().filter(|n| config.common.projects.check(n).is_ok()).collect();
    names.sort();

    let bar = progress::bar(names.len() as u64, "reading builds");
    let now = clock.now();
    let reader = logs.then(|| BuildLogs::new(clients.logs()));
    let lines: Vec<ProjectLine> = futures::stream::iter(&names)
        .map(|name| {
            let (codebuild, config, bar, reader, since) = (&codebuild, &config, &bar, &reader, since);
            async move {
                let mut read = read_recent(codebuild, name, usize::from(builds), config, now).await;
                if let (Ok(b), Some(since)) = (read.as_mut(), since) {
                    b.builds.retain(|row| row.start.is_some_and(|s| s >= now - since));
                    b.over_expected = b.builds.iter().filter(|r| r.over_expected).count();
                }
                if let (Ok(b), Some(reader)) = (read.as_mut(), reader) {
                    read_logs(reader, &mut b.builds, config.log_limits).await;
                }
                bar.inc(1);
                match read {
                    Ok(b) => ProjectLine { builds: Some(b), project: None, error: None },
                    Err(e) => ProjectLine { builds: None, project: Some(name.clone()), error: Some(e) },
                }
            }
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    bar.finish_and_clear();

    let over: usize = lines.iter().filter_map(|l| l.builds.as_ref()).map(|b| b.over_expected).sum();
    let errors = lines.iter().filter(|l| l.error.is_some()).count();
    if global.json {
        output::print_json(&ReportJson { over_expected: over, errors, projects: lines })?;
    } else {
        output::print(&render(&lines, over, since.map(|s| (s, usize::from(builds)))))?;
    }
    Ok(if errors > 0 {
        EXIT_ERROR
    } else if over > 0 {
        EXIT_ATTENTION
    } else {
        EXIT_OK
    })
}

/// `since`: the window, and how many builds were read per project (the window may hold more).
fn render(lines: &[ProjectLine], over: usize, since: Option<(chrono::Duration, usize)>) -> String {
    let mut out = String::new();
    if let Some((span, read)) = since {
        out.push_str(&format!(
            "Builds that started in the last {} (at most the newest {read} of each project).\n\n",
            window(span)
        ));
    }
    if lines.is_empty() {
        out.push_str("No projects in scope.\n");
    }
    for line in lines {
        match (&line.builds, &line.error) {
            (Some(p), _) => out.push_str(&render_project(p)),
            (None, Some(e)) => out.push_str(&format!(
                "{}\n  {} {}\n\n",
                line.project.as_deref().unwrap_or("?"),
                output::tone("Error:", Tone::Bad),
                describe_aws(e)
            )),
            (None, None) => {}
        }
    }
    if over > 0 {
        let text = if over == 1 {
            "1 build over its expected range.\n".to_owned()
        } else {
            format!("{over} builds over their expected range.\n")
        };
        out.push_str(&output::tone(&text, Tone::Warn));
    } else if !lines.is_empty() {
        out.push_str(&output::tone("No build over its expected range.\n", Tone::Good));
    }
    out
}

fn window(span: chrono::Duration) -> String {
    match (span.num_days(), span.num_hours(), span.num_minutes()) {
        (d, h, _) if d > 0 && h % 24 == 0 => output::count(d as usize, "day", "days"),
        (_, h, m) if h > 0 && m % 60 == 0 => output::count(h as usize, "hour", "hours"),
        (_, _, m) => output::count(m as usize, "minute", "minutes"),
    }
}

/// "21 min over range, about $0.42": the project's builds shown.
fn over_line(p: &ProjectBuilds) -> String {
    let minutes: f64 = p.builds.iter().map(|b| b.minutes_over_range).sum();
    if minutes <= 0.0 {
        return String::new();
    }
    let known: Vec<f64> =
        p.builds.iter().filter(|b| b.minutes_over_range > 0.0).filter_map(|b| b.cost_over_usd).collect();
    let all_known = known.len() == p.builds.iter().filter(|b| b.minutes_over_range > 0.0).count();
    let cost = match (known.is_empty(), all_known) {
        (true, _) => ", cost not known (compute type or price)".to_owned(),
        (false, true) => format!(", about ${:.2}", known.iter().sum::<f64>()),
        (false, false) => format!(", at least ${:.2} (some prices not known)", known.iter().sum::<f64>()),
    };
    format!("; {} min over range{cost}", minutes.round() as u64)
}

fn render_project(p: &ProjectBuilds) -> String {
    let baseline = match &p.baseline {
        Some(b) => format!(
            "p50 {}, p90 {} of {}",
            fmt_duration(b.median_seconds),
            fmt_duration(b.p90_seconds),
            output::count(b.samples, "successful build", "successful builds")
        ),
        None => "no successful builds yet".into(),
    };
    let mut out = format!("{}: {baseline}{}\n", p.project, over_line(p));
    if p.builds.is_empty() {
        out.push_str("  no builds\n\n");
        return out;
    }
    let logs = p.builds.iter().any(|b| b.from_log.is_some());
    let mut header = vec![
        "#",
        "STATUS",
        "STARTED (UTC)",
        "DURATION",
        "QUEUED",
        "JUDGED",
        "SCENARIO",
        "EXPECTED",
        "RESULT",
        "OVER",
        "COST",
    ];
    if logs {
        header.extend(["CACHE WORK", "CAUSES (LOG)"]);
    }
    let mut table = output::table(&header);
    for b in &p.builds {
        let (result, tone) = if b.over_expected {
            ("over range", Tone::Bad)
        } else if b.over_baseline {
            ("over baseline", Tone::Warn)
        } else if b.duration_seconds.is_none() {
            ("not judged", Tone::Plain)
        } else {
            ("ok", Tone::Good)
        };
        let status_tone = match b.status.as_str() {
            "SUCCEEDED" => Tone::Plain,
            "IN_PROGRESS" => Tone::Warn,
            _ => Tone::Bad,
        };
        let mut row = vec![
            cell(b.build_number.map(|n| n.to_string()).unwrap_or_else(|| "-".into()), Tone::Plain),
            cell(&b.status, status_tone),
            cell(b.start.map(|s| s.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_else(|| "-".into()), Tone::Plain),
            cell(b.duration_seconds.map(fmt_duration).unwrap_or_else(|| "-".into()), Tone::Plain),
            cell(b.queued_seconds.map(fmt_duration).unwrap_or_else(|| "-".into()), Tone::Plain),
            cell(b.judged_seconds.map(fmt_duration).unwrap_or_else(|| "-".into()), Tone::Plain),
            cell(b.scenario.as_str(), Tone::Plain),
            cell(b.expected, Tone::Plain),
            cell(result, tone),
            cell(over_cell(b), if b.minutes_over_range > 0.0 { Tone::Bad } else { Tone::Plain }),
            cell(cost_cell(b), Tone::Plain),
        ];
        if logs {
            row.extend(log_cells(b));
        }
        table.add_row(row);
    }
    out.push_str(&format!("{}\n\n", table.trim_fmt()));
    out.push_str(&chart(p, output::colour()));
    out.push_str(&layer_order_section(p));
    out
}

fn over_cell(b: &BuildRow) -> String {
    match b.minutes_over_range {
        m if m <= 0.0 => "-".into(),
        m if m < 1.0 => "<1 min".into(),
        m => format!("{} min", m.round() as u64),
    }
}

fn cost_cell(b: &BuildRow) -> String {
    match (b.minutes_over_range > 0.0, b.cost_over_usd) {
        (false, _) => "-".into(),
        (true, Some(cost)) => format!("${cost:.2}"),
        (true, None) => "?".into(),
    }
}

/// Columns of the widest bar.
const BAR: usize = 40;

/// Each judged build's own time as a bar against its expected range, oldest at the bottom as in
/// the table: `#` within the range's upper bound, `!` beyond it, `|` marking the bound when the
/// build stayed under it. On a terminal, block characters (`█`, `▓`).
fn chart(p: &ProjectBuilds, fancy: bool) -> String {
    let judged: Vec<(&BuildRow, f64)> =
        p.builds.iter().filter_map(|b| b.judged_seconds.map(|s| (b, s as f64 / 60.0))).collect();
    let widest = judged.iter().map(|(b, m)| m.max(b.expected.high_minutes)).fold(0.0, f64::max);
    if judged.is_empty() || widest <= 0.0 {
        return String::new();
    }
    let (within, beyond) = if fancy { ('█', '▓') } else { ('#', '!') };
    let cols = |minutes: f64| ((minutes / widest) * BAR as f64).round() as usize;
    let mut out = String::from("Own time against the expected range:\n");
    for (b, minutes) in judged {
        let high = cols(b.expected.high_minutes);
        let own = cols(minutes);
        let mut bar: String = std::iter::repeat_n(within, own.min(high)).collect();
        if own > high {
            bar.extend(std::iter::repeat_n(beyond, own - high));
        } else {
            bar.extend(std::iter::repeat_n(' ', high - own));
            bar.push('|');
        }
        let number = b.build_number.map(|n| format!("#{n}")).unwrap_or_else(|| "-".into());
        let pad = (BAR + 1).saturating_sub(bar.chars().count());
        out.push_str(&format!(
            "  {number:>5} {bar}{}  {} (expected {})\n",
            " ".repeat(pad),
            fmt_duration(b.judged_seconds.unwrap_or(0)),
            b.expected
        ));
    }
    out.push('\n');
    out
}

/// The Dockerfile lines the newest read log shows defeating the cache, once per project.
fn layer_order_section(p: &ProjectBuilds) -> String {
    let newest = p.builds.iter().find_map(|b| {
        let found = b.from_log.as_ref().filter(|f| !f.layer_order.is_empty())?;
        Some((b.build_number, &found.layer_order))
    });
    let Some((number, findings)) = newest else { return String::new() };
    let from = number.map(|n| format!("build #{n}'s log")).unwrap_or_else(|| "a build's log".into());
    let mut out = format!("  Dockerfile, from {from}:\n");
    for finding in findings {
        out.push_str(&format!("    - {}\n", finding.describe()));
    }
    // What it cost in the builds shown from the week up to the newest: each build's longest rerun.
    let newest_start = p.builds.iter().filter_map(|b| b.start).max();
    let week: Vec<u64> = p
        .builds
        .iter()
        .filter(|b| newest_start.zip(b.start).is_some_and(|(n, s)| n - s < chrono::Duration::days(7)))
        .filter_map(|b| b.from_log.as_ref())
        .filter_map(|f| f.layer_order.iter().filter(|o| o.mistake.reruns_installs()).map(|o| o.rebuilt_millis).max())
        .filter(|ms| *ms > 0)
        .collect();
    if !week.is_empty() {
        let minutes = week.iter().sum::<u64>().div_ceil(60_000);
        out.push_str(&format!(
            "    {} of the builds shown in the 7 days up to the newest reran an install this order reruns: {minutes} min the reordered Dockerfile would reuse.\n",
            week.len()
        ));
    }
    out.push('\n');
    out
}

/// The cache's own work and the causes a build's log names ("-" for none; "log not read").
fn log_cells(b: &BuildRow) -> [comfy_table::Cell; 2] {
    match &b.from_log {
        Some(f) if f.unread.is_none() => {
            let work = if f.cost.is_empty() { "-".to_owned() } else { fmt_duration(f.cost.total_seconds()) };
            let mut names: Vec<&str> = f.causes.iter().map(|c| c.kind.as_str()).collect();
            if !f.layer_order.is_empty() {
                names.push("layer-order");
            }
            let causes = names.join(", ");
            let tone = if names.is_empty() { Tone::Plain } else { Tone::Warn };
            [cell(work, Tone::Plain), cell(if causes.is_empty() { "-".to_owned() } else { causes }, tone)]
        }
        _ => [cell("-", Tone::Plain), cell("log not read", Tone::Plain)],
    }
}
