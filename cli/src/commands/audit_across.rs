//! `cache-sentinel audit --accounts/--organization/--regions`: the audit of each account and region,
//! through the read-only role `cache-sentinel-audit` the stack creates in each account (the
//! caller's own account with its own credentials), TARGETS_AT_ONCE at a time, in one table with
//! ACCOUNT and REGION columns and a summary per account. An account that cannot be entered, or
//! whose audit fails, is that account's line: the others stand. The plan and the result are the
//! library's (`cache_sentinel::org`); this file runs it and prints it.

use super::audit::{self, evidence_cell, exit_code, guard_cell, last_build_cell, needs_attention};
use crate::args::{AcrossArgs, AuditFormat, Global, ProjectArgs};
use crate::failure::{CliError, describe_aws};
use crate::output::{self, Tone, cell};
use crate::progress;
use crate::settings::{self, LayeredEnv};
use aws_config::SdkConfig;
use cache_sentinel::audit::BucketStatus;
use cache_sentinel::aws::session::{self, SessionError, is_region_name};
use cache_sentinel::aws::{Clients, organizations, sts};
use cache_sentinel::clock::Clock;
use cache_sentinel::org::targets::{self, AccountRef};
use cache_sentinel::org::{Access, OrgAudit, Outcome, Target, TargetAudit, outcome};
use futures::StreamExt;
use serde::Serialize;
use std::sync::Arc;

/// Accounts and regions audited at once (each reads its projects 8 at a time): bounded, so an
/// organisation of 500 accounts neither floods STS nor any account's CodeBuild quota.
const TARGETS_AT_ONCE: usize = 4;

pub async fn run(
    global: &Global,
    args: &ProjectArgs,
    format: AuditFormat,
    across: &AcrossArgs,
) -> Result<u8, CliError> {
    if format == AuditFormat::Asff {
        return Err(CliError::AsffAcrossAccounts);
    }
    let env = LayeredEnv::from_flags(global)?.with_projects(&args.patterns);
    // Bad input is reported once, before any call.
    env.guard()?;
    env.monitor()?;
    let named = if across.accounts.is_empty() { None } else { Some(targets::parse_accounts(&across.accounts)?) };
    let given = regions(&across.regions)?;
    let clock = settings::clock(global)?;
    let base = settings::sdk(global).await?;
    let caller = sts::caller_account(&base).await?;
    let accounts = match named {
        Some(accounts) => accounts,
        None if across.organization => organizations::list_accounts(&base)
            .await
            .map_err(|e| CliError::Organization(outcome::listing_failed(&e, describe_aws(&e))))?
            .into_iter()
            .map(|a| AccountRef { id: a.id, name: a.name, status: a.status })
            .collect(),
        None => vec![AccountRef::named(&caller)],
    };
    let regions = match given {
        Some(regions) => regions,
        None => base.region().map(|r| vec![r.as_ref().to_owned()]).unwrap_or_default(),
    };
    let targets = targets::targets(&accounts, &regions, &caller)?;

    let bar = progress::bar(targets.len() as u64, "auditing accounts and regions");
    let audited: Vec<TargetAudit> = futures::stream::iter(targets)
        .map(|target| {
            let (env, base, clock, caller, bar) = (&env, &base, clock.clone(), caller.as_str(), &bar);
            async move {
                let outcome = audit_target(env, base, clock, caller, &target).await;
                bar.inc(1);
                TargetAudit { target, outcome }
            }
        })
        .buffered(TARGETS_AT_ONCE)
        .collect()
        .await;
    bar.finish_and_clear();
    let audit = OrgAudit { targets: audited };

    if global.json || format == AuditFormat::Json {
        output::print_json(&AcrossJson {
            needs_attention: audit.needing_attention(),
            errors: audit.errors(),
            accounts: audit.accounts(),
            audit: &audit,
        })?;
    } else {
        output::print(&render(&audit))?;
    }
    Ok(exit_code(audit.errors(), audit.needing_attention()))
}

/// `--regions`, each checked (None: not given, the session's region).
fn regions(given: &[String]) -> Result<Option<Vec<String>>, CliError> {
    let given: Vec<String> = given.iter().map(|r| r.trim().to_owned()).filter(|r| !r.is_empty()).collect();
    if let Some(bad) = given.iter().find(|r| !is_region_name(r)) {
        return Err(SessionError::InvalidRegion { region: bad.clone() }.into());
    }
    Ok((!given.is_empty()).then_some(given))
}

/// One account in one region: enter it, audit it. Every failure is this target's outcome.
async fn audit_target(
    env: &LayeredEnv,
    base: &SdkConfig,
    clock: Arc<dyn Clock>,
    caller: &str,
    target: &Target,
) -> Outcome {
    if let Some(reason) = &target.skip {
        return Outcome::Skipped { reason: reason.clone() };
    }
    let (sdk, role) = match &target.access {
        Access::Caller => (session::in_region(base, &target.region), None),
        Access::Role(role) => match session::assume(base, role, &target.region).await {
            Ok(sdk) => (sdk, Some(role.as_str())),
            Err(e) => return Outcome::Failed { error: outcome::assume_failed(role, caller, &e) },
        },
    };
    let clients = Clients::from_sdk_config(sdk);
    match audit::report(env, &clients, clock, Some(target.account.clone()), false).await {
        Ok((report, _)) => Outcome::Audited(report),
        Err(CliError::Aws(e)) => Outcome::Failed { error: outcome::audit_failed(role, &e, describe_aws(&e)) },
        Err(e) => Outcome::Failed { error: e.to_string() },
    }
}

