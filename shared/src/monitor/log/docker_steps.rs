//! Docker's steps, read from the build log line by line, in the builder's own numbering:
//! * BuildKit's plain progress: `#6 [2/8] WORKDIR /app` (`#6 [builder 2/8] ...` in a named stage),
//!   then `#6 CACHED`, `#6 DONE 0.1s` or `#6 ERROR ...`; steps interleave, headers repeat, and a
//!   step whose only progress is layer downloads (`#6 sha256:...`, `#6 extracting sha256:...`)
//!   before `DONE` came from a remote cache (`--cache-from`, `importing cache manifest from ...`);
//! * the classic builder: `Step 2/8 : WORKDIR /app` (`Step 2 : ...` before Docker 1.13), then
//!   ` ---> Using cache` or ` ---> Running in ...`; an `ARG` before `FROM` runs nothing, and a `FROM`
//!   closes any pending step and is never a rebuild.
//!
//! ANSI colour codes and CR line ends are ignored. Pure and streaming: it keeps the steps of the
//! build being read and the one build (or BuildKit stage) that decides, never the log. The build or
//! stage that took longest decides (BuildKit's `DONE` times; the classic builder, which prints no
//! times, by the steps rebuilt): that is where a slow build's minutes went.

use super::layer_order::{self, OrderFinding};
use serde::Serialize;

/// Steps tracked per build; more are counted as unfinished (a Dockerfile has tens of steps).
pub const MAX_STEPS: usize = 2_000;
/// Layer-order findings kept for one log (the same mistake in another build of the same
/// Dockerfile is not repeated).
pub const MAX_ORDER_FINDINGS: usize = 8;
/// Step instructions are cut to this many characters.
const NAME_LIMIT: usize = 120;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Builder {
    Buildkit,
    Classic,
}

/// What became of a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepOutcome {
    /// Taken from the local layer cache (`CACHED`, `Using cache`); also a `FROM` (the base image is
    /// pulled or reused, never rebuilt) and an `ARG` before `FROM`, which makes no layer.
    Cached,
    /// Taken from a remote cache: only layer downloads before `DONE`.
    Remote,
    /// Run again.
    Rebuilt,
    /// Run, and failed (`ERROR`).
    Failed,
    /// No outcome in the log (still running when it ends).
    Unfinished,
}

impl StepOutcome {
    pub fn reused(self) -> bool {
        matches!(self, StepOutcome::Cached | StepOutcome::Remote)
    }

    pub fn ran(self) -> bool {
        matches!(self, StepOutcome::Rebuilt | StepOutcome::Failed)
    }
}

/// One Dockerfile step as the builder numbered it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// `[14/16]`, `[builder 3/8]`, `Step 14/16`, `Step 4`: as the log prints it, to find it there.
    pub label: String,
    pub instruction: String,
    pub from: bool,
    pub outcome: StepOutcome,
    /// BuildKit's `DONE 41.3s`, in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub millis: Option<u64>,
}

impl Step {
    /// `[14/16] COPY tts/ ./tts/`
    pub fn display(&self) -> String {
        format!("{} {}", self.label, self.instruction)
    }
}

/// The steps of one build, or of one stage of a BuildKit build (each stage numbers its own).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepGroup {
    /// Which Docker build of the log (1 = the first).
    pub build: u32,
    /// BuildKit's stage name (`builder` in `[builder 2/8]`); None for an unnamed stage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// The builder's step count (`m` in `i/m`), when it prints one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u32>,
    /// Milliseconds its steps ran (BuildKit's `DONE` times; 0 for the classic builder).
    pub millis: u64,
    /// In the builder's order.
    pub steps: Vec<Step>,
}

impl StepGroup {
    /// Steps reused (FROM included: the base image is not rebuilt).
    pub fn reused(&self) -> u32 {
        self.steps.iter().filter(|s| s.outcome.reused()).count() as u32
    }

    pub fn rebuilt(&self) -> u32 {
        self.steps.iter().filter(|s| s.outcome.ran()).count() as u32
    }

    /// The builder's count, or the steps seen.
    pub fn count(&self) -> u32 {
        self.total.unwrap_or(self.steps.len() as u32).max(self.steps.len() as u32)
    }

