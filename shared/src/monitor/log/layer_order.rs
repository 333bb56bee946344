//! The Dockerfile lines that defeat the layer cache, found from the build log alone: the builder
//! prints every step of a build (or of a stage) in order, with its instruction, whether it was
//! cached and how long it ran, which is enough to see
//! - a broad `COPY . .` / `ADD .` (or a COPY of an application folder) before a dependency install,
//!   so every application change reinstalls the dependencies;
//! - `apt-get update` in a step of its own, apart from its `install` (a cached update layer keeps
//!   stale package lists: Docker's best practices say to combine them);
//! - a dependency install after a step that changes on every build (an `ARG` with the commit, the
//!   build id or a date, a RUN that writes one), which the install then follows into a rebuild;
//! - a base image pulled in PRE_BUILD and pulled again by the build's FROM (`pulled_twice`).
//!
//! For each: the step as the builder numbers it, the minutes the dependency steps after it were
//! rebuilt for in this build (BuildKit's `DONE` times; the classic builder prints none), and the
//! change to make. A Dockerfile in the right order gives nothing. One group (a build, or a stage
//! of a multi-stage build) at a time: `docker_steps` closes each and keeps what it found. Pure.

use super::docker_steps::{Step, StepGroup};
use super::layer_change::is_dependency_step;
use serde::Serialize;

/// What is wrong with the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OrderMistake {
    /// A broad COPY/ADD before a dependency install.
    CopyBeforeInstall,
    /// `apt-get update` in its own step, its install in a later one.
    AptUpdateApart,
    /// A step that changes on every build before a dependency install.
    VolatileBeforeInstall,
    /// The base image pulled in PRE_BUILD and pulled again by the build's FROM (a builder that
    /// keeps its own image store, such as buildx's docker-container driver).
    BasePulledTwice,
}

impl OrderMistake {
    /// Whether it makes a dependency install rerun on every change of the source.
    pub fn reruns_installs(self) -> bool {
        matches!(self, OrderMistake::CopyBeforeInstall | OrderMistake::VolatileBeforeInstall)
    }
}

/// One mistake in one group of steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OrderFinding {
    pub mistake: OrderMistake,
    /// The step to move or change, as the log prints it (`[ 4/12] COPY . .`, `Step 4/12 : ...`).
    pub step: String,
    /// The dependency step it makes rebuild (`[ 5/12] RUN pip install -r requirements.txt`).
    pub install: String,
    /// Milliseconds the dependency steps after `step` ran in this build (0: cached this time, or
    /// the classic builder, which prints no times).
    pub rebuilt_millis: u64,
    /// BuildKit's stage, for a multi-stage build.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// Which Docker build of the log (1 = the first).
    pub build: u32,
    /// The change to make, in words ready for the email.
    pub change: String,
}

/// The mistakes in one group, in the builder's order (each kind once a group).
pub fn find(group: &StepGroup) -> Vec<OrderFinding> {
    let steps: Vec<&Step> = group.steps.iter().filter(|s| !s.from).collect();
    let mut found = Vec::new();
    let installs: Vec<usize> = (0..steps.len()).filter(|&i| is_install(&steps[i].instruction)).collect();
    let finding = |mistake, at: usize, install: usize, change: String| OrderFinding {
        mistake,
        step: steps[at].display(),
        install: steps[install].display(),
        rebuilt_millis: installs
            .iter()
            .filter(|&&i| i > at && steps[i].outcome.ran())
            .map(|&i| steps[i].millis.unwrap_or(0))
            .sum(),
        stage: group.stage.clone(),
        build: group.build,
        change,
    };
    // A broad COPY before the first install that follows it.
    if let Some((at, install)) = steps
        .iter()
        .position(|s| is_broad_copy(&s.instruction))
        .and_then(|at| installs.iter().find(|&&i| i > at).map(|&i| (at, i)))
    {
        let change = format!(
            "copy only what the install needs first and install, then copy the rest: {} above `{}`",
            manifest_step(&steps[install].instruction),
            steps[at].instruction
        );
        found.push(finding(OrderMistake::CopyBeforeInstall, at, install, change));
    }
    // A step that changes on every build before an install.
    if let Some((at, install)) = steps
        .iter()
        .position(|s| is_volatile(&s.instruction))
        .and_then(|at| installs.iter().find(|&&i| i > at).map(|&i| (at, i)))
    {
        let change = format!(
            "move `{}` below the dependency steps, just above the step that uses it: what changes on every build comes last",
            steps[at].instruction
        );
        found.push(finding(OrderMistake::VolatileBeforeInstall, at, install, change));
    }
    // `apt-get update` alone, its install later.
    if let Some((at, install)) = steps.iter().position(|s| is_apt_update_alone(&s.instruction)).and_then(|at| {
        steps.iter().enumerate().skip(at + 1).find(|(_, s)| is_apt_install(&s.instruction)).map(|(i, _)| (at, i))
    }) {
        let change = "update and install in one step, `RUN apt-get update && apt-get install -y ...`: a cached update layer installs from stale package lists".to_owned();
        found.push(finding(OrderMistake::AptUpdateApart, at, install, change));
    }
    found
}

