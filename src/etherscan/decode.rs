//! The strict Transfer-log decoder moved to [`crate::domain::log`] (it is
//! shared with the JSON-RPC provider); kept here by name.

pub use crate::domain::log::*;
