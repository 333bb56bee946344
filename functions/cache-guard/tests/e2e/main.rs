//! The cache-guard binary end to end: its cold start and its runs behind the Lambda Runtime API.

mod cargo_lambda;
mod cold_start;