fn words(instruction: &str) -> Vec<&str> {
    instruction
        .split(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')' | '"' | '\'' | '[' | ']' | ','))
        .filter(|w| !w.is_empty())
        .collect()
}

fn verb(instruction: &str) -> String {
    instruction.split_whitespace().next().unwrap_or_default().to_ascii_uppercase()
}

/// A RUN that installs dependencies (a package manager's install, `pip install`, `npm ci`...).
fn is_install(instruction: &str) -> bool {
    verb(instruction) == "RUN" && is_dependency_step(instruction)
}

/// A COPY or ADD of the build context's root (`.`, `./`, `*`) or of a folder (`src/`, `tts`):
/// anything of the application, not only dependency manifests. `--from` copies from another stage.
fn is_broad_copy(instruction: &str) -> bool {
    if !matches!(verb(instruction).as_str(), "COPY" | "ADD") || is_dependency_step(instruction) {
        return false;
    }
    let args: Vec<&str> = words(instruction).into_iter().skip(1).collect();
    if args.iter().any(|a| a.starts_with("--from")) {
        return false;
    }
    let sources: Vec<&str> = args.iter().filter(|a| !a.starts_with("--")).copied().collect();
    let Some((_, sources)) = sources.split_last() else { return false };
    sources.iter().any(|s| {
        let last = s.trim_end_matches('/').rsplit('/').next().unwrap_or(s);
        matches!(*s, "." | "./" | "*") || s.ends_with('/') || (!last.contains('.') && !last.is_empty())
    })
}

/// Names of build arguments and variables that change on every build.
const VOLATILE: &[&str] = &[
    "COMMIT",
    "SHA",
    "REVISION",
    "GIT_",
    "BUILD_DATE",
    "BUILD_TIME",
    "TIMESTAMP",
    "BUILD_ID",
    "BUILD_NUMBER",
    "SOURCE_VERSION",
    "CACHEBUST",
    "CACHE_BUST",
    "CODEBUILD_BUILD",
    "CODEBUILD_RESOLVED",
];

/// An `ARG` of a commit, build id or date (every RUN after it depends on it), or a RUN that
/// writes one (`date`, `$GIT_COMMIT`).
fn is_volatile(instruction: &str) -> bool {
    let upper = instruction.to_ascii_uppercase();
    let named = || VOLATILE.iter().any(|v| upper.contains(v));
    match verb(instruction).as_str() {
        "ARG" => named(),
        "RUN" => !is_dependency_step(instruction) && (named() || words(instruction).contains(&"date")),
        _ => false,
    }
}

fn is_apt_update_alone(instruction: &str) -> bool {
    let w = words(instruction);
    let update = w.windows(2).any(|p| matches!(p[0], "apt-get" | "apt") && p[1] == "update");
    verb(instruction) == "RUN" && update && !is_apt_install(instruction)
}

fn is_apt_install(instruction: &str) -> bool {
    let w = words(instruction);
    w.windows(2).any(|p| matches!(p[0], "apt-get" | "apt") && p[1] == "install")
}

/// A FROM this long after the same image's `docker pull` downloaded it again (a FROM of an image
/// the builder has takes well under a second).
const PULLED_AGAIN_MILLIS: u64 = 30_000;

/// `pytorch/pytorch:2.1` for `docker.io/library/...`, `...@sha256:...`, an image without a tag
/// (`:latest`), and the flags and `AS name` around it.
fn image_name(words_after: &str) -> Option<String> {
    let image = words_after.split_whitespace().find(|w| !w.starts_with("--"))?;
    let image = image.split('@').next()?;
    let image = image.strip_prefix("docker.io/").unwrap_or(image);
    let image = image.strip_prefix("library/").unwrap_or(image);
    let last = image.rsplit('/').next()?;
    Some(if last.contains(':') { image.to_owned() } else { format!("{image}:latest") })
}

