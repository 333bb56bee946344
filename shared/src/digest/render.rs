//! The digest as an email: a subject that says the week in one line (SNS: at most 100 printable
//! ASCII characters), the totals, the three worst projects with what to do, then one line per
//! project. Plain text without tables, so it reads the same in any mail client's font; the body
//! stays under SNS's 256 KB (`Notice` truncates past it, saying so).

use super::week::{Digest, ProjectLine};
use crate::notify::{Notice, Severity};
use crate::pruner::notice::human;
use std::fmt::Write;

/// How many projects get the long form, with what to do.
const WORST: usize = 3;

fn minutes(m: f64) -> String {
    if m > 0.0 && m < 1.0 { "under 1 min".into() } else { format!("{} min", m.round() as u64) }
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn usd(amount: f64) -> String {
    format!("${amount:.2}")
}

/// "21 min over range, about $0.42 (general1.large at $0.02 a minute)".
fn over(p: &ProjectLine) -> String {
    if p.minutes_over <= 0.0 {
        return "none over range".into();
    }
    let cost = match (&p.price, p.cost_usd, &p.cost_unknown) {
        (Some(price), Some(cost), _) => format!(
            ", about {} ({} at ${} a minute{})",
            usd(cost),
            price.name,
            price.usd_per_minute,
            if price.from_variable { ", MONITOR_COMPUTE_PRICES" } else { "" }
        ),
        (_, _, Some(why)) => format!(", cost not known: {why}"),
        _ => String::new(),
    };
    format!("{} over range in {}{cost}", minutes(p.minutes_over), count(p.over_range, "build", "builds"))
}

/// "3 of 4 builds slow; 37 min over range..." (`of`) or "4 builds, 3 slow, 37 min..." (the list);
/// "no build" for a project listed for its cache alone.
fn builds(p: &ProjectLine, form: &str) -> String {
    match (p.builds, form) {
        (0, _) => "no build".into(),
        (_, "of") => format!("{} of {} slow; {}", p.slow, count(p.builds, "build", "builds"), over(p)),
        _ => format!("{}, {} slow, {}", count(p.builds, "build", "builds"), p.slow, over(p)),
    }
}

fn pruned(p: &ProjectLine) -> String {
    p.bytes_pruned.map(|b| format!("; pruned {}", human(b))).unwrap_or_default()
}

/// "week", "day" or "14 days": the window's length in whole days.
fn period(d: &Digest) -> String {
    match (d.to - d.from).num_days() {
        7 => "week".into(),
        1 => "day".into(),
        n => format!("{n} days"),
    }
}

/// The weekly digest notice.
pub fn notice(d: &Digest) -> Notice {
    let slow_projects = d.projects.iter().filter(|p| p.minutes_over > 0.0).count();
    let cost = if d.cost_usd > 0.0 { format!(" (~{})", usd(d.cost_usd)) } else { String::new() };
    let pruned = d.bytes_pruned.map(|b| format!(", {} pruned", human(b))).unwrap_or_default();
    let subject = format!(
        "cache-sentinel {}: {slow_projects} of {} projects over range, {}{cost}{pruned}",
        period(d),
        d.projects.len(),
        minutes(d.minutes_over),
    );
    let severity = if slow_projects > 0 { Severity::Warning } else { Severity::Info };
    Notice::new(&subject, &body(d), severity).with_attribute("action", "digest").with_attribute("project", "*")
}

fn body(d: &Digest) -> String {
    let mut b = String::new();
    let _ = writeln!(
        b,
        "The {} {} to {} (UTC): {}, {}.\n",
        period(d),
        d.from.format("%Y-%m-%d %H:%M"),
        d.to.format("%Y-%m-%d %H:%M"),
        count(d.projects.len(), "project", "projects"),
        count(d.builds, "build", "builds")
    );
    if d.quiet > 0 {
        let _ = writeln!(b, "Not listed: {} with no build and nothing to do.\n", count(d.quiet, "project", "projects"));
    }
    let unknown = if d.cost_unknown > 0 {
        format!(", and {} whose price is not known", count(d.cost_unknown, "project", "projects"))
    } else {
        String::new()
    };
    let _ = writeln!(
        b,
        "Over their expected range: {} of {} builds, {} in all, about {} at on-demand prices{unknown}.",
        d.projects.iter().map(|p| p.over_range).sum::<usize>(),
        d.builds,
        minutes(d.minutes_over),
        usd(d.cost_usd)
    );
    let with = |f: fn(&ProjectLine) -> bool| d.projects.iter().filter(|p| f(p)).count();
    let by_design = with(|p| matches!(p.cache, super::CacheLine::OffS3ByDesign { .. }));
    let _ = writeln!(
        b,
        "Cache: {} effective, {} not effective, {} not on S3{}, {} not known.",
        with(|p| matches!(p.cache, super::CacheLine::Effective)),
        with(|p| matches!(p.cache, super::CacheLine::NotEffective { .. })),
        with(|p| matches!(p.cache, super::CacheLine::NotOnS3 { .. })),
        if by_design > 0 { format!(", {by_design} LOCAL by design (fleet, Docker server)") } else { String::new() },
        with(|p| matches!(p.cache, super::CacheLine::Unknown { .. })),
    );
    match d.bytes_pruned {
        Some(bytes) => _ = writeln!(b, "Pruned: {} of stale cache.", human(bytes)),
        None => b.push_str("Pruned: not known (the pruner's deletions of the window are not recorded).\n"),
    }
    let worst: Vec<&ProjectLine> =
        d.projects.iter().filter(|p| p.minutes_over > 0.0 || p.todo != "nothing to do").take(WORST).collect();
    if !worst.is_empty() {
        b.push_str("\nWorst first:\n");
        for (i, p) in worst.iter().enumerate() {
            let _ = writeln!(b, "{}. {}: {}{}", i + 1, p.project, builds(p, "of"), pruned(p));
            let _ = writeln!(b, "   cache: {}", p.cache.short());
            let _ = writeln!(b, "   to do: {}", p.todo);
        }
    }
    b.push_str("\nEvery project (builds, slow, over range, cache, pruned):\n");
    for p in &d.projects {
        let _ = writeln!(b, "  {}: {}; cache {}{}", p.project, builds(p, "list"), p.cache.short(), pruned(p));
    }
    if !d.notes.is_empty() {
        b.push_str("\nNot read:\n");
        for note in &d.notes {
            let _ = writeln!(b, "  {note}");
        }
    }
    b.push_str(
        "\nMinutes over range: each build's own time (without queueing and provisioning) beyond its scenario's upper bound. \
         Prices: the AWS CodeBuild pricing page, on-demand Linux in US East (N. Virginia), or MONITOR_COMPUTE_PRICES.\n",
    );
    b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::Prices;
    use crate::digest::week::tests::{week, week_start};
    use crate::digest::{CacheLine, digest};
    use crate::snapshots::{assert_snapshot, notice_text};

    #[test]
    fn a_week_of_four_projects_reads_worst_first_with_what_to_do() {
        let weeks = vec![
            week("web-frontend", Some("BUILD_GENERAL1_SMALL"), &[6, 7, 5], CacheLine::Effective),
            week(
                "tts-service-build",
                Some("BUILD_GENERAL1_LARGE"),
                &[25, 24, 12, 6],
                CacheLine::NotEffective {
                    cause: "nothing restored in the last 3 builds: the buildspec caches no paths".into(),
                },
            ),
            week(
                "legacy-api",
                Some("BUILD_GENERAL1_MEDIUM"),
                &[11],
                CacheLine::NotOnS3 {
                    setting: "LOCAL".into(),
                    why: "opted out (tag cache-sentinel=off)".into(),
                    todo: "move it to the S3 cache where its settings live, or keep it off knowingly".into(),
                },
            ),
            week("gpu-train", Some("BUILD_GENERAL1_XLARGE"), &[30], CacheLine::Effective),
            // Listed for its cache alone: no build this week, a heal the guard refused.
            week(
                "tts-readonly-build",
                Some("BUILD_GENERAL1_LARGE"),
                &[],
                CacheLine::NotOnS3 {
                    setting: "LOCAL".into(),
                    why: "the guard refused to heal it: service role cannot use the cache".into(),
                    todo: "fix what the guard's refusal email names; it heals the project at its next build".into(),
                },
            ),
            week(
                "fleet-build",
                Some("BUILD_GENERAL1_LARGE"),
                &[7],
                CacheLine::OffS3ByDesign {
                    setting: "LOCAL".into(),
                    why: "LOCAL is right on the reserved-capacity fleet arn:aws:codebuild:ap-south-1:123456789012:fleet/tts:1".into(),
                },
            ),
        ];
        let mut d = digest(weeks, &Prices::EMPTY, week_start(), week_start() + chrono::Duration::days(7));
        (d.quiet, d.notes) = (12, vec!["the guard's refusals could not be read: AccessDenied".into()]);
        let n = notice(&d);
        assert!(n.subject().len() <= 100, "{}", n.subject());
        assert_snapshot("digest-week.txt", &notice_text(&n));
    }

    /// A thousand projects: the subject and body stay within SNS's limits.
    #[test]
    fn a_thousand_projects_fit_sns() {
        let weeks = (0..1000)
            .map(|i| {
                week(
                    &format!("project-with-a-long-name-{i:04}"),
                    Some("BUILD_GENERAL1_LARGE"),
                    &[25, 6],
                    CacheLine::Effective,
                )
            })
            .collect();
        let d = digest(weeks, &Prices::EMPTY, week_start(), week_start() + chrono::Duration::days(7));
        let n = notice(&d);
        assert!(n.subject().len() <= 100 && n.subject().is_ascii(), "{}", n.subject());
        assert!(n.body().len() <= 256 * 1024, "{}", n.body().len());
        assert!(n.subject().contains("1000 of 1000 projects over range, 17000 min (~$340.00)"), "{}", n.subject());
    }
}
