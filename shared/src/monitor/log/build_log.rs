//! What a build's log says about its cache: CodeBuild's own lines (`[Container] 2026/11/20
//! 09:15:44.221456 Downloading S3 cache...`, also `[Instance]`) and Docker's layer reuse
//! (`docker_steps`). Pure and streaming: lines go in one at a time (`LogScan::line`), a small
//! summary comes out (`LogScan::finish`); memory does not grow with the log.

use super::cache_cost::{CacheCost, CostScan};
use super::causes::{Cause, CauseScan, merge, slow_pull};
use super::docker_steps::{DockerReuse, DockerSteps};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;

/// Refused cache paths kept by name (all are counted).
const SKIPPED_PATHS_KEPT: usize = 5;

/// What the log showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogEvidence {
    /// `Downloading S3 cache...`: CodeBuild looked for the S3 cache.
    pub restore_attempted: bool,
    /// `Unarchiving cache...`: a cache archive was found and unpacked.
    pub restored: bool,
    /// From `Downloading S3 cache...` to CodeBuild's next line after the unpacking.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore_seconds: Option<u64>,
    /// `Uploading S3 cache...`
    pub upload_logged: bool,
    /// `Cache is not defined in the buildspec`
    pub cache_not_defined: bool,
    /// `Skip cache due to: no paths specified to be cached`, or (agents of 2024) `Unable to
    /// initialize cache download: no paths specified to be cached`
    pub no_cache_paths: bool,
    /// A `Skipping cache entry` right after `Unarchiving cache...`: the restore did not bring those
    /// paths back (the same line before `Uploading S3 cache...` is the upload's).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub restore_skipped: bool,
    /// `Skipping cache entry: path "..." is not within allowed cache paths`: how many, and the first paths.
    pub skipped_entries: u32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_paths: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub docker: Option<DockerReuse>,
    /// What the cache's own work took (`cache_cost`).
    #[serde(skip_serializing_if = "CacheCost::is_empty")]
    pub cost: CacheCost,
    /// What broke the cache, in the tools' own lines (`causes`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<Cause>,
    /// Lines and bytes read.
    pub lines: u64,
    pub bytes: u64,
}

impl LogEvidence {
    /// Adds what the end of a long log showed (its CodeBuild lines, scanned apart).
    pub fn absorb_tail(&mut self, tail: LogEvidence) {
        self.upload_logged |= tail.upload_logged;
        self.cache_not_defined |= tail.cache_not_defined;
        self.no_cache_paths |= tail.no_cache_paths;
        self.restore_skipped |= tail.restore_skipped;
        for path in tail.skipped_paths {
            if !self.skipped_paths.contains(&path) && self.skipped_paths.len() < SKIPPED_PATHS_KEPT {
                self.skipped_paths.push(path);
            }
        }
        self.skipped_entries = self.skipped_entries.max(tail.skipped_entries);
        merge(&mut self.causes, tail.causes);
        self.cost.absorb(&tail.cost);
        self.lines += tail.lines;
        self.bytes += tail.bytes;
    }
}

/// The streaming scanner.
#[derive(Debug, Default)]
pub struct LogScan {
    evidence: Seen,
    docker: DockerSteps,
    causes: CauseScan,
    cost: CostScan,
    /// When `Downloading S3 cache...` was logged, while the restore runs.
    restore_started: Option<DateTime<Utc>>,
    /// The restore reached `Unarchiving cache...`; it ends at CodeBuild's next line.
    unarchiving: bool,
}

/// The CodeBuild signals seen so far.
#[derive(Debug, Default)]
struct Seen {
    restore_attempted: bool,
    restored: bool,
    restore_seconds: Option<u64>,
    upload_logged: bool,
    cache_not_defined: bool,
    no_cache_paths: bool,
    restore_skipped: bool,
    skipped_entries: u32,
    skipped_paths: Vec<String>,
    lines: u64,
    bytes: u64,
}

