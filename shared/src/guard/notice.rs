//! The guard's notices, rendered in one place as pure functions of plain data (snapshot-tested
//! byte for byte in shared/tests/snapshots/).

use super::plan::{HealPlan, RefusalCause};
use crate::notify::{Notice, Severity};
use crate::project::CacheSetting;

pub const FUNCTION: &str = "cache-guard";

/// Where a notice comes from: the region the guard manages and the event that triggered it.
#[derive(Debug, Clone, Copy)]
pub struct NoticeContext<'a> {
    pub region: &'a str,
    pub event_id: Option<&'a str>,
}

/// A project the guard could not check or heal, and why.
#[derive(Debug, Clone)]
pub struct Failure<'a> {
    pub project: &'a str,
    /// The cache as read, when the project was read before the failure.
    pub before: Option<&'a CacheSetting>,
    pub reason: &'a str,
}

/// The project was switched to the S3 cache.
pub fn healed(plan: &HealPlan, ctx: &NoticeContext) -> Notice {
    let project = &plan.project;
    let mut body = format!("cache-guard switched the CodeBuild project {project} back to the S3 cache.\n\n");
    body.push_str(&facts(project, ctx, &plan.before.to_string(), &plan.after.to_string(), &plan.reason));
    body.push_str("\nA build already running keeps its old setting; the next build uses the S3 cache.\n");
    body.push_str(&warning_lines(&plan.warnings));
    body.push_str(&advice_lines(&plan.advice));
    body.push_str(&format!("\n{}\n", super::access::NOT_SEEN));
    body.push_str(&verify(project, ctx.region));
    notice(
        &format!("cache-guard healed {project}: {} -> S3 cache", plan.before.cache_type),
        &body,
        Severity::Warning,
        project,
        "healed",
    )
}

/// A heal was due but would have broken builds: the project was left as it is.
pub fn refused(plan: &HealPlan, ctx: &NoticeContext) -> Notice {
    let project = &plan.project;
    let mut body =
        format!("cache-guard found the CodeBuild project {project} off the S3 cache, but did not switch it.\n\n");
    body.push_str(&facts(project, ctx, &plan.before.to_string(), &unchanged(&plan.before), &plan.reason));
    body.push_str(&advice_lines(&plan.advice));
    let cause = plan.refusal.unwrap_or(RefusalCause::Bucket);
    if matches!(cause, RefusalCause::RoleAccess | RefusalCause::AccessUnverified) {
        body.push_str(&format!("\n{}\n", super::access::NOT_SEEN));
    }
    body.push_str(&verify(project, ctx.region));
    notice(
        &format!("cache-guard did not heal {project}: {}", cause.headline()),
        &body,
        Severity::Error,
        project,
        "refused",
    )
}

/// Nothing was changed, but something needs the owner's attention (the plan's warnings).
pub fn warned(plan: &HealPlan, ctx: &NoticeContext) -> Notice {
    let project = &plan.project;
    let mut body = format!("cache-guard left the CodeBuild project {project} as it is; one thing needs attention.\n\n");
    body.push_str(&facts(project, ctx, &plan.before.to_string(), &unchanged(&plan.before), &plan.reason));
    body.push_str(&warning_lines(&plan.warnings));
    body.push_str(&advice_lines(&plan.advice));
    body.push_str(&verify(project, ctx.region));
    notice(
        &format!("cache-guard left {project} on {}: see the warning", plan.before.cache_type),
        &body,
        Severity::Warning,
        project,
        "warned",
    )
}

