//! template.yaml passes cfn-lint (no errors, warnings or informational findings) and the checkov
//! security scan, both as written and after the SAM transform (what CloudFormation deploys). The
//! tools live in the project's `.venv` (`bash scripts/lint-install.sh`); a missing tool fails.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf()
}

fn tool(name: &str) -> PathBuf {
    let path = root().join(".venv/bin").join(name);
    assert!(path.exists(), "{} is missing: run `bash scripts/lint-install.sh`", path.display());
    path
}

fn report(what: &str, out: &Output) -> String {
    format!(
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The SAM-transformed template, written to a file the tools can read.
fn transformed_template(name: &str) -> PathBuf {
    let out = Command::new(tool("python"))
        .arg(root().join("scripts/template_json.py"))
        .arg("--transform")
        .arg(root().join("template.yaml"))
        .output()
        .expect("run scripts/template_json.py");
    assert!(out.status.success(), "{}", report("scripts/template_json.py --transform", &out));
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, &out.stdout).expect("write transformed template");
    path
}

fn cfn_lint(template: &Path) {
    // Exit status 0 only when there is no error (2), warning (4) or informational (8) finding.
    let out = Command::new(tool("cfn-lint")).arg(template).output().expect("run cfn-lint");
    assert!(out.status.success(), "{}", report(&format!("cfn-lint {}", template.display()), &out));
}

fn checkov(template: &Path) {
    // --skip-download: no call to the vendor's platform (there is no network in CI anyway).
    let out = Command::new(tool("checkov"))
        .args(["--framework", "cloudformation", "--skip-download", "--quiet", "--compact", "--file"])
        .arg(template)
        .output()
        .expect("run checkov");
    assert!(out.status.success(), "{}", report(&format!("checkov {}", template.display()), &out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Failed checks: 0"), "checkov scanned nothing or reported failures:\n{stdout}");
}

#[test]
fn cfn_lint_passes_on_the_template() {
    cfn_lint(&root().join("template.yaml"));
}

#[test]
fn cfn_lint_passes_on_the_transformed_template() {
    // cfn-lint 1.x does not run the SAM transform: references to generated resources (the rules
    // in DeadLetterQueuePolicy) are only checked here.
    cfn_lint(&transformed_template("template-lint-cfn.json"));
}

#[test]
fn checkov_passes_on_the_template() {
    checkov(&root().join("template.yaml"));
}

#[test]
fn checkov_passes_on_the_transformed_template() {
    checkov(&transformed_template("template-lint-checkov.json"));
}

#[test]
fn every_skipped_security_check_says_why() {
    let out = Command::new(tool("python"))
        .arg(root().join("scripts/template_json.py"))
        .arg(root().join("template.yaml"))
        .output()
        .expect("run scripts/template_json.py");
    assert!(out.status.success(), "{}", report("scripts/template_json.py", &out));
    let template: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let mut skips = 0;
    for (id, resource) in template["Resources"].as_object().expect("Resources") {
        for skip in resource["Metadata"]["checkov"]["skip"].as_array().into_iter().flatten() {
            let check = skip["id"].as_str().unwrap_or_else(|| panic!("{id}: checkov skip without id"));
            let reason = skip["comment"].as_str().unwrap_or_default();
            assert!(
                reason.split_whitespace().count() >= 8,
                "{id}: skip of {check} needs a real reason, got {reason:?}"
            );
            skips += 1;
        }
    }
    assert!(skips > 0, "no checkov skips found: has the Metadata layout changed?");
}
