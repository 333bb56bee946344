//! Evidence that the cache works, for one build, as plain data: what its log says
//! (`build_log::LogEvidence`), whether the log could be read, what the cache location shows
//! (`aws::cache_listing::CacheListing`), and from those the cache problems the build shows
//! (`Cause`). Pure; `collect` gathers the inputs.

use super::log::build_log::LogEvidence;
use crate::aws::cache_listing::CacheListing;
use crate::aws::logs::LogRead;
use crate::build::{BuildFacts, LogsLocation};
use crate::event::BuildStatus;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// Whether and how the build's log was read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum LogAccess {
    Read(LogRead),
    /// CloudWatch logging is off for the build and S3 logging too.
    Disabled,
    /// CloudWatch logging is off; the log went to S3 only (not read).
    S3Only,
    /// Neither the event nor BatchGetBuilds names a log stream.
    NoStream,
    /// GetLogEvents was refused (the role reads `/aws/codebuild/*` only).
    Denied {
        reason: String,
    },
    /// The stream does not exist (expired by the group's retention, or never written).
    NotFound {
        reason: String,
    },
    /// Another permanent refusal.
    Unreadable {
        reason: String,
    },
    /// Not read on purpose (a running build).
    NotRead {
        reason: String,
    },
}

impl LogAccess {
    /// Where to read the log, or why it cannot be read.
    pub fn source(logs: Option<&LogsLocation>) -> Result<(String, String), LogAccess> {
        let logs = logs.ok_or(LogAccess::NoStream)?;
        match (logs.cloudwatch_enabled, logs.s3_enabled) {
            (Some(false), Some(true)) => return Err(LogAccess::S3Only),
            (Some(false), _) => return Err(LogAccess::Disabled),
            _ => {}
        }
        match (&logs.group, &logs.stream) {
            (Some(group), Some(stream)) => Ok((group.clone(), stream.clone())),
            _ => Err(LogAccess::NoStream),
        }
    }

    fn read(&self) -> Option<&LogRead> {
        match self {
            LogAccess::Read(read) => Some(read),
            _ => None,
        }
    }

    /// One line for the email.
    pub fn describe(&self, found: Option<&LogEvidence>) -> String {
        match (self, found) {
            (LogAccess::Read(r), Some(f)) if r.complete => format!("read the whole log ({} lines)", f.lines),
            (LogAccess::Read(r), _) => format!(
                "read the first {} page(s) ({}) and the last page; the middle of this long log was not read",
                r.pages.saturating_sub(1),
                fmt_bytes(r.bytes)
            ),
            (LogAccess::Disabled, _) => "not read: CloudWatch logging is disabled for this project".into(),
            (LogAccess::S3Only, _) => "not read: this project sends its build logs to S3 only".into(),
            (LogAccess::NoStream, _) => "not read: the build names no CloudWatch log stream".into(),
            (LogAccess::Denied { reason }, _) => format!(
                "not read: access denied ({reason}); the monitor may read log groups under /aws/codebuild/ only"
            ),
            (LogAccess::NotFound { reason }, _) => {
                format!("not read: the log stream does not exist (expired or never written: {reason})")
            }
            (LogAccess::Unreadable { reason }, _) => format!("not read: {reason}"),
            (LogAccess::NotRead { reason }, _) => format!("not read: {reason}"),
        }
    }
}

/// Whether the build wrote to its S3 cache location (one ListObjectsV2 page).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Upload {
    /// An object under the location is newer than the build's start.
    Written,
    /// The whole location was listed and nothing is newer than the build's start.
    NothingNew,
    /// More than one page of objects and none on the first page is newer: cannot tell.
    NotOnFirstPage,
    NotChecked {
        reason: String,
    },
}

impl Upload {
    pub fn from_listing(build: &BuildFacts, listing: Option<&CacheListing>) -> Upload {
        let not_checked = |reason: &str| Upload::NotChecked { reason: reason.to_owned() };
        if build.status != BuildStatus::Succeeded {
            return not_checked("checked after successful builds only");
        }
        let (Some(listing), Some(start)) = (listing, build.start) else {
            return not_checked("the cache location could not be listed");
        };
        match listing.newest {
            Some(newest) if newest >= start => Upload::Written,
            _ if listing.truncated => Upload::NotOnFirstPage,
            _ => Upload::NothingNew,
        }
    }
}