/// One project's part of a sweep's combined notice.
#[derive(Debug, Clone)]
pub enum SweepItem<'a> {
    Healed(&'a HealPlan),
    Refused(&'a HealPlan),
    Warned(&'a HealPlan),
    Failed(Failure<'a>),
}

impl SweepItem<'_> {
    /// Which section of the sweep notice the item belongs to.
    fn section(&self) -> usize {
        match self {
            SweepItem::Healed(_) => 0,
            SweepItem::Refused(_) => 1,
            SweepItem::Warned(_) => 2,
            SweepItem::Failed(_) => 3,
        }
    }
}

/// Each section's title, and the word that counts it in the subject.
const SECTIONS: [(&str, &str); 4] = [
    ("Healed: switched to the S3 cache (a build already running keeps its old setting)", "healed"),
    ("Not healed: switching would break builds, or AWS refused it", "not healed"),
    ("Left as they are, with a warning", "warned"),
    ("Could not be checked (transient errors are retried by the next run)", "failed"),
];

/// A sweep sends one notice for every project that needs attention, not one per project.
pub fn sweep(items: &[SweepItem], ctx: &NoticeContext) -> Notice {
    let counts: Vec<usize> = (0..SECTIONS.len()).map(|s| items.iter().filter(|i| i.section() == s).count()).collect();
    let tally: Vec<String> =
        SECTIONS.iter().zip(&counts).filter(|(_, n)| **n > 0).map(|((_, word), n)| format!("{n} {word}")).collect();
    let mut body = format!(
        "cache-guard's sweep of the CodeBuild projects in {} found {} project(s) to report: {}.\n",
        ctx.region,
        items.len(),
        tally.join(", ")
    );
    if let Some(id) = ctx.event_id {
        body.push_str(&format!("Event:    {id}\n"));
    }
    for (section, (title, _)) in SECTIONS.iter().enumerate() {
        let chosen: Vec<&SweepItem> = items.iter().filter(|i| i.section() == section).collect();
        if chosen.is_empty() {
            continue;
        }
        body.push_str(&format!("\n== {title}\n"));
        for item in chosen {
            body.push('\n');
            body.push_str(&sweep_entry(item, ctx));
        }
    }
    let access_checked = items.iter().any(|i| match i {
        SweepItem::Healed(_) => true,
        SweepItem::Refused(p) => matches!(p.refusal, Some(RefusalCause::RoleAccess | RefusalCause::AccessUnverified)),
        _ => false,
    });
    if access_checked {
        body.push_str(&format!("\n{}\n", super::access::NOT_SEEN));
    }
    body.push_str(&format!(
        "\nVerify a project:\n  aws codebuild batch-get-projects --names <project> --region {} --query 'projects[0].cache'\n",
        ctx.region
    ));
    let severity = if counts[1] + counts[3] > 0 { Severity::Error } else { Severity::Warning };
    Notice::new(&format!("cache-guard sweep: {}", tally.join(", ")), &body, severity)
        .with_attribute("function", FUNCTION)
        .with_attribute("action", "sweep")
        .with_attribute("projects", &items.len().to_string())
}

fn sweep_entry(item: &SweepItem, ctx: &NoticeContext) -> String {
    let no_event = NoticeContext { event_id: None, ..*ctx };
    let (mut text, plan) = match item {
        SweepItem::Healed(p) => {
            (facts(&p.project, &no_event, &p.before.to_string(), &p.after.to_string(), &p.reason), Some(p))
        }
        SweepItem::Refused(p) | SweepItem::Warned(p) => {
            (facts(&p.project, &no_event, &p.before.to_string(), &unchanged(&p.before), &p.reason), Some(p))
        }
        SweepItem::Failed(f) => {
            let before = f.before.map_or_else(|| "(not read)".to_owned(), ToString::to_string);
            (facts(f.project, &no_event, &before, &before, f.reason), None)
        }
    };
    if let Some(plan) = plan {
        text.push_str(&warning_lines(&plan.warnings).replace("\nWarning:", "Warning:"));
        text.push_str(&advice_lines(&plan.advice).replace("\nWhat to check:", "What to check:"));
    }
    text
}

fn warning_lines(warnings: &[String]) -> String {
    if warnings.is_empty() {
        return String::new();
    }
    let mut text = "\nWarning:\n".to_owned();
    for line in warnings {
        text.push_str(&format!("  - {line}\n"));
    }
    text
}

/// The project could not be checked or healed (an AWS error).
pub fn failed(failure: &Failure, ctx: &NoticeContext) -> Notice {
    let project = failure.project;
    let before = failure.before.map_or_else(|| "(not read)".to_owned(), ToString::to_string);
    let after = failure.before.map_or_else(|| "(not read)".to_owned(), unchanged);
    let mut body = format!("cache-guard could not check or heal the CodeBuild project {project}.\n\n");
    body.push_str(&facts(project, ctx, &before, &after, failure.reason));
    body.push_str(&verify(project, ctx.region));
    notice(&format!("cache-guard failed on {project}"), &body, Severity::Error, project, "failed")
}

fn facts(project: &str, ctx: &NoticeContext, before: &str, after: &str, why: &str) -> String {
    let region = ctx.region;
    let mut text = format!("Project:  {project} ({region})\nBefore:   {before}\nAfter:    {after}\nWhy:      {why}\n");
    if let Some(id) = ctx.event_id {
        text.push_str(&format!("Event:    {id}\n"));
    }
    text
}

fn unchanged(cache: &CacheSetting) -> String {
    format!("{cache} (unchanged)")
}

fn advice_lines(advice: &[String]) -> String {
    if advice.is_empty() {
        return String::new();
    }
    let mut text = "\nWhat to check:\n".to_owned();
    for line in advice {
        // Continuation lines (a policy statement, a snippet to paste) under their item.
        text.push_str(&format!("  - {}\n", line.trim_end().replace('\n', "\n    ")));
    }
    text
}

fn verify(project: &str, region: &str) -> String {
    format!(
        "\nVerify:\n  aws codebuild batch-get-projects --names {project} --region {region} --query 'projects[0].cache'\n"
    )
}

fn notice(subject: &str, body: &str, severity: Severity, project: &str, action: &str) -> Notice {
    Notice::new(subject, body, severity)
        .with_attribute("function", FUNCTION)
        .with_attribute("project", project)
        .with_attribute("action", action)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::plan::HealAction;

    /// Compares the notice with a committed file under shared/tests/snapshots/.
    fn assert_snapshot(name: &str, notice: &Notice) {
        crate::snapshots::assert_snapshot(name, &crate::snapshots::notice_text(notice));
    }

    const CTX: NoticeContext =
        NoticeContext { region: "ap-south-1", event_id: Some("7f1c2d3e-0000-4a5b-9c8d-000000000001") };

    fn plan(action: HealAction, reason: &str) -> HealPlan {
        HealPlan {
            project: "tts-service-build".into(),
            action,
            before: CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]),
            after: CacheSetting::s3("codebuild-cache-123456789012-ap-south-1/tts-service-build"),
            reason: reason.into(),
            advice: vec![
                "S3 cache does not hold Docker layers by itself: export them to a cached path".into(),
                "the project's service role needs s3:GetObject and s3:PutObject".into(),
            ],
            warnings: vec![],
            refusal: None,
            leave: None,
        }
    }

    #[test]
    fn healed_notice_snapshot() {
        let p = plan(HealAction::Heal, "LOCAL cache lives on a single build host; switching to the S3 cache");
        assert_snapshot("guard-healed.txt", &healed(&p, &CTX));
    }

    #[test]
    fn refused_notice_snapshot() {
        let mut p = plan(HealAction::Refuse, "not switched, builds would break: cache bucket b does not exist");
        p.after = p.before.clone();
        p.advice.clear();
        p.refusal = Some(RefusalCause::Bucket);
        assert_snapshot("guard-refused.txt", &refused(&p, &CTX));
    }

    #[test]
    fn failed_notice_snapshot() {
        let before = CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]);
        let failure = Failure {
            project: "tts-service-build",
            before: Some(&before),
            reason: "codebuild:UpdateProject failed: throttled by AWS (retries exhausted): ThrottlingException: Rate exceeded",
        };
        assert_snapshot("guard-failed.txt", &failed(&failure, &NoticeContext { event_id: None, ..CTX }));
        let unread = Failure { before: None, ..failure };
        assert!(failed(&unread, &CTX).body().contains("Before:   (not read)\n"));
    }

    fn role_refusal() -> HealPlan {
        let mut p = plan(
            HealAction::Refuse,
            "not switched, builds would break: the service role arn:aws:iam::123456789012:role/service-role/codebuild-tts may not use the cache at codebuild-cache-123456789012-ap-south-1/tts-service-build: s3:PutObject not allowed on arn:aws:s3:::codebuild-cache-123456789012-ap-south-1/tts-service-build/*",
        );
        p.after = p.before.clone();
        p.refusal = Some(RefusalCause::RoleAccess);
        p.advice = vec!["add this statement to the policy of arn:aws:iam::123456789012:role/service-role/codebuild-tts, then the next build or sweep switches the project:\n{\n  \"Sid\": \"CodeBuildCacheObjects\",\n  \"Effect\": \"Allow\",\n  \"Action\": [\"s3:PutObject\"],\n  \"Resource\": \"arn:aws:s3:::codebuild-cache-123456789012-ap-south-1/tts-service-build/*\"\n}".into()];
        p
    }

    fn fleet_warning() -> HealPlan {
        let mut p = plan(
            HealAction::Keep,
            "LOCAL (LOCAL_DOCKER_LAYER_CACHE) and builds on the reserved-capacity fleet arn:aws:codebuild:ap-south-1:123456789012:fleet/linux-large:1, where LOCAL caching is the right cache (the fleet's hosts keep it between builds): not switched to S3",
        );
        p.project = "web-build".into();
        p.after = p.before.clone();
        p.advice.clear();
        p.warnings = vec!["the fleet arn:aws:codebuild:ap-south-1:123456789012:fleet/linux-large:1 has overflowBehavior ON_DEMAND: builds beyond its capacity run on on-demand hosts without the fleet's LOCAL cache".into()];
        p
    }

    #[test]
    fn role_refusal_notice_snapshot() {
        assert_snapshot("guard-refused-role.txt", &refused(&role_refusal(), &CTX));
    }

    #[test]
    fn warned_notice_snapshot() {
        assert_snapshot("guard-warned.txt", &warned(&fleet_warning(), &CTX));
    }

    #[test]
    fn sweep_notice_snapshot() {
        let healed =
            plan(HealAction::Heal, "no cache configured: every build starts from scratch; switching to the S3 cache");
        let refusal = role_refusal();
        let warning = fleet_warning();
        let before = CacheSetting::none();
        let items = [
            SweepItem::Healed(&healed),
            SweepItem::Refused(&refusal),
            SweepItem::Warned(&warning),
            SweepItem::Failed(Failure {
                project: "api-build",
                before: Some(&before),
                reason: "codebuild:UpdateProject failed: throttled by AWS (retries exhausted): ThrottlingException: Rate exceeded",
            }),
        ];
        let n = sweep(&items, &CTX);
        assert_snapshot("guard-sweep.txt", &n);
        assert_eq!(n.subject(), "cache-guard sweep: 1 healed, 1 not healed, 1 warned, 1 failed");
    }
}