impl LogScan {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads one log event: its message (one or more lines) and CloudWatch's timestamp (epoch ms),
    /// used when a CodeBuild line carries no readable time of its own.
    pub fn event(&mut self, message: &str, timestamp_ms: i64) {
        for line in message.split('\n') {
            self.line(line.trim_end_matches('\r'), timestamp_ms);
        }
    }

    /// Reads one line.
    pub fn line(&mut self, line: &str, timestamp_ms: i64) {
        self.evidence.lines += 1;
        self.evidence.bytes += line.len() as u64 + 1;
        self.causes.line(line);
        match codebuild_line(line) {
            Some((time, text)) => {
                let time = time.or_else(|| DateTime::from_timestamp_millis(timestamp_ms));
                self.cost.codebuild(time, text);
                self.codebuild(time, text);
            }
            None => {
                self.cost.time(DateTime::from_timestamp_millis(timestamp_ms).filter(|_| timestamp_ms > 0));
                self.cost.docker(line);
                self.docker.line(line);
            }
        }
    }

    /// Reads one log event from the end of a log whose middle was not read (`tail_line`).
    pub fn tail_event(&mut self, message: &str, timestamp_ms: i64) {
        for line in message.split('\n') {
            self.tail_line(line.trim_end_matches('\r'), timestamp_ms);
        }
    }

    /// Reads a line from the end of a log whose middle was not read: CodeBuild's own lines and the
    /// causes (a build's final errors are there); Docker steps there may be ones already counted,
    /// or lack their headers.
    pub fn tail_line(&mut self, line: &str, timestamp_ms: i64) {
        self.causes.line(line);
        if let Some((time, text)) = codebuild_line(line) {
            self.evidence.lines += 1;
            self.evidence.bytes += line.len() as u64 + 1;
            let time = time.or_else(|| DateTime::from_timestamp_millis(timestamp_ms));
            self.cost.codebuild(time, text);
            self.codebuild(time, text);
        } else {
            self.cost.time(DateTime::from_timestamp_millis(timestamp_ms).filter(|_| timestamp_ms > 0));
        }
    }

    fn codebuild(&mut self, time: Option<DateTime<Utc>>, text: &str) {
        let e = &mut self.evidence;
        // The restore ends at CodeBuild's next line after the unpacking; the paths it skips while
        // unpacking are part of it.
        if self.unarchiving && text != "Unarchiving cache..." && !text.starts_with("Skipping cache entry:") {
            if let (Some(start), Some(end)) = (self.restore_started, time) {
                e.restore_seconds = Some((end - start).num_seconds().max(0) as u64);
            }
            self.unarchiving = false;
            self.restore_started = None;
        }
        if text.starts_with("Downloading S3 cache...") {
            e.restore_attempted = true;
            self.restore_started = time;
        } else if text.starts_with("Unarchiving cache...") {
            e.restored = true;
            self.unarchiving = true;
        } else if text.starts_with("Uploading S3 cache...") {
            e.upload_logged = true;
        } else if text.starts_with("Cache is not defined in the buildspec") {
            e.cache_not_defined = true;
        } else if text.starts_with("Skip cache due to: no paths specified to be cached")
            || text.starts_with("Unable to initialize cache download: no paths specified to be cached")
        {
            e.no_cache_paths = true;
        } else if let Some(rest) = text.strip_prefix("Skipping cache entry:") {
            e.restore_skipped |= self.unarchiving;
            // `Skipping cache entry: path "/root/.m2" is not within allowed cache paths`
            let path = rest.split('"').nth(1).unwrap_or(rest.trim()).to_owned();
            if !e.skipped_paths.contains(&path) {
                e.skipped_entries += 1;
                if e.skipped_paths.len() < SKIPPED_PATHS_KEPT {
                    e.skipped_paths.push(path);
                }
            }
        }
    }

