//! `cache-sentinel audit`: every project in scope, its cache now, what the guard would do and why
//! (or why it leaves the cache alone), the service role's access to the location as the guard
//! found it, its last build's own time against its expected range, and the monitor's cache
//! evidence. Changes nothing.

use crate::args::{AuditFormat, Global, ProjectArgs};
use crate::failure::{CliError, EXIT_ATTENTION, EXIT_ERROR, EXIT_OK, describe_aws};
use crate::output::{self, Tone, cell};
use crate::progress;
use crate::settings::{self, LayeredEnv};
use cache_sentinel::audit::{AuditReport, Auditor, BucketStatus, Evidence, ProjectAudit};
use cache_sentinel::aws::Clients;
use cache_sentinel::clock::Clock;
use cache_sentinel::guard::access::{Denial, NOT_SEEN, RoleAccess};
use cache_sentinel::guard::plan::RefusalCause;
use cache_sentinel::guard::{HealAction, LocationAccess};
use cache_sentinel::monitor::evidence::{Cause, Signal};
use cache_sentinel::monitor::judge::fmt_duration;
use cache_sentinel::monitor::render_cache::short;
use cache_sentinel::recent_builds::BuildRow;
use futures::StreamExt;
use serde::Serialize;
use std::sync::Arc;

/// Projects read concurrently (each costs ListBuildsForProject and BatchGetBuilds).
const CONCURRENCY: usize = 8;

pub async fn run(global: &Global, args: &ProjectArgs, format: AuditFormat) -> Result<u8, CliError> {
    let env = LayeredEnv::from_flags(global)?.with_projects(&args.patterns);
    let clock = settings::clock(global)?;
    let clients = settings::clients(global).await?;
    let account = settings::account_if_needed(&env, &clients).await?;
    let now = clock.now();
    let (report, account) = report(&env, &clients, clock, account, true).await?;

    if format == AuditFormat::Asff {
        // The product ARN and the resources' ARNs name the account: STS when nothing else did.
        let Some(account) = account.as_deref() else { return Err(CliError::UnknownAccount) };
        output::print_json(&cache_sentinel::findings::audit::asff(&report, account, now))?;
    } else if global.json || format == AuditFormat::Json {
        output::print_json(&AuditJson {
            needs_attention: report.needing_attention(),
            errors: report.errors(),
            report: &report,
        })?;
    } else {
        output::print(&render(&report, now))?;
    }
    Ok(exit_code(report.errors(), report.needing_attention()))
}

/// 2 when an error left the answer incomplete, else 1 when something needs attention, else 0.
pub fn exit_code(errors: usize, needing_attention: usize) -> u8 {
    if errors > 0 {
        EXIT_ERROR
    } else if needing_attention > 0 {
        EXIT_ATTENTION
    } else {
        EXIT_OK
    }
}

/// The audit of one account and region with these clients: its scope, every project in it
/// (CONCURRENCY at once; a progress bar when `bar`), and the pruner's standing. Returns the report
/// and the account (STS names it when `account` is None, for the pruner's state and ASFF).
pub async fn report(
    env: &LayeredEnv,
    clients: &Clients,
    clock: Arc<dyn Clock>,
    account: Option<String>,
    bar: bool,
) -> Result<(AuditReport, Option<String>), CliError> {
    let auditor = Auditor::new(env.guard()?, env.monitor()?, clients, clock);
    let scope = auditor.scope(account.as_deref()).await?;
    let bar = if bar {
        progress::bar(scope.projects.len() as u64, "reading projects and builds")
    } else {
        indicatif::ProgressBar::hidden()
    };
    let lines: Vec<ProjectAudit> = futures::stream::iter(0..scope.projects.len())
        .map(|index| {
            let (auditor, scope, bar) = (&auditor, &scope, &bar);
            async move {
                let line = auditor.audit_project(scope, index).await;
                bar.inc(1);
                line
            }
        })
        .buffered(CONCURRENCY)
        .collect()
        .await;
    bar.finish_and_clear();
    // The pruner's state is kept per account: STS names it when CACHE_BUCKET made it unnecessary.
    let account = match account {
        Some(account) => Some(account),
        None => cache_sentinel::aws::sts::caller_account(&clients.sdk).await.ok(),
    };
    let sweeps = auditor.sweeps(&scope, account.as_deref()).await;
    let mut report = auditor.report(scope, lines);
    report.sweeps = Some(sweeps);
    Ok((report, account))
}

#[derive(Serialize)]
struct AuditJson<'a> {
    needs_attention: usize,
    errors: usize,
    #[serde(flatten)]
    report: &'a AuditReport,
}

