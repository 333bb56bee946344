//! What broke the cache, in the log's own words: the lines BuildKit, buildx, Docker and S3 print
//! when a cache cannot be imported or exported, when the base image cannot be pulled, or when the
//! disk is full. Each cause keeps the first line that showed it (quoted in the notice) and how often
//! it was seen; what to do about it is `CauseKind::fix`.
//!
//! The lines, as the tools print them:
//! * BuildKit's plain progress names a cache step `#19 exporting cache to registry`, `#19
//!   exporting cache to Amazon S3` or `#5 importing cache manifest from <ref>`; its failure is
//!   `#19 ERROR: <why>`, repeated after the build as ` > exporting cache to registry:` and `ERROR:
//!   failed to solve: <why>`. ECR refusing a cache manifest it cannot store: `error writing
//!   manifest blob: failed commit on ref "sha256:...": unexpected status: 400 Bad Request`.
//! * buildx on the `docker` driver: `ERROR: failed to build: Cache export is not supported for the
//!   docker driver.` (older: `cache export feature is currently not supported for docker driver`).
//! * S3 refusing a single upload over 5 GB: `EntityTooLarge: Your proposed upload exceeds the
//!   maximum allowed size`.
//! * Docker Hub's pull limit: `toomanyrequests: You have reached your pull rate limit.`
//! * A full disk: `no space left on device`.
//!
//! Pure and streaming; it keeps a few step numbers and one line per cause, never the log.

use super::docker_steps::strip_ansi;
use serde::Serialize;
use std::collections::BTreeMap;

/// A quoted line is cut to this many characters.
const QUOTE_LIMIT: usize = 300;
/// Cache steps remembered by BuildKit step number (a build has a handful).
const MAX_CACHE_STEPS: usize = 64;

/// A cause of a slow or cold build that the log names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CauseKind {
    /// `--cache-to type=registry` refused or failing: the next build finds no cache to import.
    RegistryCacheExport,
    /// `--cache-from type=registry` could not be imported: this build started without it.
    RegistryCacheImport,
    /// buildx on the default `docker` driver cannot export a cache at all.
    DockerDriverCacheExport,
    /// BuildKit's S3 cache (`--cache-to type=s3`) failed to export, or an upload hit S3's 5 GB
    /// single-request limit.
    S3CacheExport,
    /// Docker Hub's pull rate limit on the base image.
    PullRateLimit,
    /// The disk filled up.
    NoSpace,
    /// Pulling the base image took minutes (`docker pull` in the buildspec, or BuildKit's FROM).
    SlowPull,
    /// The build failed right after a cache restore where the previous build succeeded on the same
    /// source version: the restored cache is the likely difference (judged with the history).
    StaleCache,
}

