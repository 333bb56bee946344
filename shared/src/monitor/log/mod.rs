//! Reading a build's log: what it says, never what to conclude. `build_log` streams the log and
//! reads CodeBuild's own lines (the S3 cache's restore and upload, buildspecs without cache paths);
//! `docker_steps` reads Docker's steps in the builder's own numbering (BuildKit and the classic
//! builder), and which build or stage decides; `layer_change` says what kind of change the first
//! rebuilt step shows (a dependency step, a step after them, nothing rebuilt, nothing cached).

pub mod build_log;
pub mod docker_steps;
pub mod layer_change;