#[derive(Serialize)]
struct AcrossJson<'a> {
    needs_attention: usize,
    errors: usize,
    accounts: Vec<cache_sentinel::org::AccountSummary>,
    #[serde(flatten)]
    audit: &'a OrgAudit,
}

fn render(audit: &OrgAudit) -> String {
    let accounts = audit.accounts();
    let regions: std::collections::BTreeSet<&str> = audit.targets.iter().map(|t| t.target.region.as_str()).collect();
    let projects: usize = accounts.iter().map(|a| a.projects).sum();
    let mut out = format!(
        "Audit of {} in {}: {}, {} needing attention, {}\n\n",
        output::count(accounts.len(), "account", "accounts"),
        output::count(regions.len(), "region", "regions"),
        output::count(projects, "project", "projects"),
        audit.needing_attention(),
        output::count(audit.errors(), "error", "errors"),
    );
    let mut table = output::table(&[
        "ACCOUNT",
        "REGION",
        "PROJECT",
        "CACHE NOW",
        "GUARD",
        "LAST BUILD (OWN TIME)",
        "CACHE EVIDENCE",
    ]);
    for t in &audit.targets {
        let (account, region) = (cell(&t.target.account, Tone::Plain), cell(&t.target.region, Tone::Plain));
        match &t.outcome {
            Outcome::Audited(report) if report.projects.is_empty() => {
                table.add_row(vec![account, region, cell("(no projects in scope)", Tone::Plain)]);
            }
            Outcome::Audited(report) => {
                for line in &report.projects {
                    table.add_row(vec![
                        cell(&t.target.account, Tone::Plain),
                        cell(&t.target.region, Tone::Plain),
                        cell(&line.project, Tone::Plain),
                        cell(&line.cache, if line.cache.is_s3() { Tone::Plain } else { Tone::Warn }),
                        guard_cell(line),
                        last_build_cell(line),
                        evidence_cell(&line.evidence),
                    ]);
                }
            }
            Outcome::Failed { .. } => {
                table.add_row(vec![account, region, cell("(not audited: error, see below)", Tone::Bad)]);
            }
            Outcome::Skipped { reason } => {
                table.add_row(vec![account, region, cell(format!("({reason})"), Tone::Plain)]);
            }
        }
    }
    out.push_str(&format!("{}\n\n", table.trim_fmt()));

    let mut summary = output::table(&["ACCOUNT", "NAME", "REGIONS AUDITED", "PROJECTS", "NEED ATTENTION", "ERRORS"]);
    for a in &accounts {
        let tone = if a.errors > 0 { Tone::Bad } else { Tone::Plain };
        summary.add_row(vec![
            cell(&a.account, Tone::Plain),
            cell(if a.name.is_empty() { "-" } else { &a.name }, Tone::Plain),
            cell(format!("{}/{}", a.audited, a.regions), if a.audited < a.regions { Tone::Warn } else { Tone::Plain }),
            cell(a.projects, Tone::Plain),
            cell(a.needing_attention, if a.needing_attention > 0 { Tone::Warn } else { Tone::Plain }),
            cell(a.errors, tone),
        ]);
    }
    out.push_str(&format!("{}\n", summary.trim_fmt()));

    let mut attention = Vec::new();
    for t in &audit.targets {
        if let Outcome::Audited(report) = &t.outcome {
            let prefix = format!("{} {}", t.target.account, t.target.region);
            attention.extend(report.projects.iter().map(move |p| (format!("{prefix} {}", p.project), p)));
        }
    }
    out.push_str(&needs_attention(attention.into_iter()));

    // An account that fails alike in every region (its role cannot be assumed) is said once.
    let mut failures: Vec<(&str, &str, Vec<&str>)> = Vec::new();
    for t in &audit.targets {
        if let Outcome::Failed { error } = &t.outcome {
            match failures.iter_mut().find(|(a, e, _)| *a == t.target.account && *e == error) {
                Some((_, _, regions)) => regions.push(&t.target.region),
                None => failures.push((&t.target.account, error, vec![&t.target.region])),
            }
        }
    }
    for (account, error, regions) in failures {
        out.push_str(&format!("{} {account} {}: {error}\n", output::tone("Error:", Tone::Bad), regions.join(", ")));
    }
    for t in &audit.targets {
        let at = format!("{} {}", t.target.account, t.target.region);
        match &t.outcome {
            Outcome::Failed { .. } | Outcome::Skipped { .. } => {}
            Outcome::Audited(report) => {
                if !matches!(report.bucket_status, BucketStatus::Usable { .. }) {
                    out.push_str(&format!(
                        "Cache bucket {at}: {} {}\n",
                        report.bucket,
                        audit::bucket_status(&report.bucket_status)
                    ));
                }
                for line in report.projects.iter().filter(|p| !p.errors.is_empty()) {
                    for error in &line.errors {
                        out.push_str(&format!(
                            "{} {at} {}: {}\n",
                            output::tone("Error:", Tone::Bad),
                            line.project,
                            describe_aws(error)
                        ));
                    }
                }
            }
        }
    }
    out
}