impl CauseKind {
    /// Its name in markers and message attributes: `pull-rate-limit`.
    pub fn as_str(self) -> &'static str {
        match self {
            CauseKind::RegistryCacheExport => "registry-cache-export",
            CauseKind::RegistryCacheImport => "registry-cache-import",
            CauseKind::DockerDriverCacheExport => "docker-driver-cache-export",
            CauseKind::S3CacheExport => "s3-cache-export",
            CauseKind::PullRateLimit => "pull-rate-limit",
            CauseKind::NoSpace => "no-space",
            CauseKind::SlowPull => "slow-pull",
            CauseKind::StaleCache => "stale-cache",
        }
    }

    /// The cause in a few words, for a subject or a table.
    pub fn title(self) -> &'static str {
        match self {
            CauseKind::RegistryCacheExport => "the registry cache export failed",
            CauseKind::RegistryCacheImport => "the registry cache could not be imported",
            CauseKind::DockerDriverCacheExport => "buildx's docker driver cannot export a cache",
            CauseKind::S3CacheExport => "the S3 cache export failed",
            CauseKind::PullRateLimit => "Docker Hub's pull rate limit",
            CauseKind::NoSpace => "no space left on device",
            CauseKind::SlowPull => "a slow base image pull",
            CauseKind::StaleCache => "a stale cache",
        }
    }

    /// Whether it breaks builds (a failed build's notice names these); a slow pull only slows them.
    pub fn breaks(self) -> bool {
        self != CauseKind::SlowPull
    }

    /// What it does to the builds.
    pub fn effect(self) -> &'static str {
        match self {
            CauseKind::RegistryCacheExport | CauseKind::DockerDriverCacheExport | CauseKind::S3CacheExport => {
                "no cache was written, so the next build starts cold as well"
            }
            CauseKind::RegistryCacheImport => "this build started without the registry cache",
            CauseKind::PullRateLimit => "the base image could not be pulled, or only after retries",
            CauseKind::NoSpace => "the build ran out of disk; a cache restored or written on a full disk is lost",
            CauseKind::SlowPull => {
                "every build that pulls the base image again spends those minutes before its first step"
            }
            CauseKind::StaleCache => {
                "the same source built before, so what the restore brought back is the likely difference; every build that restores it fails the same way"
            }
        }
    }

    /// What to do, as the tools document it.
    pub fn fix(self) -> &'static str {
        match self {
            // ECR stores BuildKit caches since BuildKit 0.12 when the cache is an image manifest
            // with OCI media types (AWS Containers blog, "Announcing remote cache support in Amazon
            // ECR for BuildKit clients", 2023).
            CauseKind::RegistryCacheExport => {
                "for Amazon ECR add image-manifest=true,oci-mediatypes=true to --cache-to (BuildKit 0.12 or later), e.g. --cache-to type=registry,ref=<repo>:cache,mode=max,image-manifest=true,oci-mediatypes=true; check that the build role may push to the cache repository"
            }
            CauseKind::RegistryCacheImport => {
                "check that the cache reference exists (the first build after a new tag has none) and that the build role may pull it (ecr:BatchGetImage, ecr:GetDownloadUrlForLayer)"
            }
            // docs.docker.com/build/builders/drivers/: the docker driver supports only the inline cache.
            CauseKind::DockerDriverCacheExport => {
                "create a docker-container builder first (docker buildx create --use --driver docker-container), then build with --load or --push; or use --cache-to type=inline"
            }
            CauseKind::S3CacheExport => {
                "S3 takes at most 5 GB in one upload: split the layer that large (fewer files per RUN or COPY) or cache it in a registry instead; check the build role's s3:PutObject on the cache bucket"
            }
            // docs.docker.com/docker-hub/usage/pulls/: anonymous pulls are limited per IP, and
            // CodeBuild hosts share addresses.
            CauseKind::PullRateLimit => {
                "pull the base image from Amazon ECR Public or an ECR pull-through cache, or log in to Docker Hub before the build (docker login) so the account's limit applies instead of the shared IP's"
            }
            CauseKind::NoSpace => {
                "use a larger compute type, or free space before the build (docker system prune -af), and cache fewer paths"
            }
            CauseKind::SlowPull => {
                "pull the base image from Amazon ECR in the build's region (an ECR pull-through cache of Docker Hub keeps the same name under your registry), or build on a smaller base image"
            }
            CauseKind::StaleCache => {
                "invalidate the cache and run the build again: aws codebuild invalidate-project-cache --project-name <project> (for an S3 cache, deleting the objects under its location does the same)"
            }
        }
    }
}

/// One cause and where the log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cause {
    pub kind: CauseKind,
    /// The first line that showed it, as printed (ANSI codes removed, cut to 300 characters).
    pub line: String,
    /// Lines that showed it.
    pub count: u32,
    /// The time it took, where that is the point (a slow pull).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<u64>,
}

/// What a BuildKit step number stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CacheStep {
    ExportRegistry,
    ExportS3,
    ExportOther,
    Import,
}

/// The streaming scanner.
#[derive(Debug, Default)]
pub struct CauseScan {
    found: BTreeMap<CauseKind, Cause>,
    steps: BTreeMap<u32, CacheStep>,
    /// The cache step of the last ` > exporting cache to ...:` summary header (BuildKit repeats a
    /// failed step's name there before its error).
    summary: Option<CacheStep>,
}

