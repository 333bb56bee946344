//! The guard's notices, rendered in one place as pure functions of plain data (snapshot-tested
//! byte for byte in shared/tests/snapshots/).

use super::plan::HealPlan;
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
    body.push_str(&advice_lines(&plan.advice));
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
    body.push_str(&verify(project, ctx.region));
    notice(
        &format!("cache-guard did not heal {project}: cache bucket unusable"),
        &body,
        Severity::Error,
        project,
        "refused",
    )
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
        text.push_str(&format!("  - {line}\n"));
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

    /// Compares with a committed file under shared/tests/snapshots/; `UPDATE_SNAPSHOTS=1` rewrites it.
    fn assert_snapshot(name: &str, notice: &Notice) {
        let actual =
            format!("Subject: {}\nAttributes: {:?}\n\n{}", notice.subject(), notice.attributes(), notice.body());
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots").join(name);
        if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
            std::fs::write(&path, &actual).unwrap();
        }
        let expected = std::fs::read_to_string(&path).unwrap_or_else(|_| {
            panic!("missing snapshot {}: run with UPDATE_SNAPSHOTS=1 and review it", path.display())
        });
        assert_eq!(actual, expected, "snapshot {name} differs (UPDATE_SNAPSHOTS=1 rewrites it; review the diff)");
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
}
