//! Integration tests against the local emulator (moto in server mode with the harness's additions,
//! started by `scripts/test.sh`). One test binary: each links the AWS SDKs, and on two cores linking
//! dominates the build.

mod backdating;
mod bad_input;
mod concurrency;
mod documented_events;
mod fault_proxy;
mod fault_tolerance;
mod guard;
mod monitor;
mod pruner;
mod template_consistency;
mod test_event_pattern;
mod update_project;
