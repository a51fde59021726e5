//! JSON-RPC 2.0 endpoints of EVM chains ("bring your own node", issue 18):
//! a provider of the poll frame and of each chain's provider pool, before
//! Etherscan and Blockscout. Only this provider's quirks live here; HTTP is
//! [`scanner::http`](crate::scanner::http)'s and retries are
//! [`scanner::retry::Caller`](crate::scanner::retry::Caller)'s, and the
//! logs are decoded by the shared strict decoder
//! ([`domain::log`](crate::domain::log)). Nothing here imports another
//! provider's module.
//!
//! - [`client`]: one endpoint (`eth_chainId` once, `eth_blockNumber`, the
//!   `finalized`/`safe` tag's block, `eth_getLogs` with the token contracts
//!   as an address array and topic0 = Transfer, block times), the head it
//!   reported and the range it accepts;
//! - [`scan`]: a token's range in sub-ranges no wider than the endpoint
//!   accepts, learning the width from refusals, never past the endpoint's
//!   own head;
//! - [`range`]: every provider's "range too large" text, read;
//! - [`error`]: status, envelope and body → [`Kind`](crate::scanner::kind::Kind).
//!
//! An endpoint's URL may carry a key (Alchemy, Infura: in the path): it is
//! named by its host only, in log lines, errors, `/status` and `/metrics`,
//! and its path and query are scrubbed from any error body.

pub mod client;
pub mod error;
pub mod range;
pub mod scan;

pub use client::{Options, RpcClient};
pub use error::RpcError;

use crate::config::{Config, Confirmations, EndpointError};
use crate::domain::Chain;
use crate::metrics::ProviderHandles;
use crate::scanner::kind::{Classify, Kind};
use crate::scanner::retry::RetryPolicy;

/// A failed call of a chain's poll on one endpoint, with where it happened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{host}: {chain} {what}: {source}")]
pub struct RpcFailure {
    /// The endpoint's host (never its URL).
    pub host: String,
    pub chain: &'static str,
    /// "eth_blockNumber", "USDT eth_getLogs blocks 10..=20".
    pub what: String,
    pub source: RpcError,
}

impl RpcFailure {
    /// The kind of the failed call.
    pub fn kind(&self) -> Kind {
        self.source.kind()
    }
}

/// The endpoints of `chain` per its `[rpc.<chain>]` (none without one), in
/// order, each with its own limiter and retry loop. The endpoints' timeout
/// and connections are `[etherscan]`'s (`request_timeout`,
/// `max_connections`).
pub fn clients(
    config: &Config,
    chain: &Chain,
    handles: &ProviderHandles,
    retry: RetryPolicy,
) -> Result<Vec<RpcClient>, EndpointError> {
    let Some(rpc) = config.rpc_of(chain) else {
        return Ok(Vec::new());
    };
    let options = Options {
        timeout: config.etherscan.request_timeout,
        max_connections: config.etherscan.max_connections,
        requests_per_second: rpc.requests_per_second,
        max_block_range: rpc.max_block_range,
        confirmations: rpc
            .confirmations
            .unwrap_or(Confirmations::Blocks(config.monitor.confirmations)),
        retry,
    };
    Ok(rpc
        .endpoints(chain.name)?
        .iter()
        .map(|e| RpcClient::new(e, chain, options, handles.clone()))
        .collect())
}
