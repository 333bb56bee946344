//! Docker layer reuse, read from the build log line by line: BuildKit's plain progress (`#6 [2/8]
//! WORKDIR /app`, then `#6 CACHED` or `#6 DONE 0.1s`) and the classic builder (`Step 2/8 : WORKDIR
//! /app`, then ` ---> Using cache` or ` ---> Running in ...`). Pure and streaming: it keeps one small
//! record per step (at most `MAX_STEPS`), never the log.
//!
//! A step is a Dockerfile instruction other than FROM (FROM pulls the base image: neither cached
//! nor rebuilt by the layer cache). Several builds in one log add up.

use serde::Serialize;

/// Steps tracked per log; more are counted as untracked (a Dockerfile has tens of steps).
pub const MAX_STEPS: usize = 2_000;
/// Step names are cut to this many characters.
const NAME_LIMIT: usize = 120;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Builder {
    Buildkit,
    Classic,
}

/// What the Docker builds of one log did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DockerReuse {
    pub builder: Builder,
    /// Docker builds seen in the log.
    pub builds: u32,
    pub cached: u32,
    pub rebuilt: u32,
    /// Steps whose outcome the log does not show (still running when the log ends, or beyond the
    /// part read).
    pub unfinished: u32,
    /// The first step (in Dockerfile order) that was not taken from the cache: where the cache broke.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_rebuilt: Option<String>,
}

impl DockerReuse {
    /// Cached steps in percent of the steps with a known outcome.
    pub fn cached_percent(&self) -> Option<u32> {
        let known = self.cached + self.rebuilt;
        (known > 0).then(|| self.cached * 100 / known)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Pending,
    Cached,
    Rebuilt,
}

#[derive(Debug, Clone)]
struct Step {
    /// BuildKit vertex number (`#N`), or the classic step number.
    vertex: u32,
    name: String,
    outcome: Outcome,
    /// A classic step that printed ` ---> ...` without "Using cache" ran.
    ran: bool,
}

/// The streaming tracker.
#[derive(Debug, Default)]
pub struct DockerSteps {
    builder: Option<Builder>,
    builds: u32,
    /// Steps of the current build, in the order their headers appeared.
    steps: Vec<Step>,
    /// Vertices of the current build that are not steps (`[internal]`, FROM, exporting): their
    /// numbers, so that a reused number can be told from a new build.
    other_vertices: Vec<u32>,
    cached: u32,
    rebuilt: u32,
    unfinished: u32,
    untracked: u32,
    first_rebuilt: Option<String>,
}

impl DockerSteps {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads one log line (without its line break).
    pub fn line(&mut self, line: &str) {
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
            self.resolve(vertex, Outcome::Cached);
        } else if body.starts_with("DONE") || body.starts_with("ERROR") {
            self.resolve(vertex, Outcome::Rebuilt);
        }
    }

    fn buildkit_header(&mut self, vertex: u32, header: &str) {
        let Some((label, instruction)) = header.split_once("] ") else { return };
        if self.builder != Some(Builder::Buildkit) || self.known_vertex_reused(vertex, instruction) {
            self.new_build(Builder::Buildkit);
        }
        // A step's label ends in "n/m" (`2/8`, `builder 2/8`); `internal`, `auth` and the like do not.
        let numbered = label.rsplit(' ').next().is_some_and(|n| {
            n.split_once('/').is_some_and(|(a, b)| a.parse::<u32>().is_ok() && b.parse::<u32>().is_ok())
        });
        if self.steps.iter().any(|s| s.vertex == vertex) || self.other_vertices.contains(&vertex) {
            return; // a progress header repeated while the step runs
        }
        if !numbered || is_from(instruction) {
            if self.other_vertices.len() < MAX_STEPS {
                self.other_vertices.push(vertex);
            }
            return;
        }
        self.track(vertex, instruction);
    }

    /// A vertex number seen before with another instruction: BuildKit numbers each build from #0/#1.
    fn known_vertex_reused(&self, vertex: u32, instruction: &str) -> bool {
        self.steps.iter().any(|s| s.vertex == vertex && s.outcome != Outcome::Pending && s.name != cut(instruction))
            || (vertex <= 1 && self.steps.iter().any(|s| s.outcome != Outcome::Pending))
    }

