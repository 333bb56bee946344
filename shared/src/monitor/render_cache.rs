//! The cache evidence in words: the lines of the slow-build email (`evidence_lines`), the causes
//! the log names (`log_causes`) and the "cache not effective" notice. Pure.

use super::evidence::{CacheEvidence, Cause, LogAccess, Upload};
use super::judge::fmt_duration;
use super::render::{FUNCTION, console_link};
use crate::build::BuildFacts;
use crate::notify::{Notice, SUBJECT_LIMIT, Severity};

/// (label, text) lines: restore, upload, Docker, buildspec, log.
pub fn evidence_lines(e: &CacheEvidence) -> Vec<(&'static str, String)> {
    let mut lines = vec![];
    let at = e.location.as_deref().map(|l| format!("s3://{l}/")).unwrap_or_else(|| "the cache location".into());
    // A build off the S3 cache (no location looked at) never restores one: no line to mislead.
    if let Some(f) = e.found.as_ref().filter(|_| e.location.is_some()) {
        let restore = match (f.restored, f.restore_seconds, f.restore_attempted) {
            (true, Some(s), _) => format!("S3 cache restored in {}", fmt_duration(s)),
            (true, None, _) => "S3 cache restored".to_owned(),
            (false, _, true) => "CodeBuild looked for the S3 cache but unpacked nothing".to_owned(),
            (false, _, false) => "no S3 cache restored (no \"Downloading S3 cache...\" in the log)".to_owned(),
        };
        let restore =
            if f.restore_skipped { format!("{restore}, without the paths it skipped (below)") } else { restore };
        lines.push(("Restore:", restore));
    }
    let upload = match (&e.upload, e.found.as_ref().map(|f| f.upload_logged)) {
        (Upload::Written, _) => Some(format!("written to {at} after the build started")),
        (Upload::NothingNew, Some(true)) => Some(format!(
            "CodeBuild logged \"Uploading S3 cache...\", but nothing under {at} is newer than the build (a keyed cache is written once)"
        )),
        (Upload::NothingNew, _) => Some(format!("nothing was uploaded to {at}")),
        (Upload::NotOnFirstPage, _) => Some(format!(
            "{at} holds more than 1,000 objects and none of the first 1,000 is newer than the build: cannot tell"
        )),
        (Upload::NotChecked { .. }, Some(true)) => Some("CodeBuild logged \"Uploading S3 cache...\"".into()),
        (Upload::NotChecked { .. }, _) => None,
    };
    if let Some(upload) = upload {
        lines.push(("Upload:", upload));
    }
    if let Some(f) = &e.found {
        if let Some(d) = &f.docker {
            let builder = match d.builder {
                super::log::docker_steps::Builder::Buildkit => "BuildKit",
                super::log::docker_steps::Builder::Classic => "classic builder",
            };
            // In the builder's own numbering, so that the step can be found in the log.
            let mut text = format!("{} ({builder}", d.decisive.summary());
            if d.builds > 1 {
                text.push_str(&format!("; build {} of {}, the longest", d.decisive.build, d.builds));
            }
            text.push(')');
            if d.remote > 0 {
                let from = d.cache_from.as_deref().map(|c| format!(" ({c})")).unwrap_or_default();
                text.push_str(&format!("; {} step(s) from a registry cache{from}", d.remote));
            }
            if d.unfinished > 0 {
                text.push_str(&format!("; {} step(s) without an outcome in the log", d.unfinished));
            }
            lines.push(("Docker:", text));
        }
        if f.cache_not_defined || f.no_cache_paths {
            lines.push((
                "Buildspec:",
                "no cache: paths (\"Cache is not defined in the buildspec\"): the S3 cache stores nothing".into(),
            ));
        }
        if f.skipped_entries > 0 {
            lines.push((
                "Skipped:",
                format!(
                    "{} cache path(s) not within allowed cache paths: {}",
                    f.skipped_entries,
                    f.skipped_paths.iter().map(|p| format!("\"{p}\"")).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    // Under a minute the cache's own work is not worth a line (the JSON result has it).
    let worth =
        |c: &&super::log::cache_cost::CacheCost| c.total_seconds() >= super::cache_value::WORTH_WEIGHING_SECONDS;
    if let Some(cost) = e.found.as_ref().map(|f| &f.cost).filter(worth) {
        lines.push(("Overhead:", cache_cost(cost, e.value.as_ref())));
        if e.value.as_ref().is_some_and(|v| v.costs_more) {
            lines.push(("Cheaper:", CHEAPER.into()));
        }
    }
    lines.push(("Log:", e.log.describe(e.found.as_ref())));
    lines
}

/// The setups that cost less than archiving layers on S3 or exporting every layer of a huge image.
const CHEAPER: &str = "a registry cache in ECR instead of layers archived on S3 (--cache-from type=registry,ref=<repo>:cache --cache-to type=registry,ref=<repo>:cache,mode=min,image-manifest=true,oci-mediatypes=true; mode=min exports only the final image's layers, not every stage's as mode=max does), and fewer or smaller cached paths";

/// "9 min 0 s (S3 restore 5 min 0 s, S3 upload 4 min 0 s); it saved 4 min 0 s ...".
fn cache_cost(cost: &super::log::cache_cost::CacheCost, value: Option<&super::cache_value::CacheValue>) -> String {
    let parts = cost.parts().iter().map(|(p, s)| format!("{p} {}", fmt_duration(*s))).collect::<Vec<_>>().join(", ");
    let mut text = format!("{} ({parts})", fmt_duration(cost.total_seconds()));
    let Some(v) = value else { return text };
    match (v.saved_seconds, v.from_build.as_deref()) {
        (Some(0), _) => text.push_str("; it saved nothing: Docker reused no layer step"),
        (Some(saved), Some(from)) => {
            let of = if v.timed_steps < v.reused_steps {
                format!("{} of the {} reused steps", v.timed_steps, v.reused_steps)
            } else {
                format!("the {} reused step(s)", v.reused_steps)
            };
            text.push_str(&format!(
                "; it saved {}, what {of} took in build {from}, which ran them",
                fmt_duration(saved)
            ));
        }
        _ => text.push_str(&format!(
            "; what it saved is unknown: no earlier build's log shows the {} reused step(s) run",
            v.reused_steps
        )),
    }
    if v.costs_more {
        text.push_str(": the cache costs more than it saves");
    }
    text
}

/// The causes the build log names (`log::causes`), each with the line that shows it and the fix;
/// empty when it names none.
pub fn log_causes(found: &[super::log::causes::Cause], project: &str) -> String {
    if found.is_empty() {
        return String::new();
    }
    let mut out = String::from("Causes named in the build log:\n");
    for c in found {
        let seen = if c.count > 1 { format!(" ({} lines)", c.count) } else { String::new() };
        let took = c.seconds.map(|s| format!(" ({})", fmt_duration(s))).unwrap_or_default();
        out.push_str(&format!(
            "  - {}{took}: {}.\n    Log{seen}: {}\n    Fix: {}.\n",
            capitalised(c.kind.title()),
            c.kind.effect(),
            c.line,
            c.kind.fix().replace("<project>", project)
        ));
    }
    out
}

/// "Build failed: <project>: Docker Hub's pull rate limit" (", and N more" for several causes), the
/// project name cut so that the causes fit.
pub fn failed_cause_subject(build: &BuildFacts, found: &[super::log::causes::Cause]) -> String {
    let lead = "Build failed:";
    let project: String = build.project.chars().filter(|c| c.is_ascii_graphic()).collect();
    let first = found.first().map_or("a cause in its log", |c| c.kind.title());
    let more = if found.len() > 1 { format!(", and {} more", found.len() - 1) } else { String::new() };
    let tail = format!(": {first}{more}");
    let room = SUBJECT_LIMIT.saturating_sub(lead.len() + 1 + tail.len()).max(8);
    let project = if project.len() > room { format!("{}...", &project[..room.saturating_sub(3)]) } else { project };
    format!("{lead} {project}{tail}")
}

/// The notice of a failed build whose log names what broke: the causes first (not yet notified
/// on `day`), then the build.
pub fn failed_cause_notice(build: &BuildFacts, found: &[super::log::causes::Cause], day: &str) -> Notice {
    let number = build.build_number.map(|n| format!(" #{n}")).unwrap_or_default();
    let mut out = format!(
        "The CodeBuild build{number} of {} ended {}, and its log shows what broke: the next builds will fail or start cold the same way until it is fixed.\n\n",
        build.project, build.status
    );
    out.push_str(&log_causes(found, &build.project));
    out.push('\n');
    build_lines(&mut out, build);
    out.push_str(&format!(
        "\nbuild-time-monitor sends this once per project, cause and day ({day}, UTC, the day the build started): later failures with the same cause that day are not notified again.\n"
    ));
    let causes = found.iter().map(|c| c.kind.as_str()).collect::<Vec<_>>().join(",");
    Notice::new(&failed_cause_subject(build, found), &out, Severity::Warning)
        .with_attribute("function", FUNCTION)
        .with_attribute("project", &build.project)
        .with_attribute("status", build.status.as_str())
        .with_attribute("kind", "failed-cause")
        .with_attribute("cause", &causes)
}

/// The build's id, status, cache and console link, one labelled line each.
fn build_lines(out: &mut String, build: &BuildFacts) {
    let mut line = |label: &str, value: &str| out.push_str(&format!("{label:<11}{value}\n"));
    line("Build:", build.build_id.as_deref().unwrap_or("(unknown build id)"));
    line("Status:", build.status.as_str());
    line("Cache:", &build.cache.as_ref().map(|c| c.to_string()).unwrap_or_else(|| "not reported".into()));
    if let Some(link) = console_link(build) {
        line("Console:", &link);
    }
}

/// A few words for a cause: "nothing restored".
pub fn short(cause: Cause) -> &'static str {
    match cause {
        Cause::NoRestore => "nothing restored",
        Cause::NoUpload => "nothing uploaded",
        Cause::CacheNotDefined => "no cache in the buildspec",
        Cause::NoLayersReused => "no Docker layer reused",
    }
}

/// What a cause means and what to change, for the cache at `at` (`s3://bucket/prefix/`).
pub fn explain(cause: Cause, at: &str) -> String {
    match cause {
        Cause::NoRestore => format!(
            "CodeBuild restored no S3 cache (no \"Unarchiving cache...\" in the log), or skipped paths while unpacking it (\"Skipping cache entry: ... is not within allowed cache paths\"): {at} held nothing the build could use. Check that the buildspec lists cache paths, that the project's service role may s3:GetObject there, and that the cache key (if any) matches."
        ),
        Cause::NoUpload => format!(
            "Nothing was uploaded to {at} after successful builds: the next build cannot restore what was never stored. The service role needs s3:PutObject on the location, and the buildspec must list existing cache paths."
        ),
        Cause::CacheNotDefined => "CodeBuild logged \"Cache is not defined in the buildspec\": the S3 cache stores only the paths a buildspec lists, so it stores nothing. Add to the buildspec:\n      cache:\n        paths:\n          - '/root/.cache/pip/**/*'".into(),
        Cause::NoLayersReused => "Docker reused no layer: the S3 cache does not hold Docker layers by itself. Use a registry cache in ECR (docker buildx build --cache-from type=registry,ref=<repo>:cache --cache-to type=registry,ref=<repo>:cache,mode=max,image-manifest=true), or export the layers to a cached path.".into(),
    }
}

/// "Cache not effective: <project>: no cache in the buildspec (3 builds)"; several causes are
/// named while the project name fits whole, else "<first> and N more"; a long project name is cut.
pub fn subject(build: &BuildFacts, causes: &[Cause], needed: u32) -> String {
    let lead = "Cache not effective:";
    let project: String = build.project.chars().filter(|c| c.is_ascii_graphic()).collect();
    let builds = format!("({needed} build{})", if needed == 1 { "" } else { "s" });
    let all = format!(": {} {builds}", causes.iter().map(|c| short(*c)).collect::<Vec<_>>().join(", "));
    let tail = match causes {
        [first, rest @ ..] if lead.len() + 1 + project.len() + all.len() > SUBJECT_LIMIT && !rest.is_empty() => {
            format!(": {} and {} more {builds}", short(*first), rest.len())
        }
        _ => all,
    };
    let room = SUBJECT_LIMIT.saturating_sub(lead.len() + 1 + tail.len()).max(8);
    let project = if project.len() > room { format!("{}...", &project[..room.saturating_sub(3)]) } else { project };
    format!("{lead} {project}{tail}")
}

pub fn body(build: &BuildFacts, causes: &[Cause], needed: u32, e: &CacheEvidence) -> String {
    let at = e.location.as_deref().map(|l| format!("s3://{l}/")).unwrap_or_else(|| "the cache location".into());
    let mut out = format!(
        "The S3 cache of {} is configured but not working: {} in a row showed the same problem.\n\n",
        build.project,
        if needed == 1 { "this build".to_owned() } else { format!("the last {needed} builds") }
    );
    build_lines(&mut out, build);
    for cause in causes {
        out.push_str(&format!("\n{} ({}):\n  {}\n", capitalised(short(*cause)), cause.as_str(), explain(*cause, &at)));
    }
    let named = log_causes(e.found.as_ref().map_or(&[][..], |f| f.causes.as_slice()), &build.project);
    if !named.is_empty() {
        out.push('\n');
        out.push_str(&named);
    }
    out.push_str("\nWhat this build's log and cache location showed:\n");
    for (label, text) in evidence_lines(e) {
        out.push_str(&format!("  {label:<11}{text}\n"));
    }
    if matches!(e.log, LogAccess::Read(_)) {
        out.push('\n');
    } else {
        out.push_str("\n(Without the log only the upload can be checked.)\n\n");
    }
    out.push_str("build-time-monitor sends this once per project and cause; after a build shows the cause fixed, a relapse is notified again.\n");
    out
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
}

pub fn notice(build: &BuildFacts, causes: &[Cause], needed: u32, e: &CacheEvidence) -> Notice {
    let cause_list = causes.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(",");
    Notice::new(&subject(build, causes, needed), &body(build, causes, needed, e), Severity::Warning)
        .with_attribute("function", FUNCTION)
        .with_attribute("project", &build.project)
        .with_attribute("status", build.status.as_str())
        .with_attribute("kind", "cache-not-effective")
        .with_attribute("cause", &cause_list)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::BuildStatus;

    #[test]
    fn failed_build_subjects_name_the_first_cause_and_fit() {
        use crate::monitor::log::causes::{Cause as LogCause, CauseKind};
        let mut b = BuildFacts::new("tts-worker-build", BuildStatus::Failed);
        let cause = |kind| LogCause { kind, line: "x".into(), count: 1, seconds: None };
        let both = [cause(CauseKind::PullRateLimit), cause(CauseKind::NoSpace)];
        assert_eq!(
            failed_cause_subject(&b, &both[..1]),
            "Build failed: tts-worker-build: Docker Hub's pull rate limit"
        );
        assert_eq!(
            failed_cause_subject(&b, &both),
            "Build failed: tts-worker-build: Docker Hub's pull rate limit, and 1 more"
        );
        b.project = format!("a{}", "x".repeat(254));
        let s = failed_cause_subject(&b, &both);
        assert!(s.len() <= SUBJECT_LIMIT && s.ends_with("...: Docker Hub's pull rate limit, and 1 more"), "{s}");
        let n = failed_cause_notice(&b, &both, "2026-11-20");
        assert_eq!(n.attributes().get("cause").map(String::as_str), Some("pull-rate-limit,no-space"));
        assert!(n.body().contains("Causes named in the build log:"));
    }

    #[test]
    fn subjects_name_the_causes_and_fit() {
        let mut b = BuildFacts::new("tts-worker-build", BuildStatus::Succeeded);
        assert_eq!(
            subject(&b, &[Cause::CacheNotDefined], 3),
            "Cache not effective: tts-worker-build: no cache in the buildspec (3 builds)"
        );
        assert_eq!(
            subject(&b, &Cause::ALL, 3),
            "Cache not effective: tts-worker-build: nothing restored and 3 more (3 builds)"
        );
        assert_eq!(
            subject(&b, &[Cause::NoUpload], 1),
            "Cache not effective: tts-worker-build: nothing uploaded (1 build)"
        );
        b.project = format!("a{}", "x".repeat(254));
        let s = subject(&b, &Cause::ALL, 20);
        assert!(s.len() <= SUBJECT_LIMIT && s.ends_with("...: nothing restored and 3 more (20 builds)"), "{s}");
    }
}
