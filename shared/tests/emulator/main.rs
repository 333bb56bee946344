//! Integration tests against the local emulator (moto in server mode with the harness's additions,
//! started by `scripts/test.sh`). One test binary: each links the AWS SDKs, and on two cores linking
//! dominates the build.

mod backdating;
mod bad_input;
mod bucket_elsewhere;
mod central_notices;
mod codebuild_builds;
mod codebuild_listings;
mod concurrency;
mod corpus;
mod digest;
mod documented_events;
mod fake_s3_drift;
mod fault_proxy;
mod fault_tolerance;
mod guard;
mod guard_awareness;
mod guard_concurrency;
mod guard_findings;
mod guard_kms;
mod guard_look;
mod guard_loops;
mod guard_owner;
mod guard_support;
mod monitor;
mod monitor_evidence;
mod monitor_findings;
mod monitor_once;
mod monitor_repeat;
mod pruner;
mod pruner_buildkit;
mod pruner_deployments;
mod pruner_findings;
mod pruner_lease;
mod pruner_runs;
mod pruner_scope;
mod pruner_shared;
mod s3_concurrency;
mod s3_regions;
mod securityhub;
mod simulate_principal_policy;
mod sts_assume_role;
mod template_consistency;
mod template_iam;
mod test_event_pattern;
mod update_project;