    /// The first step (in the builder's order) that ran: where the cache broke.
    pub fn first_rebuilt(&self) -> Option<&Step> {
        self.steps.iter().find(|s| s.outcome.ran())
    }

    /// `13 of 16 steps cached`
    pub fn summary(&self) -> String {
        let mut text = format!("{} of {} steps cached", self.reused(), self.count());
        if let Some(stage) = &self.stage {
            text.push_str(&format!(" in stage {stage}"));
        }
        if let Some(first) = self.first_rebuilt() {
            text.push_str(&format!("; first rebuilt: {}", first.display()));
        }
        text
    }

    /// Which group decides: the one whose steps ran longest, then the one with most rebuilt.
    fn weight(&self) -> (u64, u32, usize) {
        (self.millis, self.rebuilt(), self.steps.len())
    }
}

/// What the Docker builds of one log did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DockerReuse {
    pub builder: Builder,
    /// Docker builds seen in the log.
    pub builds: u32,
    /// Layer steps (FROM left out) over every build: reused (locally or from a remote cache), from a
    /// remote cache alone, run, without an outcome.
    pub cached: u32,
    pub remote: u32,
    pub rebuilt: u32,
    pub unfinished: u32,
    /// `importing cache manifest from <ref>`: the build read a registry cache (the first ref).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_from: Option<String>,
    /// The build or stage that took longest: the one that decides.
    pub decisive: StepGroup,
    /// The Dockerfile lines that defeat the cache, every build and stage read apart
    /// (`layer_order`; at most `MAX_ORDER_FINDINGS`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub order: Vec<OrderFinding>,
}

impl DockerReuse {
    /// Cached steps in percent of the steps with a known outcome.
    pub fn cached_percent(&self) -> Option<u32> {
        let known = self.cached + self.rebuilt;
        (known > 0).then(|| self.cached * 100 / known)
    }
}

/// A step being read.
#[derive(Debug, Clone)]
struct Open {
    /// BuildKit vertex number (`#N`), or the classic step number.
    vertex: u32,
    stage: Option<String>,
    index: Option<u32>,
    total: Option<u32>,
    step: Step,
    /// Progress other than layer downloads (BuildKit), or an arrow other than "Using cache" (classic).
    ran: bool,
    downloaded: bool,
}

/// The streaming reader.
#[derive(Debug, Default)]
pub struct DockerSteps {
    builder: Option<Builder>,
    builds: u32,
    /// Steps of the current build, in the order their headers appeared.
    steps: Vec<Open>,
    /// Vertices of the current build that are not steps (`[internal]`, exporting): their numbers,
    /// so that a reused number can be told from a new build.
    other_vertices: Vec<u32>,
    cached: u32,
    remote: u32,
    rebuilt: u32,
    unfinished: u32,
    cache_from: Option<String>,
    decisive: Option<StepGroup>,
    order: Vec<OrderFinding>,
}

impl DockerSteps {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads one log line.
    pub fn line(&mut self, raw: &str) {
        let plain = strip_ansi(raw.trim_end_matches('\r'));
        let line = plain.as_ref();
        if let Some(rest) = line.strip_prefix('#') {
            self.buildkit(rest);
        } else if let Some(rest) = line.strip_prefix("Step ") {
            self.classic_step(rest);
        } else if let Some(rest) = line.trim_start().strip_prefix("---> ") {
            self.classic_arrow(rest.trim());
        }
    }

    fn buildkit(&mut self, rest: &str) {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (Ok(vertex), Some(body)) = (rest[..digits].parse::<u32>(), rest[digits..].strip_prefix(' ')) else {
            return;
        };
        let body = body.trim_end();
        if body.starts_with("building with ") {
            self.new_build(Builder::Buildkit);
        } else if let Some(header) = body.strip_prefix('[') {
            self.buildkit_header(vertex, header);
        } else if body == "CACHED" {
            self.resolve(vertex, StepOutcome::Cached, None);
        } else if let Some(done) = body.strip_prefix("DONE") {
            let millis =
                done.trim().trim_end_matches('s').parse::<f64>().ok().map(|s| (s.max(0.0) * 1000.0).round() as u64);
            let remote = self.steps.iter().any(|s| s.vertex == vertex && !s.ran && s.downloaded);
            let outcome = if remote { StepOutcome::Remote } else { StepOutcome::Rebuilt };
            self.resolve(vertex, outcome, millis);
        } else if body.starts_with("ERROR") {
            self.resolve(vertex, StepOutcome::Failed, None);
        } else if let Some(source) = body.strip_prefix("importing cache manifest from ") {
            if self.cache_from.is_none() {
                self.cache_from = Some(cut(source));
            }
        } else if let Some(step) = self.steps.iter_mut().find(|s| s.vertex == vertex) {
            if body.starts_with("sha256:") || body.starts_with("extracting sha256:") {
                step.downloaded = true;
            } else {
                step.ran = true;
            }
        }
    }

