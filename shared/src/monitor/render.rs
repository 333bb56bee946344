//! The slow-build notice subscribers read: a subject of at most 99 printable ASCII characters
//! naming the project, the judged time and the expected time, and a plain-text body that reads well
//! in an email, with the evidence of the build's cache (`render_cache::evidence_lines`).

use super::evidence::CacheEvidence;
use super::judge::{Kind, Verdict, fmt_duration};
use super::render_cache::{evidence_lines, log_causes};
use crate::build::BuildFacts;
use crate::event::BuildStatus;
use crate::notify::{Notice, SUBJECT_LIMIT};

pub const FUNCTION: &str = "build-time-monitor";

/// The build's page in the CodeBuild console.
pub fn console_link(build: &BuildFacts) -> Option<String> {
    let (region, account, id) = (build.region.as_deref()?, build.account.as_deref()?, build.build_id.as_deref()?);
    Some(format!(
        "https://{region}.console.aws.amazon.com/codesuite/codebuild/{account}/projects/{}/build/{}/?region={region}",
        url_encode(&build.project),
        url_encode(id)
    ))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn url_encode(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() * 3);
    for b in raw.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// "Slow build: <project> took 32 min 56 s (expected <= 12 min)" (the judged time, without
/// queueing), the project name shortened when needed so the figures always fit.
pub fn subject(build: &BuildFacts, verdict: &Verdict) -> String {
    let (lead, verb) = match verdict.kind {
        Kind::FinishedSlow if build.status == BuildStatus::TimedOut => ("Build timed out:", "after"),
        Kind::FinishedSlow => ("Slow build:", "took"),
        Kind::RunningOverdue => ("Build overdue:", "running"),
    };
    let bound = match build.timeout_minutes {
        Some(m) if build.status == BuildStatus::TimedOut => format!("timeout {m} min"),
        _ if verdict.limit.seconds < verdict.expected.high_seconds() => {
            format!("history limit {}", fmt_duration(verdict.limit.seconds))
        }
        _ => format!("expected <= {} min", minutes(verdict.expected.high_minutes)),
    };
    let tail = format!(" {verb} {} ({bound})", fmt_duration(verdict.judged_seconds));
    let room = SUBJECT_LIMIT.saturating_sub(lead.len() + 1 + tail.len());
    let project: String = build.project.chars().filter(|c| c.is_ascii_graphic()).collect();
    let project = if project.len() > room { format!("{}...", &project[..room.saturating_sub(3)]) } else { project };
    format!("{lead} {project}{tail}")
}

fn minutes(m: f64) -> String {
    if m.fract() == 0.0 { format!("{}", m as u64) } else { format!("{m:.1}") }
}

/// The email text.
pub fn body(build: &BuildFacts, verdict: &Verdict, evidence: Option<&CacheEvidence>) -> String {
    let mut out = String::new();
    let number = build.build_number.map(|n| format!(" #{n}")).unwrap_or_default();
    let dur = fmt_duration(verdict.duration_seconds);
    match verdict.kind {
        Kind::FinishedSlow if build.status == BuildStatus::TimedOut => {
            let timeout = build.timeout_minutes.map(|m| format!(" of {m} min")).unwrap_or_default();
            out.push_str(&format!(
                "The CodeBuild build{number} of {} timed out after {dur}: it ran into the project's timeout{timeout} (timeoutInMinutes) and CodeBuild stopped it, unfinished.\n\n",
                build.project
            ))
        }
        Kind::FinishedSlow => out.push_str(&format!(
            "The CodeBuild build{number} of {} finished {} after {dur}, longer than expected.\n\n",
            build.project, build.status
        )),
        Kind::RunningOverdue => out.push_str(&format!(
            "The CodeBuild build{number} of {} is still running after {dur}, already past its expected time.\n\n",
            build.project
        )),
    }
    // A cache bucket in another region explains everything else: said first.
    if let Some(elsewhere) = evidence.and_then(|e| e.elsewhere.as_ref()) {
        out.push_str(&format!("The cache cannot work: {}. {}\n\n", elsewhere.describe(), elsewhere.advice()));
    }
    // The cause the log names comes first: it is what the reader came for.
    let named =
        log_causes(evidence.and_then(|e| e.found.as_ref()).map_or(&[][..], |f| f.causes.as_slice()), &build.project);
    if !named.is_empty() {
        out.push_str(&named);
        out.push('\n');
    }
    figures(&mut out, build, verdict);
    phases(&mut out, build, verdict);
    out.push('\n');
    line(&mut out, "Cache:", &build.cache.as_ref().map(|c| c.to_string()).unwrap_or_else(|| "not reported".into()));
    if let Some(standing) = &verdict.cache_standing {
        line(&mut out, "Cause:", &standing.cause);
        line(&mut out, "Guard:", &standing.guard);
    }
    for (label, text) in evidence.map(evidence_lines).unwrap_or_default() {
        line(&mut out, label, &text);
    }
    let compute = match build.compute_type.as_deref() {
        Some(c) => crate::compute::lookup(build.environment_type.as_deref(), c)
            .map(|spec| format!("{c} ({} vCPU, {} GiB)", spec.vcpus, spec.memory_gib))
            .unwrap_or_else(|| c.to_owned()),
        None => "not reported".to_owned(),
    };
    line(&mut out, "Compute:", &compute);
    if let Some(link) = console_link(build) {
        line(&mut out, "Console:", &link);
    }
    if !verdict.advice.is_empty() {
        out.push_str("\nWhat to do:\n");
        for a in &verdict.advice {
            out.push_str(&format!("  - {a}\n"));
        }
    }
    out.push_str(match verdict.kind {
        Kind::RunningOverdue => "\nbuild-time-monitor sends this once per build while it runs; if the build finishes slow you get one more notice with the final figures.\n",
        Kind::FinishedSlow => "\nbuild-time-monitor sends this once per finished build (an earlier \"still running\" notice for the same build, if any, was the running figure; this is the final one).\n",
    });
    out
}

/// One labelled line of the email.
fn line(out: &mut String, label: &str, value: &str) {
    out.push_str(&format!("{label:<11}{value}\n"));
}

/// Build, times (in all, waited, judged), expected, baseline, scenario and why.
fn figures(out: &mut String, build: &BuildFacts, verdict: &Verdict) {
    line(out, "Build:", build.build_id.as_deref().unwrap_or("(unknown build id)"));
    line(out, "Status:", build.status.as_str());
    if let Some(start) = build.start {
        line(out, "Started:", &start.format("%Y-%m-%d %H:%M:%S UTC").to_string());
    }
    let dur_label = if verdict.kind == Kind::RunningOverdue { "Running:" } else { "Duration:" };
    line(out, dur_label, &format!("{} in all", fmt_duration(verdict.duration_seconds)));
    let judged = verdict.judged_seconds;
    if verdict.queued_seconds + verdict.provisioning_seconds > 0 {
        let full = if verdict.queued_seconds >= 60 { " (the fleet or account concurrency was full)" } else { "" };
        let waited = format!(
            "{} queued{full}, {} provisioning: not judged",
            fmt_duration(verdict.queued_seconds),
            fmt_duration(verdict.provisioning_seconds)
        );
        line(out, "Waited:", &waited);
    }
    line(
        out,
        "Judged:",
        &format!("{}, the build's own time (without queueing and provisioning)", fmt_duration(judged)),
    );
    let limit = verdict.expected.high_seconds();
    let versus = if verdict.over_expected {
        format!("over by {}", fmt_duration(judged - limit))
    } else {
        "within it".to_owned()
    };
    line(out, "Expected:", &format!("{}, {versus}", verdict.expected));
    let baseline = match (&verdict.baseline, verdict.baseline_limit_seconds) {
        (Some(b), Some(l)) => format!(
            "median {}, p90 {} of the last {} successful builds; limit p90 x {} = {}, {}",
            fmt_duration(b.median_seconds),
            fmt_duration(b.p90_seconds),
            b.samples,
            verdict.baseline_factor,
            fmt_duration(l),
            if verdict.over_baseline {
                format!("over by {}", fmt_duration(judged.saturating_sub(l)))
            } else {
                "within it".into()
            }
        ),
        (Some(b), None) => format!(
            "median {}, p90 {}; {}",
            fmt_duration(b.median_seconds),
            fmt_duration(b.p90_seconds),
            verdict.baseline_note
        ),
        (None, _) => verdict.baseline_note.clone(),
    };
    line(out, "Baseline:", &baseline);
    let limit = match (build.status == BuildStatus::TimedOut, build.timeout_minutes) {
        (true, Some(m)) => {
            format!("the project's timeout of {m} min, which it ran into (a timed-out build is always reported)")
        }
        (true, None) => "the project's timeout, which it ran into (a timed-out build is always reported)".to_owned(),
        (false, _) => format!("{}, {}", fmt_duration(verdict.limit.seconds), verdict.limit.from),
    };
    line(out, "Limit:", &limit);
    let scenario = verdict.scenario.scenario;
    let by = verdict.scenario.decided_by.describe();
    line(out, "Scenario:", &format!("{} ({}), from {by}", scenario.describe(), scenario.as_str()));
    for (i, why) in verdict.scenario.reason.split("; ").enumerate() {
        line(out, if i == 0 { "Why:" } else { "" }, why);
    }
}

/// The timed phases, the one that overran most marked.
fn phases(out: &mut String, build: &BuildFacts, verdict: &Verdict) {
    let timed: Vec<_> = build.phases.iter().filter(|p| p.seconds.is_some()).collect();
    if timed.is_empty() {
        return;
    }
    out.push_str("\nPhases:\n");
    for p in timed {
        let secs = p.seconds.unwrap_or(0);
        let mut row = format!("  {:<18}{:>14}", p.phase, fmt_duration(secs));
        if let Some(status) = p.status.as_deref().filter(|s| *s != "SUCCEEDED") {
            row.push_str(&format!("  {status}"));
        }
        if verdict.top_phase.as_ref().is_some_and(|t| t.phase == p.phase && t.seconds == secs) {
            match verdict.top_phase.as_ref().and_then(|t| t.median_seconds) {
                Some(m) => row.push_str(&format!("  <- overran most (median {})", fmt_duration(m))),
                None => row.push_str("  <- longest phase"),
            }
        }
        out.push_str(row.trim_end());
        out.push('\n');
    }
}

/// The notice with filterable attributes: project, status, severity, scenario, kind, function.
pub fn notice(build: &BuildFacts, verdict: &Verdict, evidence: Option<&CacheEvidence>) -> Notice {
    notice_with(build, verdict, evidence, None)
}

/// The notice, with a line (builds held back since the last notice, `repeat`) after its opening.
pub fn notice_with(
    build: &BuildFacts,
    verdict: &Verdict,
    evidence: Option<&CacheEvidence>,
    note: Option<&str>,
) -> Notice {
    let mut body = body(build, verdict, evidence);
    if let (Some(note), Some(at)) = (note, body.find("\n\n")) {
        body.insert_str(at + 2, &format!("{note}\n\n"));
    }
    Notice::new(&subject(build, verdict), &body, verdict.severity)
        .with_attribute("function", FUNCTION)
        .with_attribute("project", &build.project)
        .with_attribute("status", build.status.as_str())
        .with_attribute("scenario", verdict.scenario.scenario.as_str())
        .with_attribute("kind", verdict.kind.as_str())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::event::{BuildStatus, Trigger};
    use crate::monitor::baseline::{Baseline, HistorySummary};
    use crate::monitor::expected::Profile;
    use crate::monitor::judge::{BaselinePolicy, JudgeInput, judge};
    use crate::monitor::scenario::{ScenarioInputs, classify};
    use crate::snapshots::assert_snapshot;
    use chrono::Utc;

    pub(crate) fn sample_build() -> BuildFacts {
        let raw: serde_json::Value =
            serde_json::from_str(include_str!("../../../events/build-succeeded.json")).unwrap();
        let Trigger::BuildStateChange(change) = Trigger::parse(&raw).unwrap() else { panic!() };
        BuildFacts::from_event(&change).unwrap()
    }

    pub(crate) fn history() -> HistorySummary {
        HistorySummary {
            successful: 20,
            last_success_source: Some(
                "arn:aws:s3:::codepipeline-ap-south-1-481516234200/tts-service-pip/SourceArti/Pr3v10u.zip".into(),
            ),
            last_success_id: Some("tts-service-build:0b9d".into()),
            baseline: Some(Baseline { samples: 20, median_seconds: 9 * 60 + 40, p90_seconds: 14 * 60 + 5 }),
            phase_medians: [("PRE_BUILD", 95), ("BUILD", 430), ("POST_BUILD", 150), ("PROVISIONING", 40)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
        }
    }

    fn verdict(build: &BuildFacts, kind: Kind, h: &HistorySummary) -> Verdict {
        verdict_with(build, kind, h, None)
    }

    /// With the Docker log's decisive steps, as the monitor judges a build whose log it read.
    pub(crate) fn verdict_with(
        build: &BuildFacts,
        kind: Kind,
        h: &HistorySummary,
        docker: Option<&crate::monitor::log::docker_steps::StepGroup>,
    ) -> Verdict {
        verdict_with_order(build, kind, h, docker, &[])
    }

    /// Also with the Dockerfile lines the log shows defeating the cache.
    fn verdict_with_order(
        build: &BuildFacts,
        kind: Kind,
        h: &HistorySummary,
        docker: Option<&crate::monitor::log::docker_steps::StepGroup>,
        order: &[crate::monitor::log::layer_order::OrderFinding],
    ) -> Verdict {
        let scenario = classify(&ScenarioInputs {
            variable: "CACHE_SENTINEL_SCENARIO",
            exported: None,
            source_version: build.source_version.as_deref(),
            history: Some(Ok(h)),
            cache_empty: Some(false),
            cache_location: Some("codebuild-cache-123456789012-ap-south-1/tts-service-build"),
            docker,
        });
        judge(&JudgeInput {
            kind,
            build,
            now: Utc::now(),
            expected: scenario.scenario.expected(&Profile::SEED),
            expected_from: "*".into(),
            scenario,
            history: Some(h),
            policy: BaselinePolicy { factor: 1.5, min_samples: 5 },
            managed_cache: Some("codebuild-cache-123456789012-ap-south-1/tts-service-build".into()),
            cache_standing: None,
            docker,
            order,
            changed_this_week: Some(3),
            compute_prices: &crate::compute::Prices::EMPTY,
        })
        .unwrap()
    }

    /// The evidence of the sample build: its log is events/logs/buildkit-partly-cached.log, and
    /// the cache location got a new object after the build started.
    pub(crate) fn sample_evidence(build: &BuildFacts) -> CacheEvidence {
        evidence_of(build, include_str!("../../../events/logs/buildkit-partly-cached.log"))
    }

    /// The evidence of the sample build with `log` read whole.
    fn evidence_of(build: &BuildFacts, log: &str) -> CacheEvidence {
        use crate::aws::cache_listing::CacheListing;
        use crate::aws::logs::LogRead;
        use crate::monitor::evidence::LogAccess;
        use crate::monitor::log::build_log::LogScan;
        let mut scan = LogScan::new();
        log.lines().for_each(|l| scan.line(l, 0));
        let start = build.start.unwrap();
        let listing = CacheListing {
            objects: 2,
            truncated: false,
            oldest: Some(start - chrono::Duration::days(2)),
            newest: Some(start + chrono::Duration::minutes(33)),
        };
        let read = LogRead { pages: 1, events: 152, bytes: 7077, complete: true, tail_read: false };
        CacheEvidence::new(
            build,
            Some("codebuild-cache-123456789012-ap-south-1/tts-service-build".into()),
            Some(listing),
            LogAccess::Read(read),
            Some(scan.finish()),
        )
    }

    /// The same build whose Dockerfile copies everything before its pip install
    /// (events/logs/buildkit-copy-before-install.log): the email names that line, what the
    /// install's rerun took, and the change, instead of the general rule.
    #[test]
    fn a_misordered_dockerfile_gets_its_line_its_minutes_and_the_change() {
        let build = sample_build();
        let evidence = evidence_of(&build, include_str!("../../../events/logs/buildkit-copy-before-install.log"));
        let reuse = evidence.found.as_ref().and_then(|f| f.docker.as_ref()).expect("a Docker build");
        let v = verdict_with_order(&build, Kind::FinishedSlow, &history(), Some(&reuse.decisive), &reuse.order);
        let n = notice(&build, &v, Some(&evidence));
        assert_snapshot("monitor-finished-slow-layer-order.txt", &format!("Subject: {}\n\n{}", n.subject(), n.body()));
        assert!(n.body().contains("Dockerfile: [ 5/20] COPY . ., so [ 6/20] RUN pip install --no-cache-dir -r requirements.txt reran: 18 min 25 s of this build."), "{}", n.body());
        assert!(!n.body().contains("BUILD is long: order the Dockerfile"), "the exact line replaces the rule");
        assert!(!n.body().contains("Compute type is"), "no compute advice before the layer order is right");
    }

    #[test]
    fn finished_slow_email_snapshot() {
        let build = sample_build();
        let h = history();
        let evidence = sample_evidence(&build);
        let docker = evidence.found.as_ref().and_then(|f| f.docker.as_ref()).map(|d| &d.decisive);
        let v = verdict_with(&build, Kind::FinishedSlow, &h, docker);
        let n = notice(&build, &v, Some(&evidence));
        // The log's first rebuilt step is COPY requirements.txt with every step before it cached.
        assert_eq!(n.subject(), "Slow build: tts-service-build took 32 min 56 s (expected <= 20 min)");
        assert_snapshot("monitor-finished-slow.txt", &format!("Subject: {}\n\n{}", n.subject(), n.body()));
        let attrs: Vec<(&str, &str)> = n.attributes().iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            attrs,
            vec![
                ("function", "build-time-monitor"),
                ("kind", "finished-slow"),
                ("project", "tts-service-build"),
                ("scenario", "requirements"),
                // 32 min 56 s is over the 20 min of a requirements change, not twice it.
                ("severity", "warning"),
                ("status", "SUCCEEDED")
            ]
        );
    }

    #[test]
    fn the_cause_a_log_names_leads_the_email() {
        let build = sample_build();
        let h = history();
        let evidence = evidence_of(&build, include_str!("../../../events/logs/pull-rate-limit.log"));
        let docker = evidence.found.as_ref().and_then(|f| f.docker.as_ref()).map(|d| &d.decisive);
        let n = notice(&build, &verdict_with(&build, Kind::FinishedSlow, &h, docker), Some(&evidence));
        let body = n.body();
        let named = body.find("Causes named in the build log:").expect(body);
        assert!(named < body.find("Build:").unwrap(), "the cause comes before the figures:\n{body}");
        assert_snapshot("monitor-finished-slow-pull-limit.txt", &format!("Subject: {}\n\n{body}", n.subject()));
        // A log that names nothing adds nothing.
        assert!(
            !notice(&build, &verdict(&build, Kind::FinishedSlow, &h), Some(&sample_evidence(&build)))
                .body()
                .contains("What broke the cache")
        );
    }

    #[test]
    fn running_overdue_email_snapshot() {
        let mut build = sample_build();
        build.status = BuildStatus::InProgress;
        build.end = None;
        build.phases.retain(|p| {
            !matches!(p.phase.as_str(), "BUILD" | "POST_BUILD" | "UPLOAD_ARTIFACTS" | "FINALIZING" | "COMPLETED")
        });
        build.cache = Some(crate::project::CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));
        let h = HistorySummary {
            baseline: Some(Baseline { samples: 3, median_seconds: 500, p90_seconds: 600 }),
            ..history()
        };
        let mut v = verdict(&build, Kind::FinishedSlow, &h);
        // 14 minutes into the build.
        v = {
            let now = build.start.unwrap() + chrono::Duration::minutes(14);
            let scenario = v.scenario.clone();
            judge(&JudgeInput {
                kind: Kind::RunningOverdue,
                build: &build,
                now,
                expected: v.expected,
                expected_from: "*".into(),
                scenario,
                history: Some(&h),
                policy: BaselinePolicy { factor: 1.5, min_samples: 5 },
                managed_cache: Some("codebuild-cache-123456789012-ap-south-1/tts-service-build".into()),
                cache_standing: None,
                docker: None,
                order: &[],
                changed_this_week: None,
                compute_prices: &crate::compute::Prices::EMPTY,
            })
            .unwrap()
        };
        let n = notice(&build, &v, None);
        assert_eq!(n.subject(), "Build overdue: tts-service-build running 13 min 20 s (expected <= 12 min)");
        assert_snapshot("monitor-running-overdue.txt", &format!("Subject: {}\n\n{}", n.subject(), n.body()));
    }

    #[test]
    fn subjects_keep_the_figures_for_long_names() {
        let mut build = sample_build();
        build.project = format!("a{}", "x".repeat(254));
        let v = verdict(&build, Kind::FinishedSlow, &history());
        let s = subject(&build, &v);
        assert!(s.len() <= 99, "{} chars", s.len());
        assert!(s.ends_with("... took 32 min 56 s (expected <= 12 min)"), "{s}");
        assert_eq!(crate::notify::sanitize_subject(&s), s, "already valid for SNS");
        assert!(s.chars().all(|c| c.is_ascii_graphic() || c == ' '));
    }

    #[test]
    fn console_link_is_encoded() {
        let build = sample_build();
        assert_eq!(
            console_link(&build).unwrap(),
            "https://ap-south-1.console.aws.amazon.com/codesuite/codebuild/123456789012/projects/tts-service-build/build/tts-service-build%3A6c1e7d2a-93f4-4b8e-a0d5-2f7b9c3e1a40/?region=ap-south-1"
        );
        assert_eq!(url_encode("a b/c:d~"), "a%20b%2Fc%3Ad~");
    }
}
