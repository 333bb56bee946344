//! Errors name their cause and exit 2, never with a panic or a backtrace.

use crate::support::{Run, command, run};

fn run_without(vars: &[&str], extra: &[(&str, &str)], args: &[&str]) -> Run {
    let mut cmd = command(args);
    for var in vars {
        cmd.env_remove(var);
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.output().expect("run").into()
}

#[test]
fn no_credentials() {
    let out = run_without(
        &["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"],
        &[
            ("AWS_CONFIG_FILE", "/dev/null"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
        &["audit"],
    );
    out.assert_clean_error();
    assert!(out.stderr.contains("no AWS credentials"), "{out:?}");
}

#[test]
fn no_region_and_an_invalid_region() {
    let out = run_without(&["AWS_REGION", "AWS_DEFAULT_REGION"], &[("AWS_CONFIG_FILE", "/dev/null")], &["report"]);
    out.assert_clean_error();
    assert!(out.stderr.contains("no AWS region") && out.stderr.contains("--region"), "{out:?}");
    let out = run(&["--region", "mumbai", "audit"]);
    out.assert_clean_error();
    assert!(out.stderr.contains("\"mumbai\" is not an AWS region name"), "{out:?}");
}

#[test]
fn an_unreachable_endpoint_names_the_call() {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    let out = run_without(&[], &[("AWS_ENDPOINT_URL", "http://127.0.0.1:1")], &["--bucket", "b-1", "report"]);
    out.assert_clean_error();
    assert!(out.stderr.contains("cannot reach AWS for codebuild:ListProjects"), "{out:?}");
}

#[test]
fn configuration_errors_name_the_variable_and_the_flag() {
    let out = run(&["prune", "--set", "PRUNE_KEEP_NEWEST=0"]);
    out.assert_clean_error();
    assert!(out.stderr.contains("PRUNE_KEEP_NEWEST") && out.stderr.contains("(set by --set)"), "{out:?}");
    let out = run_without(&[], &[("PRUNE_MAX_AGE_DAYS", "soon")], &["prune"]);
    out.assert_clean_error();
    assert!(out.stderr.contains("PRUNE_MAX_AGE_DAYS") && !out.stderr.contains("set by"), "{out:?}");
    let out = run(&["--bucket", "Not_A_Bucket", "audit"]);
    out.assert_clean_error();
    assert!(out.stderr.contains("CACHE_BUCKET") && out.stderr.contains("(set by --bucket)"), "{out:?}");
    let out = run(&["--set", "PRUNE_KEEP=3", "prune"]);
    out.assert_clean_error();
    assert!(out.stderr.contains("PRUNE_KEEP: not a variable"), "{out:?}");
}

#[test]
fn usage_errors_exit_2() {
    let out = run(&["report", "--builds", "0"]);
    assert_eq!(out.code, 2, "{out:?}");
    let out = run(&["frobnicate"]);
    assert_eq!(out.code, 2, "{out:?}");
}
