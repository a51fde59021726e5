//! The built-in registry of chains and their stablecoin contracts.
//!
//! Tokens are identified by contract address, never by symbol: a token that
//! calls itself "USDT" from another contract is not USDT. `monitor.chains`
//! and `monitor.tokens` in the configuration choose from this table, and
//! `[[monitor.contracts]]` adds contracts to it without a release.
//!
//! Contracts migrate (Tether's USDT on OP Mainnet moved to USDT0): the
//! table is checked against the issuers' lists in a unit test, and a chain
//! may hold more than one contract per symbol — both are scanned, each with
//! its own cursor.

use super::Address;

/// The Transfer(address,address,uint256) event signature (topic0).
pub const TRANSFER_TOPIC: &str =
    "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TokenSymbol {
    Usdt,
    Usdc,
}

impl TokenSymbol {
    pub const ALL: [TokenSymbol; 2] = [TokenSymbol::Usdt, TokenSymbol::Usdc];

    pub fn as_str(self) -> &'static str {
        match self {
            TokenSymbol::Usdt => "USDT",
            TokenSymbol::Usdc => "USDC",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s))
    }
}

/// One stablecoin contract on one chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub symbol: TokenSymbol,
    /// The contract address, lowercase.
    pub contract: Address,
    pub decimals: u8,
}

/// One EVM chain that Etherscan API V2 serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// The configuration name, e.g. `ethereum`.
    pub name: &'static str,
    /// The human name, e.g. `Ethereum`.
    pub display: &'static str,
    /// The EVM chain id, also Etherscan V2's `chainid`.
    pub id: u64,
    /// Explorer host for transaction links (`https://{explorer}/tx/{hash}`).
    pub explorer: &'static str,
    /// How many blocks behind the safe head every block is scanned a second
    /// time (the deep pass), because the explorer's getLogs index can trail
    /// the head its own `eth_blockNumber` reports (see `monitor.rescan_depth`).
    pub rescan_depth: u64,
    pub tokens: Vec<Token>,
}

struct Entry {
    name: &'static str,
    display: &'static str,
    id: u64,
    explorer: &'static str,
    /// Default rescan depth: about three minutes of blocks.
    rescan_depth: u64,
    tokens: &'static [(TokenSymbol, &'static str, u8)],
}

use TokenSymbol::{Usdc, Usdt};

const REGISTRY: [Entry; 6] = [
    Entry {
        name: "ethereum",
        rescan_depth: 16,
        display: "Ethereum",
        id: 1,
        explorer: "etherscan.io",
        tokens: &[
            (Usdt, "0xdAC17F958D2ee523a2206206994597C13D831ec7", 6),
            (Usdc, "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", 6),
        ],
    },
    Entry {
        name: "polygon",
        rescan_depth: 96,
        display: "Polygon",
        id: 137,
        explorer: "polygonscan.com",
        tokens: &[
            (Usdt, "0xc2132D05D31c914a87C6611C10748AEb04B58e8F", 6),
            (Usdc, "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359", 6),
        ],
    },
    Entry {
        name: "arbitrum",
        rescan_depth: 720,
        display: "Arbitrum One",
        id: 42161,
        explorer: "arbiscan.io",
        tokens: &[
            (Usdt, "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9", 6),
            (Usdc, "0xaf88d065e77c8cC2239327C5EDb3A432268e5831", 6),
        ],
    },
    Entry {
        name: "optimism",
        rescan_depth: 96,
        display: "OP Mainnet",
        id: 10,
        explorer: "optimistic.etherscan.io",
        tokens: &[
            // USDT0, Tether's current USDT on OP Mainnet; then the legacy
            // bridged USDT, still live.
            (Usdt, "0x01bFF41798a0BcF287b996046Ca68b395DbC1071", 6),
            (Usdt, "0x94b008aA00579c1307B0EF2c499aD98a8ce58e58", 6),
            (Usdc, "0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85", 6),
        ],
    },
    Entry {
        name: "base",
        rescan_depth: 96,
        display: "Base",
        id: 8453,
        explorer: "basescan.org",
        tokens: &[
            (Usdt, "0xfde4C96c8593536E31F229EA8f37b2ADa2699bb2", 6),
            (Usdc, "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", 6),
        ],
    },
    Entry {
        name: "bsc",
        rescan_depth: 240,
        display: "BNB Smart Chain",
        id: 56,
        explorer: "bscscan.com",
        tokens: &[
            (Usdt, "0x55d398326f99059fF775485246999027B3197955", 18),
            (Usdc, "0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d", 18),
        ],
    },
];