    fn buildkit_header(&mut self, vertex: u32, header: &str) {
        let Some((label, instruction)) = header.split_once("] ") else { return };
        if self.builder != Some(Builder::Buildkit) || self.known_vertex_reused(vertex, instruction) {
            self.new_build(Builder::Buildkit);
        }
        if self.steps.iter().any(|s| s.vertex == vertex) || self.other_vertices.contains(&vertex) {
            return; // a progress header repeated while the step runs
        }
        // A step's label ends in "i/m" (`2/8`, ` 5/20` padded, `builder 2/8`); `internal`, `auth`
        // and the like do not.
        let trimmed = label.trim();
        let (stage, numbers) = match trimmed.rsplit_once(' ') {
            Some((stage, numbers)) => (Some(stage.trim().to_owned()).filter(|s| !s.is_empty()), numbers),
            None => (None, trimmed),
        };
        let Some((index, total)) = numbers.split_once('/').and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
        else {
            if self.other_vertices.len() < MAX_STEPS {
                self.other_vertices.push(vertex);
            }
            return;
        };
        self.track(vertex, stage, Some(index), Some(total), instruction, format!("[{label}]"));
    }

    /// A vertex number seen before with another instruction: BuildKit numbers each build from #0/#1.
    fn known_vertex_reused(&self, vertex: u32, instruction: &str) -> bool {
        let resolved = |s: &&Open| s.step.outcome != StepOutcome::Unfinished;
        self.steps.iter().filter(resolved).any(|s| s.vertex == vertex && s.step.instruction != cut(instruction))
            || (vertex <= 1 && self.steps.iter().any(|s| resolved(&s)))
    }

    fn classic_step(&mut self, rest: &str) {
        // "5/19 : COPY requirements.txt ." (or "5 : ..." before Docker 1.13)
        let Some((numbers, instruction)) = rest.split_once(" : ") else { return };
        let (n, total) = match numbers.split_once('/') {
            Some((n, total)) => (n.trim().parse::<u32>(), total.trim().parse::<u32>().ok()),
            None => (numbers.trim().parse::<u32>(), None),
        };
        let Ok(n) = n else { return };
        if self.builder != Some(Builder::Classic) || n == 1 {
            self.new_build(Builder::Classic);
        }
        self.finish_classic_step();
        let label = match total {
            Some(total) => format!("Step {n}/{total}"),
            None => format!("Step {n}"),
        };
        self.track(n, None, Some(n), total, instruction, label);
    }

    fn classic_arrow(&mut self, text: &str) {
        if self.builder != Some(Builder::Classic) {
            return;
        }
        let Some(step) = self.steps.last_mut().filter(|s| s.step.outcome == StepOutcome::Unfinished) else { return };
        if text == "Using cache" {
            let vertex = step.vertex;
            self.resolve(vertex, StepOutcome::Cached, None);
        } else {
            step.ran = true;
        }
    }

    /// A classic step ends where the next begins: it ran unless it said "Using cache"; a FROM, and a
    /// step that printed nothing (an ARG before FROM), made no layer of its own.
    fn finish_classic_step(&mut self) {
        let Some(open) = self.steps.last().filter(|s| s.step.outcome == StepOutcome::Unfinished) else { return };
        let outcome = if open.step.from || !open.ran { StepOutcome::Cached } else { StepOutcome::Rebuilt };
        let vertex = open.vertex;
        self.resolve(vertex, outcome, None);
    }

    fn track(
        &mut self,
        vertex: u32,
        stage: Option<String>,
        index: Option<u32>,
        total: Option<u32>,
        instruction: &str,
        label: String,
    ) {
        if self.steps.len() >= MAX_STEPS {
            self.unfinished += 1;
            return;
        }
        let step = Step {
            label,
            instruction: cut(instruction),
            from: is_from(instruction),
            outcome: StepOutcome::Unfinished,
            millis: None,
        };
        self.steps.push(Open { vertex, stage, index, total, step, ran: false, downloaded: false });
    }