/// Whether the location held anything when the build started, for the scenario: None when the
/// listing cannot tell (more than a page, all of it newer).
pub fn empty_at_start(listing: &CacheListing, start: Option<DateTime<Utc>>) -> Option<bool> {
    if listing.objects == 0 {
        return (!listing.truncated).then_some(true);
    }
    match (start, listing.oldest) {
        (Some(start), Some(oldest)) if oldest < start => Some(false),
        (Some(_), _) if !listing.truncated => Some(true),
        (None, _) => Some(false),
        _ => None,
    }
}

/// A way the S3 cache can fail to help, as a build shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    NoRestore,
    NoUpload,
    CacheNotDefined,
    NoLayersReused,
}

impl Cause {
    pub const ALL: [Cause; 4] = [Cause::NoRestore, Cause::NoUpload, Cause::CacheNotDefined, Cause::NoLayersReused];

    pub fn as_str(self) -> &'static str {
        match self {
            Cause::NoRestore => "no-restore",
            Cause::NoUpload => "no-upload",
            Cause::CacheNotDefined => "cache-not-defined",
            Cause::NoLayersReused => "no-layers-reused",
        }
    }
}

/// What one build shows for one cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    Shows,
    Clear,
    Unknown,
}

impl Signal {
    pub fn code(self) -> char {
        match self {
            Signal::Shows => 'y',
            Signal::Clear => 'n',
            Signal::Unknown => '-',
        }
    }

    pub fn from_code(c: char) -> Option<Signal> {
        match c {
            'y' => Some(Signal::Shows),
            'n' => Some(Signal::Clear),
            '-' => Some(Signal::Unknown),
            _ => None,
        }
    }
}

/// The signal of every cause, in `Cause::ALL` order (in JSON: cause -> signal).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Problems(pub [Signal; 4]);

impl Serialize for Problems {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(Cause::ALL.len()))?;
        for (cause, signal) in Cause::ALL.iter().zip(self.0) {
            map.serialize_entry(cause.as_str(), &signal)?;
        }
        map.end()
    }
}

impl Problems {
    pub const UNKNOWN: Problems = Problems([Signal::Unknown; 4]);

    pub fn get(&self, cause: Cause) -> Signal {
        self.0[Cause::ALL.iter().position(|c| *c == cause).unwrap_or(0)]
    }

    pub fn showing(&self) -> Vec<Cause> {
        Cause::ALL.into_iter().filter(|c| self.get(*c) == Signal::Shows).collect()
    }

    pub fn code(&self) -> String {
        self.0.iter().map(|s| s.code()).collect()
    }

    pub fn from_code(code: &str) -> Option<Problems> {
        let signals: Vec<Signal> = code.chars().map(Signal::from_code).collect::<Option<_>>()?;
        Some(Problems(signals.try_into().ok()?))
    }
}

/// S3 placed the build's cache bucket in another region (its 301 on the listing): CodeBuild needs
/// the S3 cache bucket in the project's region, so the cache can neither restore nor store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BucketElsewhere {
    pub bucket: String,
    /// The bucket's region, when S3 named it (`x-amz-bucket-region`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The region the monitor (and the project) runs in.
    pub project_region: String,
}

impl BucketElsewhere {
    /// The condition in a sentence, for the email and the JSON's warnings.
    pub fn describe(&self) -> String {
        let at = self.region.as_deref().unwrap_or("another region (S3 answered 301 without naming it)");
        format!(
            "the cache bucket {} is in {at}, but the project is in {}: CodeBuild needs the S3 cache bucket in the project's region, so this cache can neither restore nor store anything",
            self.bucket, self.project_region
        )
    }

    /// What to change.
    pub fn advice(&self) -> String {
        format!(
            "Point the project's cache at a bucket in {} (cache-guard does it when its CACHE_BUCKET is there; the SAM template creates one).",
            self.project_region
        )
    }
}

/// Everything known about one build's cache.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CacheEvidence {
    /// The S3 location looked at (`bucket/prefix`), when the build used the S3 cache.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listing: Option<CacheListing>,
    pub upload: Upload,
    pub log: LogAccess,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub found: Option<LogEvidence>,
    /// The problems this build shows (only judged for builds on the S3 cache).
    pub problems: Problems,
    /// Why the cache is effective although the S3 signals say otherwise (a registry cache).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective: Option<String>,
    /// What the cache's own work cost against what it saved (`cache_value`; slow builds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<super::cache_value::CacheValue>,
    /// The cache bucket is in another region: the cause before any other.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elsewhere: Option<BucketElsewhere>,
}