fn render(report: &AuditReport, now: chrono::DateTime<chrono::Utc>) -> String {
    let mut out = format!(
        "Audit of {} in {}; cache bucket {} ({})\n",
        output::count(report.projects.len(), "project", "projects"),
        report.region,
        report.bucket,
        bucket_status(&report.bucket_status)
    );
    if let Some(sweeps) = &report.sweeps {
        let (line, look) = sweeps.describe(now);
        out.push_str(&output::tone(&format!("Pruner: {line}\n"), if look { Tone::Warn } else { Tone::Plain }));
    }
    out.push('\n');
    if !report.projects.is_empty() {
        let mut table = output::table(&[
            "PROJECT",
            "OWNER",
            "CACHE NOW",
            "GUARD",
            "HEALS",
            "ROLE ACCESS",
            "LAST BUILD (OWN TIME)",
            "CACHE EVIDENCE",
        ]);
        for line in &report.projects {
            table.add_row(vec![
                cell(&line.project, Tone::Plain),
                cell(line.owner.as_ref().map_or("-", |o| o.label()), Tone::Plain),
                cell(&line.cache, if line.cache.is_s3() { Tone::Plain } else { Tone::Warn }),
                guard_cell(line),
                heals_cell(line),
                access_cell(&line.access),
                last_build_cell(line),
                evidence_cell(&line.evidence),
            ]);
        }
        out.push_str(&format!("{}\n", table.trim_fmt()));
    }
    out.push_str(&needs_attention(report.projects.iter().map(|p| (p.project.clone(), p))));
    let unverified: Vec<(&str, &str)> = report
        .projects
        .iter()
        .filter_map(|p| match &p.access {
            LocationAccess::Checked { result: RoleAccess::Unverifiable { reason }, .. } => {
                Some((p.project.as_str(), reason.as_str()))
            }
            _ => None,
        })
        .collect();
    if !unverified.is_empty() {
        out.push_str("\nService role access not verified (IAM's policy simulator could not answer):\n");
        for (project, reason) in unverified {
            out.push_str(&format!("  {project}: {reason}\n"));
        }
    }
    if report.projects.iter().any(|p| matches!(p.access, LocationAccess::Checked { .. })) {
        out.push_str(&format!("\nRole access: {NOT_SEEN}\n"));
    }
    for line in report.projects.iter().filter(|p| !p.errors.is_empty()) {
        for error in &line.errors {
            out.push_str(&format!("{} {}: {}\n", output::tone("Error:", Tone::Bad), line.project, describe_aws(error)));
        }
    }
    if !report.out_of_scope.is_empty() {
        out.push_str(&format!(
            "\nNot audited (out of scope: PROJECT_INCLUDE/PROJECT_EXCLUDE or --project): {}\n",
            output::count(report.out_of_scope.len(), "project", "projects")
        ));
    }
    if !report.vanished.is_empty() {
        out.push_str(&format!("Deleted while the audit ran: {}\n", report.vanished.join(", ")));
    }
    out
}

/// "Needs attention (n):" and each project's reasons and advice, under the label given (the
/// project's name, or its account and region too), or "Nothing needs attention."
pub(crate) fn needs_attention<'a>(lines: impl Iterator<Item = (String, &'a ProjectAudit)>) -> String {
    let attention: Vec<(String, &ProjectAudit)> = lines.filter(|(_, p)| !p.attention.is_empty()).collect();
    if attention.is_empty() {
        return format!("\n{}\n", output::tone("Nothing needs attention.", Tone::Good));
    }
    let mut out = format!("\n{}\n", output::tone(&format!("Needs attention ({}):", attention.len()), Tone::Warn));
    for (label, line) in attention {
        out.push_str(&format!("  {label}\n"));
        for why in &line.attention {
            out.push_str(&format!("    - {why}\n"));
        }
        for advice in &line.advice {
            out.push_str(&format!("    advice: {}\n", advice.replace('\n', "\n      ")));
        }
    }
    out
}

pub(crate) fn bucket_status(status: &BucketStatus) -> String {
    match status {
        BucketStatus::Usable { region: Some(region) } => format!("usable, in {region}"),
        BucketStatus::Usable { region: None } => "usable".into(),
        BucketStatus::Missing => "does not exist".into(),
        BucketStatus::Forbidden { reason } => format!("not accessible: {reason}"),
        BucketStatus::OtherRegion { region } => format!(
            "in {} (S3 answered 301): CodeBuild projects of this region cannot use it; create the cache bucket in this region or set CACHE_BUCKET",
            region.as_deref().unwrap_or("another region")
        ),
        BucketStatus::Unreachable { reason } => format!("could not be checked: {reason}"),
    }
}

/// The guard's heals within GUARD_HEAL_LOOP_DAYS; a heal loop (refused) stands out.
pub(crate) fn heals_cell(line: &ProjectAudit) -> comfy_table::Cell {
    let looped = line.guard.refusal == Some(RefusalCause::HealLoop);
    match line.heals {
        None => cell("-", Tone::Plain),
        Some(n) if looped => cell(format!("{n} (loop)"), Tone::Bad),
        Some(0) => cell("0", Tone::Plain),
        Some(n) => cell(n, Tone::Warn),
    }
}

