//! `cache-sentinel heal`: the guard's sweep over every project in scope, exactly as the Lambda's
//! hourly sweep runs it (the library's `CacheGuard` with a scheduled event): a dry run unless
//! `--apply`, then the same UpdateProject calls and the same notices.

use crate::args::{Global, ProjectArgs};
use crate::failure::{CliError, EXIT_ATTENTION, EXIT_OK};
use crate::output::{self, Tone, cell};
use crate::progress;
use crate::settings::{self, LayeredEnv};
use cache_sentinel::guard::access::NOT_SEEN;
use cache_sentinel::guard::plan::RefusalCause;
use cache_sentinel::guard::service::Outcome;
use cache_sentinel::guard::{CacheGuard, GuardReport, ProjectOutcome};
use serde_json::json;

pub async fn run(global: &Global, args: &ProjectArgs, apply: bool) -> Result<u8, CliError> {
    let mut env = LayeredEnv::from_flags(global)?.with_projects(&args.patterns);
    env.set("DRY_RUN", if apply { "false" } else { "true" }, if apply { "--apply" } else { "heal without --apply" });
    let config = env.guard()?;
    let filter = config.common.projects.clone();
    let topic = config.common.topic_arn.clone();
    let clock = settings::clock(global)?;
    let clients = settings::clients(global).await?;
    let account = cache_sentinel::aws::sts::caller_account(&clients.sdk).await?;
    let guard = CacheGuard::new(config, &clients);
    let event = sweep_event("heal", &account, clients.region_or_default(), clock.now());

    let spinner = progress::spinner("checking projects", "{spinner} {msg} ({elapsed})");
    let report = guard.handle(&event).await;
    spinner.finish_and_clear();
    let mut report = report?;
    // The sweep's order is CodeBuild's listing order: by name reads better.
    report.projects.sort_by(|a, b| a.project.cmp(&b.project));

    // Projects out of scope are only named by the sweep, never read: counted, not listed.
    let (shown, out_of_scope): (Vec<&ProjectOutcome>, Vec<&ProjectOutcome>) =
        report.projects.iter().partition(|p| p.outcome != Outcome::Skipped || filter.check(&p.project).is_ok());
    if global.json {
        output::print_json(&report)?;
    } else {
        output::print(&render(&report, &shown, out_of_scope.len(), topic.as_deref()))?;
    }
    let open = report.count(Outcome::Refused) + if apply { 0 } else { report.count(Outcome::WouldHeal) };
    Ok(if open > 0 { EXIT_ATTENTION } else { EXIT_OK })
}

