//! Tests against aws-smithy-mocks: what the emulator cannot show (pagination it never does, AWS's
//! documented errors, responses moto answers differently). No emulator needed.

mod adapters;
mod attempts;
mod monitor_history;
mod pruner;
