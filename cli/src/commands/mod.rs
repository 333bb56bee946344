//! One module per command: each parses nothing and decides nothing, it calls the library and
//! presents what it returns.

pub mod audit;
pub mod audit_across;
pub mod heal;
pub mod prune;
pub mod prune_view;
pub mod report;