/// The base image a buildspec's `docker pull` fetched in PRE_BUILD (`pull`: the command's line and
/// seconds), fetched again by a FROM of `group` that took `PULLED_AGAIN_MILLIS` or more.
pub fn pulled_twice(pull: Option<&(String, u64)>, group: &StepGroup) -> Option<OrderFinding> {
    let (command, seconds) = pull?;
    let pulled = image_name(command.split("docker pull ").nth(1)?)?;
    let from = group.steps.iter().find(|s| {
        s.from
            && s.millis.is_some_and(|ms| ms >= PULLED_AGAIN_MILLIS)
            && s.instruction.get(5..).and_then(image_name).is_some_and(|i| i == pulled)
    })?;
    Some(OrderFinding {
        mistake: OrderMistake::BasePulledTwice,
        step: from.display(),
        install: format!("PRE_BUILD's `docker pull {pulled}` ({})", crate::monitor::judge::fmt_duration(*seconds)),
        rebuilt_millis: from.millis.unwrap_or(0),
        stage: group.stage.clone(),
        build: group.build,
        change: "the builder did not use the image the daemon had pulled (a buildx builder on the docker-container driver keeps its own image store): drop the PRE_BUILD `docker pull`, or build with the default docker driver so the FROM reuses it".to_owned(),
    })
}

/// The COPY and RUN to put first for an install: the manifest its tool reads, then the install.
fn manifest_step(install: &str) -> String {
    let w = words(install);
    let has = |a: &str, b: &str| w.windows(2).any(|p| p[0] == a && p[1] == b);
    let requirement = w.windows(2).find(|p| matches!(p[0], "-r" | "--requirement")).map(|p| p[1]);
    let manifest = if let Some(file) = requirement {
        Some(file.to_owned())
    } else if has("poetry", "install") {
        Some("pyproject.toml poetry.lock".to_owned())
    } else if has("uv", "sync") {
        Some("pyproject.toml uv.lock".to_owned())
    } else if has("pipenv", "install") || has("pipenv", "sync") {
        Some("Pipfile Pipfile.lock".to_owned())
    } else if has("npm", "ci") || has("npm", "install") || has("npm", "i") {
        Some("package.json package-lock.json".to_owned())
    } else if has("yarn", "install") {
        Some("package.json yarn.lock".to_owned())
    } else if has("pnpm", "install") {
        Some("package.json pnpm-lock.yaml".to_owned())
    } else if has("mod", "download") {
        Some("go.mod go.sum".to_owned())
    } else if has("cargo", "fetch") {
        Some("Cargo.toml Cargo.lock".to_owned())
    } else if has("bundle", "install") {
        Some("Gemfile Gemfile.lock".to_owned())
    } else if has("composer", "install") {
        Some("composer.json composer.lock".to_owned())
    } else if has("conda", "env") {
        Some("environment.yml".to_owned())
    } else {
        None // apt-get, apk, yum: system packages need no file of the application
    };
    match manifest {
        Some(files) => format!("`COPY {files} ./` and `{}`", install.trim()),
        None => format!("`{}`", install.trim()),
    }
}

impl OrderFinding {
    /// One line for the email and the report: the step, what it costs, the change.
    pub fn describe(&self) -> String {
        let stage = self.stage.as_ref().map(|s| format!(" (stage {s})")).unwrap_or_default();
        let cost = match (self.mistake, self.rebuilt_millis) {
            (OrderMistake::AptUpdateApart, _) => String::new(),
            (OrderMistake::BasePulledTwice, ms) => format!(
                " pulled the base image again after {}: {} of this build",
                self.install,
                crate::monitor::judge::fmt_duration(ms.div_ceil(1000))
            ),
            (_, 0) => format!(", so {} reruns whenever anything before it changes", self.install),
            (_, ms) => format!(
                ", so {} reran: {} of this build",
                self.install,
                crate::monitor::judge::fmt_duration(ms.div_ceil(1000))
            ),
        };
        format!("{}{stage}{cost}. Fix: {}.", self.step, self.change)
    }
}

#[cfg(test)]
#[path = "layer_order_tests.rs"]
mod tests;