    fn resolve(&mut self, vertex: u32, outcome: StepOutcome, millis: Option<u64>) {
        let Some(open) =
            self.steps.iter_mut().find(|s| s.vertex == vertex && s.step.outcome == StepOutcome::Unfinished)
        else {
            return;
        };
        // A FROM pulls or reuses the base image: never a rebuild.
        open.step.outcome = if open.step.from { StepOutcome::Cached } else { outcome };
        open.step.millis = millis;
        if open.step.from {
            return;
        }
        match outcome {
            StepOutcome::Cached => self.cached += 1,
            StepOutcome::Remote => {
                self.cached += 1;
                self.remote += 1;
            }
            StepOutcome::Rebuilt | StepOutcome::Failed => self.rebuilt += 1,
            StepOutcome::Unfinished => {}
        }
    }

    /// Closes the current build: its steps grouped by stage, the decisive group kept.
    fn close_build(&mut self) {
        if self.builder == Some(Builder::Classic) && self.steps.last().is_some_and(|s| s.ran) {
            self.finish_classic_step();
        }
        let mut steps = std::mem::take(&mut self.steps);
        self.other_vertices.clear();
        // A FROM is never a rebuild; a build that went past it had its base image.
        for open in steps.iter_mut().filter(|s| s.step.from && s.step.outcome == StepOutcome::Unfinished) {
            open.step.outcome = StepOutcome::Cached;
        }
        self.unfinished +=
            steps.iter().filter(|s| s.step.outcome == StepOutcome::Unfinished && !s.step.from).count() as u32;
        let mut groups: Vec<StepGroup> = Vec::new();
        // The builder's order within each stage: by step number.
        steps.sort_by_key(|s| s.index);
        for open in steps {
            let group = match groups.iter_mut().position(|g| g.stage == open.stage) {
                Some(i) => &mut groups[i],
                None => {
                    groups.push(StepGroup {
                        build: self.builds,
                        stage: open.stage.clone(),
                        total: None,
                        millis: 0,
                        steps: vec![],
                    });
                    groups.last_mut().expect("just pushed")
                }
            };
            group.total = group.total.max(open.total);
            group.millis += open.step.millis.unwrap_or(0);
            group.steps.push(open.step);
        }
        for group in groups {
            for finding in layer_order::find(&group) {
                let seen = self
                    .order
                    .iter()
                    .any(|f| (f.mistake, &f.step, &f.stage) == (finding.mistake, &finding.step, &finding.stage));
                if self.order.len() < MAX_ORDER_FINDINGS && !seen {
                    self.order.push(finding);
                }
            }
            if self.decisive.as_ref().is_none_or(|d| group.weight() > d.weight()) {
                self.decisive = Some(group);
            }
        }
    }

    fn new_build(&mut self, builder: Builder) {
        self.close_build();
        self.builder = Some(builder);
        self.builds += 1;
    }

    /// What the log showed; None when it showed no Docker build step at all.
    pub fn finish(mut self) -> Option<DockerReuse> {
        self.close_build();
        let builder = self.builder?;
        let decisive = self.decisive?;
        Some(DockerReuse {
            builder,
            builds: self.builds,
            cached: self.cached,
            remote: self.remote,
            rebuilt: self.rebuilt,
            unfinished: self.unfinished,
            cache_from: self.cache_from,
            decisive,
            order: self.order,
        })
    }
}

fn is_from(instruction: &str) -> bool {
    instruction.trim_start().get(..5).is_some_and(|w| w.eq_ignore_ascii_case("FROM "))
}

fn cut(instruction: &str) -> String {
    let text = instruction.trim();
    match text.char_indices().nth(NAME_LIMIT) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_owned(),
    }
}

/// The line without ANSI escape sequences (`ESC [ ... letter`), as BuildKit colours its output.
pub(crate) fn strip_ansi(line: &str) -> std::borrow::Cow<'_, str> {
    if !line.contains('\u{1b}') {
        return std::borrow::Cow::Borrowed(line);
    }
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
#[path = "docker_steps_tests.rs"]
mod tests;
