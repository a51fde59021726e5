//! Domain types shared by every actor: addresses, token amounts, the chain
//! registry and the transfer record. Nothing here talks to the network or
//! the database; everything here is plain data with exact arithmetic.

pub mod address;
pub mod amount;
pub mod chain;
pub mod contracts;
pub mod kind;
pub mod log;
pub mod transfer;
pub mod tron;

pub use address::{Address, AddressError};
pub use amount::{Amount, AmountError};
pub use chain::{Chain, TRON_CHAIN_ID, Token, TokenSymbol};
pub use contracts::Contracts;
pub use kind::{ChainAddressError, ChainKind, short_address, show_address};
pub use transfer::{Direction, Transfer};
pub use tron::TronAddressError;
