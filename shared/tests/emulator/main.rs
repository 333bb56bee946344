//! Integration tests against the local emulator (moto in server mode with the harness's additions,
//! started by `scripts/test.sh`). One test binary: each links the AWS SDKs, and on two cores linking
//! dominates the build.

mod backdating;
mod guard;
mod monitor;
mod pruner;
mod pruner_runs;
mod pruner_scope;
mod s3_concurrency;
mod template_consistency;
mod test_event_pattern;
mod update_project;