impl CacheEvidence {
    /// Derives the problems from the rest.
    pub fn new(
        build: &BuildFacts,
        location: Option<String>,
        listing: Option<CacheListing>,
        log: LogAccess,
        found: Option<LogEvidence>,
    ) -> Self {
        let upload = Upload::from_listing(build, listing.as_ref());
        let on_s3 = build.cache.as_ref().is_some_and(|c| c.is_s3());
        let problems = if on_s3 { problems(build, &upload, &log, found.as_ref()) } else { Problems::UNKNOWN };
        CacheEvidence { location, listing, upload, log, found, problems, effective: None, value: None, elsewhere: None }
    }

    /// Docker layers reused from a registry cache (`importing cache manifest from ...`, or steps
    /// whose only work was downloading layers), in words; None when the log shows none.
    pub fn registry_cache(&self) -> Option<String> {
        let d = self.found.as_ref()?.docker.as_ref()?;
        if d.remote == 0 && !(d.cache_from.is_some() && d.cached > 0) {
            return None;
        }
        let from = d.cache_from.as_deref().map(|c| format!(" from {c}")).unwrap_or_default();
        Some(format!("Docker reused {} layer step(s){from}, a registry cache", d.cached))
    }

    /// A build within its time whose layers came from a registry cache has an effective cache,
    /// whatever its S3 cache paths hold: it shows none of the "cache not effective" problems.
    pub fn judge_registry_cache(&mut self, within_time: bool) {
        if !within_time || self.problems == Problems::UNKNOWN {
            return;
        }
        if let Some(words) = self.registry_cache() {
            self.problems = Problems([Signal::Clear; 4]);
            self.effective = Some(format!("{words}: the cache works whatever the S3 cache paths hold"));
        }
    }
}

fn problems(build: &BuildFacts, upload: &Upload, log: &LogAccess, found: Option<&LogEvidence>) -> Problems {
    let shows = |yes: bool| if yes { Signal::Shows } else { Signal::Clear };
    let Some(found) = found else {
        let upload = match upload {
            Upload::Written => Signal::Clear,
            Upload::NothingNew => Signal::Shows,
            _ => Signal::Unknown,
        };
        return Problems([Signal::Unknown, upload, Signal::Unknown, Signal::Unknown]);
    };
    // CodeBuild's upload line is at the end of the log: only a log read to its end can lack it.
    let end_read = log.read().is_some_and(|r| r.complete || r.tail_read);
    let no_upload = match upload {
        _ if build.status != BuildStatus::Succeeded => Signal::Unknown,
        Upload::Written => Signal::Clear,
        _ if found.upload_logged => Signal::Clear,
        Upload::NothingNew => Signal::Shows,
        _ if end_read => Signal::Shows,
        _ => Signal::Unknown,
    };
    let layers = match &found.docker {
        Some(d) if d.cached + d.rebuilt > 0 => shows(d.cached == 0),
        _ => Signal::Unknown,
    };
    // Paths skipped while unpacking count against the restore: it did not bring them back.
    Problems([
        shows(!found.restored || found.restore_skipped),
        no_upload,
        shows(found.cache_not_defined || found.no_cache_paths),
        layers,
    ])
}

