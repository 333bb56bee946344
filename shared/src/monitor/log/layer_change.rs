//! What kind of change a Docker build log shows: which layer was the first one rebuilt, and whether
//! it is a dependency step (a COPY of a dependency manifest, a RUN of a package manager's install).
//! Every step before the first rebuilt one was reused, so:
//! - nothing rebuilt: no change;
//! - the first rebuilt step is a dependency step: a requirements change;
//! - it comes after the dependency steps (which were reused): an application-code change;
//! - it comes before the dependency steps: the layer order makes any change reinstall them (kind
//!   unknown, advice to reorder);
//! - not one step before it was reused: the cache did not work (or the Dockerfile's first step
//!   changed).
//!
//! The group of steps that decides (`docker_steps`: the build or stage that ran longest) is read
//! in the builder's order; FROM is left out (it is never rebuilt). Pure.

use super::docker_steps::{Step, StepGroup, StepOutcome};
use serde::Serialize;

/// Files whose change is a change of requirements (compared by file name, `*` a wildcard).
const DEPENDENCY_FILES: &[&str] = &[
    "requirements*.txt",
    "requirements*.in",
    "constraints*.txt",
    "pyproject.toml",
    "poetry.lock",
    "pdm.lock",
    "uv.lock",
    "Pipfile",
    "Pipfile.lock",
    "setup.py",
    "setup.cfg",
    "environment*.yml",
    "environment*.yaml",
    "conda-lock.yml",
    "package.json",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    ".yarnrc.yml",
    "go.mod",
    "go.sum",
    "Cargo.toml",
    "Cargo.lock",
    "Gemfile",
    "Gemfile.lock",
    "composer.json",
    "composer.lock",
    "pom.xml",
    "build.gradle",
    "build.gradle.kts",
    "gradle.lockfile",
    "packages.lock.json",
    "mix.exs",
    "mix.lock",
];

/// Commands that install dependencies (matched as words in a RUN).
const INSTALL_COMMANDS: &[&[&str]] = &[
    &["pip", "install"],
    &["pip3", "install"],
    &["-m", "pip", "install"],
    &["pip", "sync"],
    &["pip-sync"],
    &["poetry", "install"],
    &["pipenv", "install"],
    &["pipenv", "sync"],
    &["uv", "sync"],
    &["uv", "pip", "install"],
    &["pdm", "install"],
    &["conda", "install"],
    &["conda", "env"],
    &["mamba", "install"],
    &["micromamba", "install"],
    &["npm", "ci"],
    &["npm", "install"],
    &["npm", "i"],
    &["yarn", "install"],
    &["pnpm", "install"],
    &["apt-get", "install"],
    &["apt", "install"],
    &["apk", "add"],
    &["yum", "install"],
    &["dnf", "install"],
    &["microdnf", "install"],
    &["go", "mod", "download"],
    &["cargo", "fetch"],
    &["bundle", "install"],
    &["composer", "install"],
    &["mvn", "dependency:go-offline"],
];

/// Whether a Dockerfile instruction (as the log prints it, `COPY requirements.txt .`) installs or
/// brings in dependencies.
pub fn is_dependency_step(instruction: &str) -> bool {
    let mut words = instruction.split_whitespace();
    let Some(verb) = words.next() else { return false };
    match verb.to_ascii_uppercase().as_str() {
        "COPY" | "ADD" => {
            let args: Vec<&str> = words.filter(|w| !w.starts_with("--")).collect();
            // The last argument is the destination; a JSON-array form is split the same way.
            let sources = args.split_last().map(|(_, s)| s).unwrap_or(&[]);
            sources.iter().any(|s| {
                let s = s.trim_matches(|c| matches!(c, '[' | ']' | '"' | ','));
                let name = s.rsplit('/').next().unwrap_or(s);
                DEPENDENCY_FILES.iter().any(|pattern| wildcard(pattern, name))
            })
        }
        "RUN" => {
            let words: Vec<String> = instruction
                .split(|c: char| c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')' | '"' | '\''))
                .filter(|w| !w.is_empty())
                .map(|w| w.rsplit('/').next().unwrap_or(w).to_owned())
                .collect();
            INSTALL_COMMANDS.iter().any(|command| words.windows(command.len()).any(|w| w == *command))
        }
        _ => false,
    }
}

/// `*` matches any run of characters; everything else itself.
fn wildcard(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => name.len() >= head.len() + tail.len() && name.starts_with(head) && name.ends_with(tail),
    }
}

/// What the first rebuilt layer says about the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerChange {
    /// Every step was reused.
    NothingRebuilt,
    /// The first rebuilt step is a dependency step, every step before it reused.
    Dependencies,
    /// The first rebuilt step comes after the (reused) dependency steps, or the Dockerfile has none.
    AfterDependencies,
    /// The first rebuilt step comes before the dependency steps, which were rebuilt with it.
    BeforeDependencies,
    /// No step before the first rebuilt one was reused: nothing came from the cache.
    NothingCached,
}

