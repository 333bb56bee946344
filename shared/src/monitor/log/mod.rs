//! Reading a build's log: what it says, never what to conclude. `build_log` streams the log and
//! reads CodeBuild's own lines (the S3 cache's restore and upload, buildspecs without cache paths);
//! `docker_steps` reads Docker's steps in the builder's own numbering (BuildKit and the classic
//! builder), and which build or stage decides; `layer_change` says what kind of change the first
//! rebuilt step shows (a dependency step, a step after them, nothing rebuilt, nothing cached);
//! `layer_order` finds the Dockerfile lines that defeat the cache (a broad COPY before an install,
//! `apt-get update` apart, a per-build value before an install), each build and stage apart;
//! `causes` names what broke the cache in the tools' own lines (a registry or S3 cache export
//! refused, buildx's docker driver, Docker Hub's pull limit, a full disk); `cache_cost` times the
//! cache's own work (restore, upload, import, export, docker load and save).

pub mod build_log;
pub mod cache_cost;
pub mod causes;
pub mod docker_steps;
pub mod layer_change;
pub mod layer_order;
