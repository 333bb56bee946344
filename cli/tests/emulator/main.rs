//! The `cache-sentinel` binary against the local emulator (`scripts/test.sh` starts it and sets
//! AWS_ENDPOINT_URL): each command's human output (byte-exact snapshots with the clock fixed), its
//! JSON, its exit codes, the `--apply` paths, an interrupted prune that resumes, and the errors.

mod across;
mod audit;
mod errors;
mod heal;
mod prune;
mod report;
mod support;