/// "16.0 MB", "512 KB", "900 B" (decimal units, as the docs' sizes).
pub fn fmt_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b if b >= 1_000 => format!("{} KB", b / 1_000),
        b => format!("{b} B"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::log::build_log::LogScan;
    use crate::project::CacheSetting;

    fn build(status: BuildStatus) -> BuildFacts {
        let mut b = BuildFacts::new("p", status);
        b.start = DateTime::from_timestamp(1_795_166_101, 0);
        b.cache = Some(CacheSetting::s3("bucket/p"));
        b
    }

    fn listing(objects: u32, truncated: bool, oldest: i64, newest: i64) -> CacheListing {
        CacheListing {
            objects,
            truncated,
            oldest: DateTime::from_timestamp(1_795_166_101 + oldest, 0),
            newest: DateTime::from_timestamp(1_795_166_101 + newest, 0),
        }
    }

    fn found(log: &str) -> LogEvidence {
        let mut s = LogScan::new();
        log.lines().for_each(|l| s.line(l, 0));
        s.finish()
    }

    fn read(complete: bool) -> LogAccess {
        LogAccess::Read(LogRead { pages: 1, events: 10, bytes: 100, complete, tail_read: false })
    }

    #[test]
    fn upload_from_one_listing_page() {
        let ok = build(BuildStatus::Succeeded);
        assert_eq!(Upload::from_listing(&ok, Some(&listing(3, false, -3600, 1800))), Upload::Written);
        assert_eq!(Upload::from_listing(&ok, Some(&listing(3, false, -3600, -60))), Upload::NothingNew);
        assert_eq!(Upload::from_listing(&ok, Some(&listing(1000, true, -3600, -60))), Upload::NotOnFirstPage);
        assert!(matches!(Upload::from_listing(&ok, None), Upload::NotChecked { .. }));
        let failed = build(BuildStatus::Failed);
        assert!(matches!(Upload::from_listing(&failed, Some(&listing(3, false, 0, 9))), Upload::NotChecked { .. }));
    }

    #[test]
    fn empty_at_the_start_of_the_build() {
        let start = DateTime::from_timestamp(1_795_166_101, 0);
        let empty = CacheListing { objects: 0, truncated: false, oldest: None, newest: None };
        assert_eq!(empty_at_start(&empty, start), Some(true));
        assert_eq!(empty_at_start(&listing(2, false, -10, 100), start), Some(false));
        assert_eq!(empty_at_start(&listing(2, false, 10, 100), start), Some(true), "only its own upload");
        assert_eq!(empty_at_start(&listing(1000, true, 10, 100), start), None);
    }

    #[test]
    fn problems_of_a_build_without_cache_in_its_buildspec() {
        let b = build(BuildStatus::Succeeded);
        let f = found(
            "[Container] 2026/11/20 09:15:44 Cache is not defined in the buildspec\n[Container] 2026/11/20 09:15:44 Skip cache due to: no paths specified to be cached\n#5 [2/3] RUN a\n#5 DONE 1.0s\n",
        );
        let empty = CacheListing { objects: 0, truncated: false, oldest: None, newest: None };
        let e = CacheEvidence::new(&b, Some("bucket/p".into()), Some(empty), read(true), Some(f));
        assert_eq!(e.problems.showing(), Cause::ALL.to_vec());
        assert_eq!(e.problems.code(), "yyyy");
        assert_eq!(Problems::from_code("yyyy"), Some(e.problems));
        let json = serde_json::to_value(e.problems).unwrap();
        assert_eq!(json["cache-not-defined"], "shows");
    }

    #[test]
    fn problems_of_a_working_cache() {
        let b = build(BuildStatus::Succeeded);
        let f = found(
            "[Container] 2026/11/20 09:15:44 Downloading S3 cache...\n[Container] 2026/11/20 09:16:25 Unarchiving cache...\n#5 [2/3] RUN a\n#5 CACHED\n[Container] 2026/11/20 09:48:02 Uploading S3 cache...\n",
        );
        let e = CacheEvidence::new(&b, None, Some(listing(3, false, -99, 1900)), read(true), Some(f));
        assert_eq!(e.problems.code(), "nnnn");
    }

    #[test]
    fn what_cannot_be_seen_is_unknown() {
        let mut b = build(BuildStatus::Failed);
        let e = CacheEvidence::new(&b, None, None, LogAccess::S3Only, None);
        assert_eq!(e.problems, Problems::UNKNOWN);
        b.cache = Some(CacheSetting::local(&["LOCAL_DOCKER_LAYER_CACHE"]));
        let f = found("[Container] 2026/11/20 09:15:44 Cache is not defined in the buildspec\n");
        assert_eq!(CacheEvidence::new(&b, None, None, read(true), Some(f)).problems, Problems::UNKNOWN, "not on S3");
        assert_eq!(Problems::from_code("yy"), None);
        assert_eq!(Problems::from_code("yyzy"), None);
    }

    #[test]
    fn where_the_log_is() {
        let logs = |cw: Option<bool>, s3: Option<bool>| LogsLocation {
            group: Some("/aws/codebuild/p".into()),
            stream: Some("s".into()),
            cloudwatch_enabled: cw,
            s3_enabled: s3,
        };
        assert_eq!(LogAccess::source(Some(&logs(None, None))), Ok(("/aws/codebuild/p".into(), "s".into())));
        assert_eq!(LogAccess::source(Some(&logs(Some(false), Some(true)))), Err(LogAccess::S3Only));
        assert_eq!(LogAccess::source(Some(&logs(Some(false), None))), Err(LogAccess::Disabled));
        assert_eq!(LogAccess::source(None), Err(LogAccess::NoStream));
    }
}
