//! Where one poll of one chain reads its head and its logs: one of the
//! chain's JSON-RPC endpoints ([`crate::rpc`]), Etherscan or the Blockscout
//! fallback, as the chain's [provider pool](super::sources) says — always both from the same provider, so that a range is never
//! scanned against one provider's head with the other's index.

use serde_json::Value;

use super::blockscout::BlockscoutClient;
use super::client::EtherscanClient;
use super::error::ApiError;
use super::scan::LogSource;
use crate::domain::{Chain, Token};
use crate::rpc::RpcClient;

/// Which provider scans a chain in one poll (the key of its pool entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    /// The chain's JSON-RPC endpoint of this index (`[rpc.<chain>] urls`).
    Rpc(usize),
    Etherscan,
    Blockscout,
}

impl Provider {
    /// The name of Etherscan and Blockscout; an endpoint is named by its
    /// host (the pool's name of it), so here only "JSON-RPC".
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Rpc(_) => "JSON-RPC",
            Provider::Etherscan => super::pause::PROVIDER,
            Provider::Blockscout => super::blockscout::PROVIDER,
        }
    }
}

/// One provider's client, for one poll of a chain.
#[derive(Clone, Copy)]
pub enum Source<'a> {
    /// A JSON-RPC endpoint, its index in the chain's list.
    Rpc(usize, &'a RpcClient),
    Etherscan(&'a EtherscanClient),
    Blockscout(&'a BlockscoutClient),
}

impl Source<'_> {
    pub fn provider(self) -> Provider {
        match self {
            Source::Rpc(i, _) => Provider::Rpc(i),
            Source::Etherscan(_) => Provider::Etherscan,
            Source::Blockscout(_) => Provider::Blockscout,
        }
    }

    /// The chain's head as this explorer knows it (JSON-RPC reads its head
    /// through [`RpcClient::head`]: never here).
    pub async fn block_number(self, chain: &Chain) -> Result<u64, ApiError> {
        match self {
            Source::Rpc(..) => Err(ApiError::Connection("not an explorer")),
            Source::Etherscan(c) => c.block_number(chain).await,
            Source::Blockscout(c) => c.block_number(chain).await,
        }
    }

    /// Requests this provider's client has sent so far.
    pub fn calls_sent(self) -> u64 {
        match self {
            Source::Rpc(_, c) => c.calls_sent(),
            Source::Etherscan(c) => c.calls_sent(),
            Source::Blockscout(c) => c.calls_sent(),
        }
    }
}

/// Adapts a source to [`LogSource`] for one chain and token.
pub struct TokenLogs<'a> {
    pub source: Source<'a>,
    pub chain: &'a Chain,
    pub token: &'a Token,
}

impl LogSource for TokenLogs<'_> {
    /// Etherscan pages by `page`/`offset`. Blockscout has no paging: page 1
    /// is every log of the range (its client pages by block range), and
    /// later pages are empty without a call.
    async fn page(
        &self,
        from: u64,
        to: u64,
        page: u32,
        offset: u32,
    ) -> Result<Vec<Value>, ApiError> {
        let contract = &self.token.contract;
        match self.source {
            Source::Etherscan(c) => {
                c.transfer_logs(self.chain, contract, from, to, page, offset)
                    .await
            }
            // JSON-RPC is scanned by `crate::rpc::scan`, never paged here.
            Source::Rpc(..) => Ok(Vec::new()),
            Source::Blockscout(_) if page > 1 => Ok(Vec::new()),
            Source::Blockscout(c) => c.transfer_logs(self.chain, contract, from, to).await,
        }
    }
}