    fn classic_step(&mut self, rest: &str) {
        // "5/19 : COPY requirements.txt ."
        let Some((numbers, instruction)) = rest.split_once(" : ") else { return };
        let Some((n, _)) = numbers.split_once('/') else { return };
        let Ok(n) = n.trim().parse::<u32>() else { return };
        if self.builder != Some(Builder::Classic) || n == 1 {
            self.new_build(Builder::Classic);
        }
        self.finish_classic_step();
        if !is_from(instruction) {
            self.track(n, instruction);
        }
    }

    fn classic_arrow(&mut self, text: &str) {
        if self.builder != Some(Builder::Classic) {
            return;
        }
        let Some(step) = self.steps.last_mut().filter(|s| s.outcome == Outcome::Pending) else { return };
        if text == "Using cache" {
            let vertex = step.vertex;
            self.resolve(vertex, Outcome::Cached);
        } else {
            step.ran = true;
        }
    }

    /// A classic step ends where the next begins; it ran unless it said "Using cache".
    fn finish_classic_step(&mut self) {
        if let Some(step) = self.steps.last().filter(|s| s.outcome == Outcome::Pending && s.ran) {
            let vertex = step.vertex;
            self.resolve(vertex, Outcome::Rebuilt);
        }
    }

    fn track(&mut self, vertex: u32, instruction: &str) {
        if self.steps.len() >= MAX_STEPS {
            self.untracked += 1;
            return;
        }
        self.steps.push(Step { vertex, name: cut(instruction), outcome: Outcome::Pending, ran: false });
    }

    fn resolve(&mut self, vertex: u32, outcome: Outcome) {
        let Some(step) = self.steps.iter_mut().find(|s| s.vertex == vertex && s.outcome == Outcome::Pending) else {
            return;
        };
        step.outcome = outcome;
        match outcome {
            Outcome::Cached => self.cached += 1,
            Outcome::Rebuilt => self.rebuilt += 1,
            Outcome::Pending => {}
        }
    }

    /// Closes the current build: its first rebuilt step in Dockerfile order, its unfinished steps.
    fn close_build(&mut self) {
        if self.builder == Some(Builder::Classic) {
            self.finish_classic_step();
        }
        if self.first_rebuilt.is_none() {
            self.first_rebuilt = self.steps.iter().find(|s| s.outcome == Outcome::Rebuilt).map(|s| s.name.clone());
        }
        self.unfinished += self.steps.iter().filter(|s| s.outcome == Outcome::Pending).count() as u32;
        self.steps.clear();
        self.other_vertices.clear();
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
        (self.cached + self.rebuilt + self.unfinished + self.untracked > 0).then_some(DockerReuse {
            builder,
            builds: self.builds,
            cached: self.cached,
            rebuilt: self.rebuilt,
            unfinished: self.unfinished + self.untracked,
            first_rebuilt: self.first_rebuilt,
        })
    }
}

fn is_from(instruction: &str) -> bool {
    instruction.get(..5).is_some_and(|w| w.eq_ignore_ascii_case("FROM "))
}