/// The change the log shows, and the words for the notice; None when the log does not tell (no
/// step, or a step before the first rebuilt one without an outcome).
pub fn layer_change(group: &StepGroup) -> Option<(LayerChange, String)> {
    let steps: Vec<&Step> = group.steps.iter().filter(|s| !s.from).collect();
    let Some(at) = steps.iter().position(|s| s.outcome.ran()) else {
        let all = !steps.is_empty() && steps.iter().all(|s| s.outcome.reused());
        return all.then(|| {
            (LayerChange::NothingRebuilt, format!("the Docker log shows every step cached ({})", group.summary()))
        });
    };
    let (before, first, after) = (&steps[..at], steps[at], &steps[at + 1..]);
    if before.iter().any(|s| s.outcome == StepOutcome::Unfinished) {
        return None;
    }
    let named = first.display();
    let dependency_before = before.iter().any(|s| is_dependency_step(&s.instruction));
    let dependency_after = after.iter().any(|s| is_dependency_step(&s.instruction));
    let found = if is_dependency_step(&first.instruction) {
        (
            LayerChange::Dependencies,
            format!(
                "the Docker log's first rebuilt step is a dependency step, {named}, with every step before it cached"
            ),
        )
    } else if before.is_empty() {
        (
            LayerChange::NothingCached,
            format!(
                "the Docker log shows no step cached before the first rebuilt one, {named}: the cache did not work"
            ),
        )
    } else if dependency_before || !dependency_after {
        let which = if dependency_before {
            "the dependency steps, which were cached"
        } else {
            "cached steps, and the Dockerfile has no dependency step"
        };
        (LayerChange::AfterDependencies, format!("the Docker log's first rebuilt step, {named}, comes after {which}"))
    } else {
        (
            LayerChange::BeforeDependencies,
            format!(
                "the Docker log's first rebuilt step, {named}, comes before the dependency steps, so they were rebuilt too: whatever changed, this layer order reinstalls the dependencies"
            ),
        )
    };
    Some(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::monitor::log::docker_steps::DockerSteps;

    fn change(log: &str) -> Option<LayerChange> {
        let mut steps = DockerSteps::new();
        log.lines().for_each(|l| steps.line(l));
        steps.finish().and_then(|d| layer_change(&d.decisive)).map(|(c, _)| c)
    }

    fn buildkit(outcomes: &[(&str, bool)]) -> String {
        let total = outcomes.len() + 1;
        let mut log = format!(
            "#0 building with \"default\" instance using docker driver\n#3 [1/{total}] FROM python:3.11\n#3 DONE 0.0s\n"
        );
        for (i, (step, cached)) in outcomes.iter().enumerate() {
            let v = i + 4;
            log.push_str(&format!(
                "#{v} [{}/{total}] {step}\n#{v} {}\n",
                i + 2,
                if *cached { "CACHED" } else { "DONE 1.0s" }
            ));
        }
        log
    }

    #[test]
    fn dependency_steps() {
        for yes in [
            "COPY requirements.txt .",
            "COPY --chown=app:app requirements-gpu.txt /app/",
            "COPY pyproject.toml poetry.lock ./",
            "ADD Pipfile Pipfile.lock /app/",
            "COPY [\"package.json\", \"yarn.lock\", \"./\"]",
            "COPY go.mod go.sum ./",
            "RUN pip install --no-cache-dir -r requirements.txt",
            "RUN python -m pip install -r requirements.txt",
            "RUN /opt/conda/bin/pip install torch",
            "RUN apt-get update && apt-get install -y ffmpeg",
            "RUN npm ci",
            "RUN poetry install --no-root",
            "RUN cargo fetch",
            "RUN bundle install",
            "RUN apk add --no-cache git",
        ] {
            assert!(is_dependency_step(yes), "{yes}");
        }
        for no in [
            "COPY . .",
            "COPY src/ /app/src/",
            "RUN python -m compileall .",
            "WORKDIR /app",
            "COPY --from=builder /out /app",
            "RUN echo pip",
        ] {
            assert!(!is_dependency_step(no), "{no}");
        }
    }

    #[test]
    fn the_first_rebuilt_layer_tells_the_change() {
        let deps = [
            ("WORKDIR /app", true),
            ("COPY requirements.txt .", true),
            ("RUN pip install -r requirements.txt", true),
            ("COPY . .", true),
        ];
        assert_eq!(change(&buildkit(&deps)), Some(LayerChange::NothingRebuilt));
        let mut app = deps;
        app[3].1 = false;
        assert_eq!(change(&buildkit(&app)), Some(LayerChange::AfterDependencies));
        let requirements = [
            deps[0],
            ("COPY requirements.txt .", false),
            ("RUN pip install -r requirements.txt", false),
            ("COPY . .", false),
        ];
        assert_eq!(change(&buildkit(&requirements)), Some(LayerChange::Dependencies));
        let nothing = [
            ("WORKDIR /app", false),
            ("COPY requirements.txt .", false),
            ("RUN pip install -r requirements.txt", false),
            ("COPY . .", false),
        ];
        assert_eq!(change(&buildkit(&nothing)), Some(LayerChange::NothingCached));
        let misordered = [("WORKDIR /app", true), ("COPY . .", false), ("RUN pip install -r requirements.txt", false)];
        assert_eq!(change(&buildkit(&misordered)), Some(LayerChange::BeforeDependencies));
        let no_deps = [("WORKDIR /app", true), ("COPY . .", false)];
        assert_eq!(change(&buildkit(&no_deps)), Some(LayerChange::AfterDependencies));
        assert_eq!(change("no docker here\n"), None);
    }

    #[test]
    fn the_words_name_the_step_as_the_log_numbers_it() {
        let mut steps = DockerSteps::new();
        buildkit(&[("WORKDIR /app", true), ("COPY requirements.txt .", false)]).lines().for_each(|l| steps.line(l));
        let (_, words) = layer_change(&steps.finish().unwrap().decisive).unwrap();
        assert!(words.contains("[3/3] COPY requirements.txt ."), "{words}");
    }
}
