//! The docs held to the code where that is cheap: every variable the configuration reads is in
//! docs/configuration.md and every one there is read; every template parameter is there and every
//! one there is in the template; every variable the code looks up by name is documented; the
//! README stays a front door (about 12 KB) that links every docs page.

use crate::config::Env;
use crate::guard::GuardConfig;
use crate::monitor::MonitorConfig;
use crate::pruner::PrunerConfig;
use std::cell::RefCell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// An environment that is empty and remembers every name asked for.
#[derive(Default)]
struct Recording(RefCell<BTreeSet<String>>);

impl Env for Recording {
    fn var(&self, name: &str) -> Option<String> {
        self.0.borrow_mut().insert(name.to_owned());
        None
    }
}

/// The first cells (`` `NAME` ``) of the rows of every table in `markdown` whose header's first
/// cell is `header`.
fn first_cells(markdown: &str, header: &str) -> BTreeSet<String> {
    let mut cells = BTreeSet::new();
    let mut in_table = false;
    for line in markdown.lines() {
        let Some(row) = line.trim().strip_prefix('|') else {
            in_table = false;
            continue;
        };
        let first = row.split('|').next().unwrap_or_default().trim();
        if first == header {
            in_table = true;
        } else if in_table && !first.starts_with("---") {
            cells.insert(first.trim_matches('`').to_owned());
        }
    }
    cells
}

#[test]
fn every_variable_the_configuration_reads_is_documented_and_every_documented_one_is_read() {
    let env = Recording::default();
    // Each reader with nothing set: every variable is asked for, defaults apply.
    GuardConfig::from_env(&env).expect("the guard's defaults");
    PrunerConfig::from_env(&env).expect("the pruner's defaults");
    MonitorConfig::from_env(&env).expect("the monitor's defaults");
    let read = env.0.into_inner();
    let listed: BTreeSet<String> = [GuardConfig::variables(), PrunerConfig::variables(), MonitorConfig::variables()]
        .concat()
        .into_iter()
        .map(str::to_owned)
        .collect();
    // `variables()` is what the template and `cache-sentinel --set` go by: it must name every read.
    let unlisted: Vec<_> = read.difference(&listed).filter(|v| *v != "S3_FORCE_PATH_STYLE").collect();
    assert!(unlisted.is_empty(), "read but missing from a config's variables(): {unlisted:?}");

    let documented = first_cells(&read_docs_configuration(), "variable");
    let undocumented: Vec<_> = read.difference(&documented).collect();
    assert!(undocumented.is_empty(), "read by the code, not in docs/configuration.md's tables: {undocumented:?}");
    let unread: Vec<_> = documented.difference(&read).collect();
    assert!(unread.is_empty(), "in docs/configuration.md's tables, read by no function: {unread:?}");
}

fn read_docs_configuration() -> String {
    read("docs/configuration.md")
}

/// The top-level keys of the template's `Parameters:` section.
fn template_parameters(template: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut inside = false;
    for line in template.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            inside = line.trim_end() == "Parameters:";
            continue;
        }
        if inside
            && let Some(name) = line.strip_prefix("  ").and_then(|l| l.strip_suffix(':'))
            && !name.starts_with(' ')
        {
            names.insert(name.to_owned());
        }
    }
    names
}

#[test]
fn every_template_parameter_is_documented_and_every_documented_one_exists() {
    let parameters = template_parameters(&read("template.yaml"));
    assert!(parameters.len() >= 10 && parameters.contains("DryRun"), "the template's parameters: {parameters:?}");
    let documented = first_cells(&read_docs_configuration(), "parameter");
    let missing: Vec<_> = parameters.difference(&documented).collect();
    assert!(missing.is_empty(), "template parameters not in docs/configuration.md: {missing:?}");
    let stale: Vec<_> = documented.difference(&parameters).collect();
    assert!(stale.is_empty(), "in docs/configuration.md, not parameters of template.yaml: {stale:?}");
}

/// Every `env::var("NAME")` / `env::var_os("NAME")` in the sources under `dir`.
fn names_looked_up(dir: &Path, names: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            names_looked_up(&path, names);
        } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("docs_tests.rs") {
            let text = std::fs::read_to_string(&path).expect("source");
            for call in ["env::var(\"", "env::var_os(\""] {
                for (at, _) in text.match_indices(call) {
                    let rest = &text[at + call.len()..];
                    if let Some(end) = rest.find('"') {
                        names.insert(rest[..end].to_owned());
                    }
                }
            }
        }
    }
}

#[test]
fn every_variable_the_code_looks_up_by_name_is_documented() {
    let mut names = BTreeSet::new();
    for dir in ["shared/src", "cli/src", "functions"] {
        names_looked_up(&root().join(dir), &mut names);
    }
    assert!(names.contains("RUST_LOG") && names.contains("NO_COLOR"), "the scan found {names:?}");
    // For the people who run it (configuration.md), or for the people who test it (testing.md).
    let docs = read_docs_configuration() + &read("docs/testing.md");
    // A code span starting with the name: `NAME` or `NAME=1 bash scripts/test.sh`.
    let missing: Vec<_> = names.iter().filter(|n| !docs.contains(&format!("`{n}"))).collect();
    assert!(
        missing.is_empty(),
        "looked up in the code, in neither docs/configuration.md nor docs/testing.md: {missing:?}"
    );
}

#[test]
fn the_readme_is_a_front_door_that_links_every_docs_page() {
    let readme = read("README.md");
    assert!(readme.len() <= 12 * 1024, "README.md is {} bytes: move reference text into docs/", readme.len());
    for entry in std::fs::read_dir(root().join("docs")).expect("docs/") {
        let name = entry.expect("entry").file_name().to_string_lossy().into_owned();
        if name.ends_with(".md") {
            assert!(readme.contains(&format!("](docs/{name})")), "README.md does not link docs/{name}");
        }
    }
    // The two set-up commands, exactly.
    assert!(readme.contains("bash scripts/demo.sh") && readme.contains("bash scripts/test.sh"));
}

#[test]
fn the_tables_are_read_by_their_header() {
    let md = "| variable | default |\n|---|---|\n| `A_B` | 1 |\n\n| parameter | x |\n|---|---|\n| `P` | 2 |\n";
    assert_eq!(first_cells(md, "variable"), BTreeSet::from(["A_B".to_owned()]));
    assert_eq!(first_cells(md, "parameter"), BTreeSet::from(["P".to_owned()]));
    let yaml = "Parameters:\n  One:\n    Type: String\n  Two:\n    Default: x\nConditions:\n  Three: x\n";
    assert_eq!(template_parameters(yaml), BTreeSet::from(["One".to_owned(), "Two".to_owned()]));
}