impl Chain {
    /// Every chain name the registry knows, for error messages and help.
    pub fn names() -> Vec<&'static str> {
        REGISTRY.iter().map(|e| e.name).collect()
    }

    /// Every chain of the registry, in registry order.
    pub fn all() -> impl Iterator<Item = Chain> {
        REGISTRY.iter().map(Chain::from_entry)
    }

    /// Looks a chain up by configuration name (case-insensitive).
    pub fn by_name(name: &str) -> Option<Chain> {
        REGISTRY
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(name))
            .map(Chain::from_entry)
    }

    /// Looks a chain up by chain id.
    pub fn by_id(id: u64) -> Option<Chain> {
        REGISTRY.iter().find(|e| e.id == id).map(Chain::from_entry)
    }

    fn from_entry(e: &Entry) -> Chain {
        let token = |&(symbol, contract, decimals): &(TokenSymbol, &str, u8)| Token {
            symbol,
            // The registry's own constants; checked by a unit test below.
            contract: Address::parse(contract).expect("registry address is valid"),
            decimals,
        };
        Chain {
            name: e.name,
            display: e.display,
            id: e.id,
            explorer: e.explorer,
            rescan_depth: e.rescan_depth,
            tokens: e.tokens.iter().map(token).collect(),
        }
    }

    /// The first contract registered under `symbol` (the current one where a
    /// token migrated). Matching transfers uses the contract, never this.
    pub fn token(&self, symbol: TokenSymbol) -> Option<&Token> {
        self.tokens.iter().find(|t| t.symbol == symbol)
    }

    /// The token registered under this contract on this chain, if any.
    pub fn token_by_contract(&self, contract: &Address) -> Option<&Token> {
        self.tokens.iter().find(|t| &t.contract == contract)
    }

    pub fn tx_url(&self, tx_hash: &str) -> String {
        format!("https://{}/tx/{}", self.explorer, tx_hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registry_entry_is_valid() {
        for name in Chain::names() {
            let chain = Chain::by_name(name).unwrap();
            for symbol in TokenSymbol::ALL {
                assert!(chain.token(symbol).is_some(), "{name} {symbol:?}");
            }
            assert!(chain.rescan_depth > 0);
            assert_eq!(Chain::by_id(chain.id).unwrap().name, name);
        }
    }

    #[test]
    fn bsc_tokens_have_18_decimals() {
        let bsc = Chain::by_name("bsc").unwrap();
        assert!(bsc.tokens.iter().all(|t| t.decimals == 18));
        let eth = Chain::by_name("Ethereum").unwrap();
        assert!(eth.tokens.iter().all(|t| t.decimals == 6));
    }

    /// The issuers' current contracts (Tether, Circle; the reference notes in
    /// `shared/reference/etherscan.md`), every one of them registered with
    /// its decimals. Fault 9 of issue 9: OP Mainnet's USDT0 was missing.
    #[test]
    fn stale_registry_every_issuer_contract_is_registered() {
        let issuers: [(&str, TokenSymbol, &str, u8); 13] = [
            (
                "ethereum",
                Usdt,
                "0xdAC17F958D2ee523a2206206994597C13D831ec7",
                6,
            ),
            (
                "ethereum",
                Usdc,
                "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
                6,
            ),
            (
                "polygon",
                Usdt,
                "0xc2132D05D31c914a87C6611C10748AEb04B58e8F",
                6,
            ),
            (
                "polygon",
                Usdc,
                "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359",
                6,
            ),
            (
                "arbitrum",
                Usdt,
                "0xFd086bC7CD5C481DCC9C85ebE478A1C0b69FCbb9",
                6,
            ),
            (
                "arbitrum",
                Usdc,
                "0xaf88d065e77c8cC2239327C5EDb3A432268e5831",
                6,
            ),
            (
                "optimism",
                Usdt,
                "0x01bFF41798a0BcF287b996046Ca68b395DbC1071",
                6,
            ),
            (
                "optimism",
                Usdt,
                "0x94b008aA00579c1307B0EF2c499aD98a8ce58e58",
                6,
            ),
            (
                "optimism",
                Usdc,
                "0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85",
                6,
            ),
            (
                "base",
                Usdt,
                "0xfde4C96c8593536E31F229EA8f37b2ADa2699bb2",
                6,
            ),
            (
                "base",
                Usdc,
                "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
                6,
            ),
            (
                "bsc",
                Usdt,
                "0x55d398326f99059fF775485246999027B3197955",
                18,
            ),
            (
                "bsc",
                Usdc,
                "0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d",
                18,
            ),
        ];
        let mut registered = 0;
        for (chain, symbol, contract, decimals) in issuers {
            let c = Chain::by_name(chain).unwrap();
            let address = Address::parse(&contract.to_ascii_lowercase()).unwrap();
            let t = c
                .token_by_contract(&address)
                .unwrap_or_else(|| panic!("{chain} {contract}"));
            assert_eq!(
                (t.symbol, t.decimals),
                (symbol, decimals),
                "{chain} {contract}"
            );
            registered += 1;
        }
        let total: usize = Chain::names()
            .iter()
            .map(|n| Chain::by_name(n).unwrap().tokens.len())
            .sum();
        assert_eq!(total, registered, "no contract the issuers do not list");
        let op = Chain::by_name("optimism").unwrap();
        assert_eq!(
            op.token(Usdt).unwrap().contract.as_str(),
            "0x01bff41798a0bcf287b996046ca68b395dbc1071",
            "the current contract comes first"
        );
    }

    #[test]
    fn tokens_are_found_by_contract_only() {
        let eth = Chain::by_name("ethereum").unwrap();
        let usdt = Address::parse("0xdac17f958d2ee523a2206206994597c13d831ec7").unwrap();
        assert_eq!(
            eth.token_by_contract(&usdt).unwrap().symbol,
            TokenSymbol::Usdt
        );
        let fake = Address::parse("0x1111111111111111111111111111111111111111").unwrap();
        assert!(eth.token_by_contract(&fake).is_none());
        assert_eq!(eth.tx_url("0xabc"), "https://etherscan.io/tx/0xabc");
    }
}