/// The scheduled event the Lambda's sweep receives from EventBridge, for the library's guard and
/// pruner to handle as a sweep.
pub fn sweep_event(
    command: &str,
    account: &str,
    region: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> serde_json::Value {
    json!({
        "version": "0",
        "id": format!("cache-sentinel-cli-{command}-{}", now.format("%Y%m%dT%H%M%SZ")),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account,
        "time": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "region": region,
        "resources": [],
        "detail": {}
    })
}

fn outcome(o: Outcome) -> (&'static str, Tone) {
    match o {
        Outcome::Unchanged => ("unchanged", Tone::Good),
        Outcome::Healed => ("healed", Tone::Good),
        Outcome::WouldHeal => ("would heal", Tone::Warn),
        Outcome::Kept => ("kept as configured", Tone::Plain),
        Outcome::Duplicate => ("another run heals it", Tone::Good),
        Outcome::Skipped => ("skipped", Tone::Plain),
        Outcome::Refused => ("refused", Tone::Bad),
        Outcome::Failed => ("failed", Tone::Bad),
    }
}

/// The summary's words for each outcome, in its order.
const COUNTS: [(Outcome, &str); 8] = [
    (Outcome::Healed, "healed"),
    (Outcome::WouldHeal, "would heal"),
    (Outcome::Duplicate, "healed by another run"),
    (Outcome::Refused, "refused"),
    (Outcome::Failed, "failed"),
    (Outcome::Kept, "kept as configured"),
    (Outcome::Unchanged, "unchanged"),
    (Outcome::Skipped, "skipped"),
];

fn render(report: &GuardReport, shown: &[&ProjectOutcome], out_of_scope: usize, topic: Option<&str>) -> String {
    let mode = if report.dry_run { "dry run: nothing changed; --apply to change" } else { "applied" };
    let mut out = format!("Heal ({mode}); cache bucket {}\n\n", report.bucket);
    if !shown.is_empty() {
        let mut table = output::table(&["PROJECT", "OUTCOME", "BEFORE", "AFTER"]);
        for p in shown {
            let (label, tone) = outcome(p.outcome);
            let show = |c: &Option<cache_sentinel::project::CacheSetting>| {
                c.as_ref().map(|c| c.to_string()).unwrap_or_else(|| "-".into())
            };
            let after =
                if p.after == p.before && p.before.is_some() { "(unchanged)".to_owned() } else { show(&p.after) };
            table.add_row(vec![
                cell(&p.project, Tone::Plain),
                cell(label, tone),
                cell(show(&p.before), Tone::Plain),
                cell(after, tone),
            ]);
        }
        out.push_str(&format!("{}\n", table.trim_fmt()));
    }
    let explained: Vec<&&ProjectOutcome> = shown.iter().filter(|p| p.outcome != Outcome::Unchanged).collect();
    if !explained.is_empty() {
        out.push_str("\nWhy:\n");
        for p in explained {
            out.push_str(&format!("  {}: {}\n", p.project, p.reason));
            for warning in &p.warnings {
                out.push_str(&format!("    warning: {}\n", indented(warning)));
            }
            for advice in &p.advice {
                out.push_str(&format!("    advice: {}\n", indented(advice)));
            }
        }
    }
    let access_checked = shown.iter().any(|p| {
        matches!(p.outcome, Outcome::Healed | Outcome::WouldHeal)
            || matches!(p.refusal, Some(RefusalCause::RoleAccess | RefusalCause::AccessUnverified))
    });
    if access_checked {
        out.push_str(&format!("\nAccess check: {}\n", indented(NOT_SEEN)));
    }
    let summary: Vec<String> = COUNTS
        .iter()
        .filter(|(o, _)| report.count(*o) > 0)
        .map(|(o, label)| format!("{} {label}", report.count(*o)))
        .collect();
    out.push_str(&format!(
        "\nSummary: {}\n",
        if summary.is_empty() { "no projects".into() } else { summary.join(", ") }
    ));
    if out_of_scope > 0 {
        out.push_str(&format!(
            "Not checked (out of scope: PROJECT_INCLUDE/PROJECT_EXCLUDE or --project): {}\n",
            output::count(out_of_scope, "project", "projects")
        ));
    }
    if !report.dry_run {
        let notified = report.projects.iter().filter(|p| p.notified).count();
        match topic {
            Some(topic) => out.push_str(&format!("Notices: {notified} published to {topic}\n")),
            None => out.push_str("Notices: none published (NOTIFY_TOPIC_ARN is not set)\n"),
        }
    }
    out
}

/// Lines after the first indented under it (policy statements are several lines).
fn indented(text: &str) -> String {
    text.replace('\n', "\n      ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use cache_sentinel::project::CacheSetting;

    fn line(project: &str, outcome: Outcome, reason: &str) -> ProjectOutcome {
        let mut p = ProjectOutcome::skipped(project, None, reason.into());
        p.outcome = outcome;
        p.before = Some(CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));
        p.after = p.before.clone();
        p
    }

    #[test]
    fn kept_and_duplicate_outcomes_read_as_what_happened() {
        let kept = line(
            "gpu-build",
            Outcome::Kept,
            "LOCAL (LOCAL_DOCKER_LAYER_CACHE) and builds with a Docker server, where LOCAL caching is the right cache (Docker layers persist on the Docker server): not switched to S3",
        );
        let mut duplicate = line(
            "tts",
            Outcome::Duplicate,
            "another invocation claimed this heal (.cache-sentinel/guard/heal/tts/00ff) and makes it",
        );
        duplicate.after = Some(CacheSetting::s3("b/tts"));
        let report = GuardReport {
            trigger: "scheduled-sweep",
            event_id: None,
            dry_run: false,
            bucket: "b".into(),
            projects: vec![kept, duplicate],
            notice_problems: vec![],
            refused: None,
            findings: None,
        };
        let shown: Vec<&ProjectOutcome> = report.projects.iter().collect();
        let text = render(&report, &shown, 0, None);
        assert!(
            text.contains(" gpu-build   kept as configured     LOCAL (LOCAL_DOCKER_LAYER_CACHE)   (unchanged)"),
            "{text}"
        );
        assert!(
            text.contains(" tts         another run heals it   LOCAL (LOCAL_DOCKER_LAYER_CACHE)   S3 at b/tts"),
            "{text}"
        );
        assert!(text.contains("  tts: another invocation claimed this heal"), "{text}");
        assert!(text.contains("Summary: 1 healed by another run, 1 kept as configured\n"), "{text}");
    }
}