fn cut(instruction: &str) -> String {
    let text = instruction.trim();
    match text.char_indices().nth(NAME_LIMIT) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(log: &str) -> Option<DockerReuse> {
        let mut steps = DockerSteps::new();
        log.lines().for_each(|l| steps.line(l));
        steps.finish()
    }

    #[test]
    fn buildkit_cached_and_done_steps() {
        let r = scan(
            "#0 building with \"default\" instance using docker driver\n\n#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n\n#4 [1/5] FROM docker.io/library/python:3.11@sha256:abc\n#4 DONE 0.0s\n\n#5 [2/5] WORKDIR /app\n#5 CACHED\n\n#6 [3/5] COPY requirements.txt .\n#6 DONE 0.1s\n\n#7 [4/5] RUN pip install -r requirements.txt\n#7 0.512 Collecting torch\n#7 DONE 41.3s\n\n#8 [5/5] COPY . .\n#8 DONE 0.2s\n\n#9 exporting to image\n#9 DONE 1.0s\n",
        )
        .unwrap();
        assert_eq!((r.builder, r.builds, r.cached, r.rebuilt, r.unfinished), (Builder::Buildkit, 1, 1, 3, 0));
        assert_eq!(r.first_rebuilt.as_deref(), Some("COPY requirements.txt ."));
        assert_eq!(r.cached_percent(), Some(25));
    }

    #[test]
    fn buildkit_interleaved_progress_and_repeated_headers() {
        let r = scan(
            "#5 [builder 2/3] RUN make\n#6 [stage-1 2/2] COPY --from=builder /out /app\n#5 1.2 compiling\n#5 [builder 2/3] RUN make\n#5 CACHED\n#6 ERROR: failed to copy\n#7 [builder 3/3] RUN strip /out\n",
        )
        .unwrap();
        assert_eq!((r.cached, r.rebuilt, r.unfinished), (1, 1, 1));
        assert_eq!(r.first_rebuilt.as_deref(), Some("COPY --from=builder /out /app"));
    }

    #[test]
    fn two_buildkit_builds_add_up() {
        let one = "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n#5 [2/2] RUN a\n#5 CACHED\n";
        let two = "#1 [internal] load build definition from Dockerfile\n#1 DONE 0.0s\n#5 [2/2] RUN b\n#5 DONE 3.0s\n";
        let r = scan(&format!("{one}{two}")).unwrap();
        assert_eq!((r.builds, r.cached, r.rebuilt), (2, 1, 1));
        assert_eq!(r.first_rebuilt.as_deref(), Some("RUN b"));
    }

    #[test]
    fn classic_builder_using_cache() {
        let r = scan(
            "Sending build context to Docker daemon  1.2MB\nStep 1/5 : FROM python:3.11\n ---> 5f1ab1e3b0c4\nStep 2/5 : WORKDIR /app\n ---> Using cache\n ---> 9c2f4d1a77e0\nStep 3/5 : COPY requirements.txt .\n ---> 7a1d2e3f4b5c\nStep 4/5 : RUN pip install -r requirements.txt\n ---> Running in 3e4f5a6b7c8d\nCollecting torch\nRemoving intermediate container 3e4f5a6b7c8d\n ---> 0d9e8f7a6b5c\nStep 5/5 : COPY . .\n ---> 1a2b3c4d5e6f\nSuccessfully built 1a2b3c4d5e6f\n",
        )
        .unwrap();
        assert_eq!((r.builder, r.cached, r.rebuilt, r.unfinished), (Builder::Classic, 1, 3, 0));
        assert_eq!(r.first_rebuilt.as_deref(), Some("COPY requirements.txt ."));
    }

    #[test]
    fn a_log_cut_mid_step_leaves_it_unfinished() {
        let r = scan("Step 1/3 : FROM x\n ---> 1\nStep 2/3 : RUN a\n ---> Using cache\nStep 3/3 : RUN b\n").unwrap();
        assert_eq!((r.cached, r.rebuilt, r.unfinished), (1, 0, 1));
        assert_eq!(r.first_rebuilt, None);
    }

    #[test]
    fn no_docker_build_is_none() {
        assert_eq!(scan("[Container] 2026/11/20 09:15:03.1 Entering phase BUILD\n#not a step\nStep right up\n"), None);
    }

    #[test]
    fn names_are_cut_and_steps_bounded() {
        let long = "x".repeat(500);
        let r = scan(&format!("#2 [2/2] RUN {long}\n#2 DONE 1.0s\n")).unwrap();
        assert!(r.first_rebuilt.unwrap().chars().count() <= NAME_LIMIT + 3);
        let mut log = String::new();
        for i in 0..(MAX_STEPS as u32 + 10) {
            log.push_str(&format!("#{} [{}/9999] RUN step\n", i + 2, i + 2));
        }
        let r = scan(&log).unwrap();
        assert_eq!(r.unfinished, MAX_STEPS as u32 + 10);
    }
}