pub(crate) fn guard_cell(line: &ProjectAudit) -> comfy_table::Cell {
    let plan = &line.guard;
    if let Some(leave) = &plan.leave {
        let tone = if plan.warnings.is_empty() { Tone::Plain } else { Tone::Warn };
        return cell(format!("leave: {}", leave.label()), tone);
    }
    match plan.action {
        HealAction::NoChange => cell("no change", Tone::Good),
        HealAction::Heal => cell(format!("would heal to {}", plan.after), Tone::Warn),
        HealAction::Refuse => cell("would refuse (see below)", Tone::Bad),
        HealAction::Skip => cell(format!("skip: {}", plan.reason), Tone::Plain),
        HealAction::Keep => cell(format!("keep: {}", plan.reason), Tone::Plain),
    }
}

/// "allowed", "denied: s3:PutObject", "not checked", ...
pub(crate) fn access_cell(access: &LocationAccess) -> comfy_table::Cell {
    let actions = |denied: &[Denial]| denied.iter().map(|d| d.action.as_str()).collect::<Vec<_>>().join(", ");
    match access {
        LocationAccess::NotChecked { .. } => cell("not checked", Tone::Plain),
        LocationAccess::Checked { result, .. } => match result {
            RoleAccess::Granted { bucket_denied, key_unchecked: Some(_) } if bucket_denied.is_empty() => {
                cell("allowed (KMS key not checked)", Tone::Warn)
            }
            RoleAccess::Granted { bucket_denied, .. } if bucket_denied.is_empty() => cell("allowed", Tone::Good),
            RoleAccess::Granted { bucket_denied, .. } => {
                cell(format!("allowed (lacks {})", actions(bucket_denied)), Tone::Warn)
            }
            RoleAccess::Denied { denied } => cell(format!("denied: {}", actions(denied)), Tone::Bad),
            RoleAccess::Unverifiable { .. } => cell("not verifiable", Tone::Warn),
            RoleAccess::NoServiceRole => cell("no service role", Tone::Bad),
        },
    }
}

pub(crate) fn last_build_cell(line: &ProjectAudit) -> comfy_table::Cell {
    match &line.last_build {
        None if line.errors.iter().any(|e| e.operation.starts_with("codebuild:")) => {
            cell("error (see below)", Tone::Bad)
        }
        None => cell("no builds", Tone::Plain),
        Some(build) => {
            let verdict = if build.over_expected {
                "over"
            } else if build.over_baseline {
                "over baseline"
            } else if build.judged_seconds.is_none() {
                "not judged"
            } else {
                "ok"
            };
            cell(build_summary(build, verdict), if build.slow { Tone::Bad } else { Tone::Good })
        }
    }
}

/// "#5 SUCCEEDED 9 min 0 s, app 8-12 min: ok" (the build's own time, net of queueing)
pub fn build_summary(build: &BuildRow, verdict: &str) -> String {
    let number = build.build_number.map(|n| format!("#{n} ")).unwrap_or_default();
    let took = build.judged_seconds.map(fmt_duration).unwrap_or_else(|| "?".into());
    format!("{number}{} {took}, {} {}: {verdict}", build.status, build.scenario.as_str(), build.expected)
}

/// "restored, uploaded, layers reused", "not effective: nothing restored", "no records yet", ...
pub(crate) fn evidence_cell(evidence: &Evidence) -> comfy_table::Cell {
    let standing = match evidence {
        Evidence::NotRead { reason } if reason == "not on the S3 cache" => return cell("-", Tone::Plain),
        Evidence::NotRead { .. } => return cell("not read", Tone::Warn),
        Evidence::NoRecords => return cell("no records yet", Tone::Plain),
        Evidence::Read(standing) => standing,
    };
    if !standing.not_effective.is_empty() {
        let causes: Vec<&str> = standing.not_effective.iter().map(|c| short(*c)).collect();
        return cell(format!("not effective: {}", causes.join(", ")), Tone::Bad);
    }
    let seen: Vec<&str> = standing
        .causes
        .iter()
        .filter_map(|c| match (c.cause, c.last) {
            (_, Signal::Unknown) => None,
            (Cause::NoRestore, Signal::Clear) => Some("restored"),
            (Cause::NoRestore, Signal::Shows) => Some("nothing restored"),
            (Cause::NoUpload, Signal::Clear) => Some("uploaded"),
            (Cause::NoUpload, Signal::Shows) => Some("nothing uploaded"),
            (Cause::CacheNotDefined, Signal::Clear) => None,
            (Cause::CacheNotDefined, Signal::Shows) => Some("no cache in the buildspec"),
            (Cause::NoLayersReused, Signal::Clear) => Some("layers reused"),
            (Cause::NoLayersReused, Signal::Shows) => Some("no layer reused"),
        })
        .collect();
    let problems = standing.causes.iter().any(|c| c.last == Signal::Shows);
    if seen.is_empty() {
        cell("nothing told yet", Tone::Plain)
    } else {
        cell(seen.join(", "), if problems { Tone::Warn } else { Tone::Good })
    }
}