    pub fn finish(self) -> LogEvidence {
        let e = self.evidence;
        let mut docker = self.docker.finish();
        // The base image pulled in PRE_BUILD and again by the build: needs both the buildspec's
        // commands and the Docker log.
        if let Some(d) = docker.as_mut()
            && d.order.len() < super::docker_steps::MAX_ORDER_FINDINGS
            && let Some(found) = super::layer_order::pulled_twice(self.cost.slowest_pull().as_ref(), &d.decisive)
        {
            d.order.push(found);
        }
        let mut causes = self.causes.finish();
        causes.extend(slow_pull(self.cost.slowest_pull(), docker.as_ref()));
        causes.sort_by_key(|c| c.kind);
        LogEvidence {
            restore_attempted: e.restore_attempted,
            restored: e.restored,
            restore_seconds: e.restore_seconds,
            upload_logged: e.upload_logged,
            cache_not_defined: e.cache_not_defined,
            no_cache_paths: e.no_cache_paths,
            restore_skipped: e.restore_skipped,
            skipped_entries: e.skipped_entries,
            skipped_paths: e.skipped_paths,
            docker,
            causes,
            cost: self.cost.finish(e.restore_seconds),
            lines: e.lines,
            bytes: e.bytes,
        }
    }
}

/// `[Container] 2026/11/20 09:15:44.221456 text` (or `[Instance]`, or without fractions) ->
/// (the time, when readable; the text).
fn codebuild_line(line: &str) -> Option<(Option<DateTime<Utc>>, &str)> {
    let rest = line.strip_prefix("[Container] ").or_else(|| line.strip_prefix("[Instance] "))?;
    let mut parts = rest.splitn(3, ' ');
    let (date, clock, text) = (parts.next()?, parts.next()?, parts.next().unwrap_or(""));
    let stamp = format!("{date} {clock}");
    let time = NaiveDateTime::parse_from_str(&stamp, "%Y/%m/%d %H:%M:%S%.f").ok().map(|t| t.and_utc());
    match time {
        Some(_) => Some((time, text)),
        None => Some((None, rest)), // an agent line in a format we do not know: its text as a whole
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(log: &str) -> LogEvidence {
        let mut s = LogScan::new();
        for line in log.lines() {
            s.line(line, 0);
        }
        s.finish()
    }

    use crate::monitor::log::docker_steps::Builder;

    #[test]
    fn fixture_buildkit_partly_cached() {
        let e = scan(include_str!("../../../../events/logs/buildkit-partly-cached.log"));
        assert!(e.restore_attempted && e.restored && e.upload_logged);
        assert_eq!(e.restore_seconds, Some(7), "09:15:41.99 Downloading to 09:15:49.62, the line after unpacking");
        assert!(!e.cache_not_defined && !e.no_cache_paths && e.skipped_entries == 0);
        let d = e.docker.unwrap();
        assert_eq!((d.builder, d.builds, d.cached, d.rebuilt, d.unfinished), (Builder::Buildkit, 1, 3, 16, 0));
        let first = d.decisive.first_rebuilt().map(|s| s.instruction.as_str());
        assert_eq!(first, Some("COPY requirements.txt ."));
    }

    #[test]
    fn fixture_classic_builder() {
        let e = scan(include_str!("../../../../events/logs/classic-builder.log"));
        assert!(e.restored && e.upload_logged);
        assert_eq!(e.restore_seconds, Some(14));
        assert_eq!((e.skipped_entries, e.skipped_paths.clone()), (1, vec!["/root/.m2".to_owned()]));
        let d = e.docker.unwrap();
        assert_eq!((d.builder, d.cached, d.rebuilt, d.unfinished), (Builder::Classic, 4, 3, 0));
        assert_eq!(d.decisive.first_rebuilt().map(|s| s.instruction.as_str()), Some("COPY . ."));
        assert!(!e.restore_skipped, "the skipped path is the upload's, long after the unpacking");
    }

    #[test]
    fn fixture_no_cache_in_buildspec() {
        let e = scan(include_str!("../../../../events/logs/no-cache-in-buildspec.log"));
        assert!(e.cache_not_defined && e.no_cache_paths);
        assert!(!e.restore_attempted && !e.restored && !e.upload_logged);
        let d = e.docker.unwrap();
        assert_eq!((d.cached, d.rebuilt), (0, 4));
        assert_eq!(d.decisive.first_rebuilt().map(|s| s.instruction.as_str()), Some("WORKDIR /worker"));
    }

    #[test]
    fn restore_and_its_time() {
        let e = scan(
            "[Container] 2026/11/20 09:15:43.117 Expanded cache path /root/.cache/pip/**/*\n[Container] 2026/11/20 09:15:44.221456 Downloading S3 cache...\n[Container] 2026/11/20 09:16:20.101 Unarchiving cache...\n[Container] 2026/11/20 09:16:25.980 Moving to directory /codebuild/output/src1/src\n",
        );
        assert!(e.restore_attempted && e.restored);
        assert_eq!(e.restore_seconds, Some(41));
        assert!(!e.upload_logged && !e.cache_not_defined);
    }

    #[test]
    fn cache_not_defined_and_skipped_entries() {
        let e = scan(
            "[Container] 2026/11/20 09:15:44 Cache is not defined in the buildspec\n[Container] 2026/11/20 09:15:44 Skip cache due to: no paths specified to be cached\n[Container] 2026/11/20 09:48:01 Skipping cache entry: path \"/root/.m2\" is not within allowed cache paths\n[Container] 2026/11/20 09:48:01 Skipping cache entry: path \"/root/.m2\" is not within allowed cache paths\n[Container] 2026/11/20 09:48:01 Skipping cache entry: path \"/var/lib/docker\" is not within allowed cache paths\n[Instance] 2026/11/20 09:48:02 Uploading S3 cache...\n",
        );
        assert!(e.cache_not_defined && e.no_cache_paths && e.upload_logged);
        assert!(!e.restore_attempted && !e.restored);
        assert_eq!(e.skipped_entries, 2);
        assert_eq!(e.skipped_paths, vec!["/root/.m2", "/var/lib/docker"]);
    }

    #[test]
    fn agents_of_2024_say_no_paths_differently_and_skipped_paths_count_against_the_restore() {
        let e = scan(
            "[Container] 2024/05/14 10:02:11.204 Unable to initialize cache download: no paths specified to be cached\n",
        );
        assert!(e.no_cache_paths && !e.cache_not_defined);
        let e = scan(
            "[Container] 2026/11/20 09:15:44 Downloading S3 cache...\n[Container] 2026/11/20 09:16:20 Unarchiving cache...\n[Container] 2026/11/20 09:16:21 Skipping cache entry: path \"/root/.cache/pip\" is not within allowed cache paths\n[Container] 2026/11/20 09:16:30 Moving to directory /codebuild/output/src1/src\n",
        );
        assert!(e.restored && e.restore_skipped);
        assert_eq!(e.restore_seconds, Some(46), "the skipped paths are part of the restore");
    }

    #[test]
    fn user_output_that_looks_like_codebuild_does_not_count() {
        let e = scan(
            "echo Uploading S3 cache...\nUploading S3 cache...\n  [Container] 2026/11/20 09:15:44 Uploading S3 cache...\n",
        );
        assert!(!e.upload_logged);
        assert_eq!(e.lines, 3);
    }

    #[test]
    fn cloudwatch_time_stands_in_for_an_unreadable_one() {
        let mut s = LogScan::new();
        s.event("[Container] Downloading S3 cache...", 1_795_166_144_000);
        s.event("[Container] 2026/11/20 09:16:20 Unarchiving cache...\n[Container] later line", 1_795_166_190_000);
        let e = s.finish();
        assert!(e.restored);
        assert_eq!(e.restore_seconds, Some(46));
    }

    #[test]
    fn the_tail_reads_codebuild_lines_only() {
        let mut s = LogScan::new();
        s.tail_line("#5 [2/3] RUN x", 0);
        s.tail_line("#5 DONE 1.0s", 0);
        s.tail_line("[Container] 2026/11/20 09:48:02.5 Uploading S3 cache...", 0);
        let e = s.finish();
        assert!(e.upload_logged && e.docker.is_none());
        assert_eq!(e.lines, 1);
    }
}