impl CauseScan {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads one line (any line: CodeBuild's, Docker's, the build's own).
    pub fn line(&mut self, raw: &str) {
        let line = strip_ansi(raw);
        let line = line.trim();
        if let Some(kind) = self.classify(line) {
            let cause =
                self.found.entry(kind).or_insert_with(|| Cause { kind, line: quote(line), count: 0, seconds: None });
            cause.count += 1;
        }
    }

    fn classify(&mut self, line: &str) -> Option<CauseKind> {
        if line.contains("Cache export is not supported for the docker driver")
            || line.contains("cache export feature is currently not supported for docker driver")
        {
            return Some(CauseKind::DockerDriverCacheExport);
        }
        if line.contains("toomanyrequests") {
            return Some(CauseKind::PullRateLimit);
        }
        // Go's syscall text, and Python's (`[Errno 28] No space left on device`).
        if line.contains("no space left on device") || line.contains("No space left on device") {
            return Some(CauseKind::NoSpace);
        }
        if line.contains("EntityTooLarge") {
            return Some(CauseKind::S3CacheExport);
        }
        if line.contains("failed to configure registry cache exporter") {
            return Some(CauseKind::RegistryCacheExport);
        }
        if line.contains("failed to configure registry cache importer") {
            return Some(CauseKind::RegistryCacheImport);
        }
        // ` > exporting cache to registry:`: the error after it is that step's.
        if let Some(name) = line.strip_prefix("> ") {
            self.summary = cache_step(name.trim_end_matches(':'));
            return None;
        }
        if let Some((step, text)) = buildkit_step(line) {
            if let Some(kind) = cache_step(text) {
                if self.steps.len() < MAX_CACHE_STEPS || self.steps.contains_key(&step) {
                    self.steps.insert(step, kind);
                }
                return None;
            }
            let error = text.starts_with("ERROR");
            return self.steps.get(&step).filter(|_| error).and_then(|s| failed(*s, text));
        }
        let failure = ["ERROR: failed to solve:", "error: failed to solve:", "ERROR: failed to build:"]
            .iter()
            .any(|p| line.starts_with(p));
        if failure {
            if let Some(cause) = self.summary.take().and_then(|step| failed(step, line)) {
                return Some(cause);
            }
            if line.contains("error writing manifest blob") {
                // Only a registry cache export writes a manifest blob of its own.
                return Some(CauseKind::RegistryCacheExport);
            }
        }
        None
    }

    pub fn finish(self) -> Vec<Cause> {
        self.found.into_values().collect()
    }
}

/// Adds causes found elsewhere (the end of a long log, read apart).
pub fn merge(into: &mut Vec<Cause>, more: Vec<Cause>) {
    for cause in more {
        match into.iter_mut().find(|c| c.kind == cause.kind) {
            Some(c) => c.count += cause.count,
            None => into.push(cause),
        }
    }
    into.sort_by_key(|c| c.kind);
}

/// A base image pull this long is named: far more than a same-region ECR pull or a cached base
/// image takes, and the minutes come straight off every build that pulls it.
pub const SLOW_PULL_SECONDS: u64 = 180;

/// The slowest base image pull, if it took `SLOW_PULL_SECONDS` or more: a buildspec's `docker pull`
/// command (its line and seconds, from CodeBuild's times) or BuildKit's FROM steps (their `DONE`
/// times, in the build or stage that decides).
pub fn slow_pull(command: Option<(String, u64)>, docker: Option<&super::docker_steps::DockerReuse>) -> Option<Cause> {
    let from = docker.into_iter().flat_map(|d| d.decisive.steps.iter()).filter(|s| s.from).filter_map(|s| {
        let seconds = s.millis? / 1000;
        Some((format!("{} DONE {seconds}s", s.display()), seconds))
    });
    let (line, seconds) = command.into_iter().chain(from).max_by_key(|(_, seconds)| *seconds)?;
    (seconds >= SLOW_PULL_SECONDS).then(|| Cause {
        kind: CauseKind::SlowPull,
        line: quote(&line),
        count: 1,
        seconds: Some(seconds),
    })
}

/// The cause of a failed cache step (a local or other export's failure is none of ours to name,
/// unless it wrote a registry manifest).
fn failed(step: CacheStep, text: &str) -> Option<CauseKind> {
    match step {
        CacheStep::ExportRegistry => Some(CauseKind::RegistryCacheExport),
        CacheStep::Import => Some(CauseKind::RegistryCacheImport),
        CacheStep::ExportS3 => Some(CauseKind::S3CacheExport),
        CacheStep::ExportOther => text.contains("manifest blob").then_some(CauseKind::RegistryCacheExport),
    }
}

/// `exporting cache to registry`, `exporting cache to Amazon S3`, `importing cache manifest from x`.
fn cache_step(text: &str) -> Option<CacheStep> {
    if text.starts_with("exporting cache to registry") {
        Some(CacheStep::ExportRegistry)
    } else if text.starts_with("exporting cache to Amazon S3") || text.starts_with("exporting cache to s3") {
        Some(CacheStep::ExportS3)
    } else if text.starts_with("exporting cache") {
        Some(CacheStep::ExportOther)
    } else if text.starts_with("importing cache manifest from") {
        Some(CacheStep::Import)
    } else {
        None
    }
}

/// `#19 ERROR: ...` -> (19, "ERROR: ...").
fn buildkit_step(line: &str) -> Option<(u32, &str)> {
    let rest = line.strip_prefix('#')?;
    let (number, text) = rest.split_once(' ')?;
    Some((number.parse().ok()?, text.trim_start()))
}

fn quote(line: &str) -> String {
    match line.char_indices().nth(QUOTE_LIMIT) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn causes(log: &str) -> Vec<Cause> {
        let mut scan = CauseScan::new();
        for line in log.lines() {
            scan.line(line);
        }
        scan.finish()
    }

    fn kinds(log: &str) -> Vec<CauseKind> {
        causes(log).into_iter().map(|c| c.kind).collect()
    }

    #[test]
    fn ecr_refusing_a_registry_cache_export() {
        let log = "#19 exporting cache to registry\n#19 preparing build cache for export\n#19 writing cache manifest sha256:aab0bc0ce8d3b398d3a61724a079214b0f72cbd0b8e2ee76188fa2b1233a13ab 0.2s done\n#19 ERROR: error writing manifest blob: failed commit on ref \"sha256:aab0bc0ce8d3b398d3a61724a079214b0f72cbd0b8e2ee76188fa2b1233a13ab\": unexpected status from PUT request to https://123456789012.dkr.ecr.ap-south-1.amazonaws.com/v2/tts/manifests/cache: 400 Bad Request\n------\n > exporting cache to registry:\n------\nERROR: failed to solve: error writing manifest blob: failed commit on ref \"sha256:aab0\": unexpected status: 400 Bad Request\n";
        let found = causes(log);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].kind, CauseKind::RegistryCacheExport);
        assert!(found[0].line.starts_with("#19 ERROR: error writing manifest blob"), "{}", found[0].line);
        assert_eq!(found[0].count, 2, "the step's error and the summary's");
        // The summary alone (a log whose step lines were cut) still names it.
        assert_eq!(
            kinds(
                "ERROR: failed to solve: error writing manifest blob: failed commit on ref \"sha256:4687\": unexpected status: 400 Bad Request"
            ),
            [CauseKind::RegistryCacheExport]
        );
        assert_eq!(
            kinds("ERROR: failed to solve: failed to configure registry cache exporter: invalid reference format"),
            [CauseKind::RegistryCacheExport]
        );
    }

    #[test]
    fn a_registry_cache_that_cannot_be_imported() {
        let log = "#4 importing cache manifest from 123456789012.dkr.ecr.ap-south-1.amazonaws.com/tts:cache\n#4 ERROR: failed to authorize: failed to fetch oauth token: unexpected status: 403 Forbidden\n";
        assert_eq!(kinds(log), [CauseKind::RegistryCacheImport]);
        assert_eq!(
            kinds("WARNING: failed to configure registry cache importer: invalid reference format"),
            [CauseKind::RegistryCacheImport]
        );
        // An import that worked: its layers and DONE are no cause.
        assert!(kinds("#4 importing cache manifest from tts:cache\n#4 inferred cache manifest type: application/vnd.oci.image.manifest.v1+json done\n#4 DONE 1.2s\n").is_empty());
    }

    #[test]
    fn buildx_on_the_docker_driver() {
        assert_eq!(
            kinds(
                "ERROR: failed to build: Cache export is not supported for the docker driver.\nSwitch to a different driver, or turn on the containerd image store, and try again.\nLearn more at https://docs.docker.com/go/build-cache-backends/"
            ),
            [CauseKind::DockerDriverCacheExport]
        );
        assert_eq!(
            kinds(
                "ERROR: cache export feature is currently not supported for docker driver. Please switch to a different driver (eg. \"docker buildx create --use\")"
            ),
            [CauseKind::DockerDriverCacheExport]
        );
    }

    #[test]
    fn buildkits_s3_cache_export_failing() {
        let log = "#21 exporting cache to Amazon S3\n#21 preparing build cache for export\n#21 ERROR: error writing layer blob: operation error S3: PutObject, https response error StatusCode: 400, RequestID: 0MAYGFHCW85M6CGM, api error EntityTooLarge: Your proposed upload exceeds the maximum allowed size\n";
        let found = causes(log);
        assert_eq!(found.iter().map(|c| c.kind).collect::<Vec<_>>(), [CauseKind::S3CacheExport]);
        assert_eq!(found[0].count, 1, "one line, one count");
        assert_eq!(
            kinds("#21 exporting cache to Amazon S3\n#21 ERROR: failed to export: context deadline exceeded"),
            [CauseKind::S3CacheExport]
        );
    }

    #[test]
    fn docker_hubs_pull_rate_limit() {
        let buildkit = "#3 [internal] load metadata for docker.io/pytorch/pytorch:2.4.1-cuda12.1-cudnn9-runtime\n#3 ERROR: failed to copy: httpReadSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/pytorch/pytorch/manifests/sha256:11: 429 Too Many Requests - Server message: toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit\n";
        assert_eq!(kinds(buildkit), [CauseKind::PullRateLimit]);
        let classic = "Step 1/12 : FROM pytorch/pytorch:2.4.1-cuda12.1-cudnn9-runtime\ntoomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit\n";
        assert_eq!(kinds(classic), [CauseKind::PullRateLimit]);
    }

    #[test]
    fn a_full_disk() {
        let log = "#12 [7/9] RUN pip install -r requirements.txt\n#12 41.20 ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device\n#12 ERROR: failed to copy files: copy file range failed: no space left on device\n";
        let found = causes(log);
        assert_eq!(found.iter().map(|c| c.kind).collect::<Vec<_>>(), [CauseKind::NoSpace]);
        assert!(found[0].line.contains("[Errno 28]"), "the first line: {}", found[0].line);
        assert_eq!(found[0].count, 2);
        assert_eq!(
            kinds(
                "[Container] 2026/11/20 09:40:01.2 Phase context status code: COMMAND_EXECUTION_ERROR Message: write /var/lib/docker/tmp/x: no space left on device"
            ),
            [CauseKind::NoSpace]
        );
    }

    #[test]
    fn a_slow_pull_is_named_with_its_minutes() {
        let command = Some(("Running command docker pull pytorch/pytorch:2.1.0-cuda12.1-cudnn8-devel".to_owned(), 408));
        let cause = slow_pull(command, None).expect("6 min 48 s is slow");
        assert_eq!((cause.kind, cause.seconds), (CauseKind::SlowPull, Some(408)));
        assert!(cause.line.contains("docker pull pytorch"));
        assert_eq!(slow_pull(Some(("docker pull x".into(), SLOW_PULL_SECONDS - 1)), None), None);
        assert!(!CauseKind::SlowPull.breaks() && CauseKind::NoSpace.breaks());
        // BuildKit's FROM step, as the Docker log times it.
        let mut steps = crate::monitor::log::docker_steps::DockerSteps::new();
        for line in [
            "#0 building with \"default\" instance using docker driver",
            "#4 [1/3] FROM docker.io/pytorch/pytorch:2.1.0",
            "#4 DONE 312.4s",
            "#5 [2/3] RUN true",
            "#5 DONE 1.0s",
        ] {
            steps.line(line);
        }
        let cause = slow_pull(None, steps.finish().as_ref()).expect("a 312 s FROM");
        assert_eq!(cause.seconds, Some(312));
        assert!(cause.line.starts_with("[1/3] FROM docker.io/pytorch"), "{}", cause.line);
    }

    #[test]
    fn lines_that_must_not_match() {
        let log = "\
#5 [2/9] RUN echo \"exporting cache to registry\"\n\
#5 DONE 0.1s\n\
#19 exporting cache to registry\n\
#19 writing layer sha256:04d12edb9a05 1.0s done\n\
#19 DONE 12.3s\n\
#20 [3/9] RUN python -c 'print(\"ERROR: failed to solve\")'\n\
#20 0.311 ERROR: failed to solve\n\
#20 DONE 0.4s\n\
echo toomany requests\n\
Successfully pulled pytorch/pytorch\n\
#6 [4/9] RUN pip install -r requirements.txt\n\
#6 12.1 Retrying (Retry(total=4)) after connection broken: space left on device ok\n\
#6 ERROR: process \"/bin/sh -c pip install -r requirements.txt\" did not complete successfully: exit code: 1\n\
ERROR: failed to solve: process \"/bin/sh -c pip install -r requirements.txt\" did not complete successfully: exit code: 1\n";
        assert!(kinds(log).is_empty(), "{:?}", causes(log));
    }

    #[test]
    fn coloured_and_long_lines_are_quoted_clean_and_short() {
        let long =
            format!("\u{1b}[31mtoomanyrequests: You have reached your pull rate limit.{}\u{1b}[0m", " x".repeat(400));
        let found = causes(&long);
        assert!(found[0].line.starts_with("toomanyrequests"), "{}", found[0].line);
        assert_eq!(found[0].line.chars().count(), QUOTE_LIMIT + 3);
        let mut all = causes("no space left on device");
        assert_eq!(all[0].seconds, None);
        merge(&mut all, causes("no space left on device\ntoomanyrequests"));
        assert_eq!(
            all.iter().map(|c| (c.kind, c.count)).collect::<Vec<_>>(),
            [(CauseKind::PullRateLimit, 1), (CauseKind::NoSpace, 2)]
        );
    }
}
