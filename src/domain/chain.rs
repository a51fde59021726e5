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
//!
//! Chains are of two kinds ([`ChainKind`]): EVM chains, served by Etherscan
//! API V2, and Tron, served by TronGrid. Tron's contracts are written in
//! their base58 `T…` form here and stored, like every address, as the
//! 20-byte id in `0x` form (what TronGrid's event results carry).

use super::{Address, ChainKind};

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

/// One chain: an EVM chain that Etherscan API V2 serves, or Tron.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    /// The configuration name, e.g. `ethereum`, `tron`.
    pub name: &'static str,
    /// The human name, e.g. `Ethereum`, `Tron`.
    pub display: &'static str,
    /// The chain id, stored as `chain_id` in the database: the EVM chain id
    /// (also Etherscan V2's `chainid`); for Tron its mainnet id 728126428
    /// (`0x2b6653dc`, what Tron's JSON-RPC `eth_chainId` answers).
    pub id: u64,
    /// EVM or Tron: how addresses are typed, shown and linked.
    pub kind: ChainKind,
    /// Explorer host for links ([`Chain::tx_url`], [`Chain::address_url`]).
    pub explorer: &'static str,
    /// How many blocks behind the safe head every block is scanned a second
    /// time (the deep pass), because the explorer's getLogs index can trail
    /// the head its own `eth_blockNumber` reports (see `monitor.rescan_depth`).
    /// Tron's scanner reads solidified events only (`only_confirmed=true`,
    /// final, so `monitor.confirmations` does not apply to it); its entry
    /// keeps the same rule, about three minutes of blocks (60 × 3 s), as a
    /// re-read window for an event index that trails the solidified head.
    pub rescan_depth: u64,
    pub tokens: Vec<Token>,
}

struct Entry {
    name: &'static str,
    display: &'static str,
    id: u64,
    kind: ChainKind,
    explorer: &'static str,
    /// Default rescan depth: about three minutes of blocks.
    rescan_depth: u64,
    /// (symbol, contract in the kind's user form, decimals).
    tokens: &'static [(TokenSymbol, &'static str, u8)],
}

/// Tron mainnet's chain id (`0x2b6653dc`).
pub const TRON_CHAIN_ID: u64 = 728_126_428;

use TokenSymbol::{Usdc, Usdt};

const REGISTRY: [Entry; 7] = [
    Entry {
        name: "ethereum",
        rescan_depth: 16,
        display: "Ethereum",
        id: 1,
        kind: ChainKind::Evm,
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
        kind: ChainKind::Evm,
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
        kind: ChainKind::Evm,
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
        kind: ChainKind::Evm,
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
        kind: ChainKind::Evm,
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
        kind: ChainKind::Evm,
        explorer: "bscscan.com",
        tokens: &[
            (Usdt, "0x55d398326f99059fF775485246999027B3197955", 18),
            (Usdc, "0x8AC76a51cc950d9822D68b83fE1Ad97B32Cd580d", 18),
        ],
    },
    Entry {
        name: "tron",
        rescan_depth: 60,
        display: "Tron",
        id: TRON_CHAIN_ID,
        kind: ChainKind::Tron,
        explorer: "tronscan.org",
        // USDT only: Circle ended USDC on Tron (minting stopped Feb 2024);
        // an operator who still wants it adds it in [[monitor.contracts]].
        tokens: &[(Usdt, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", 6)],
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
            contract: e
                .kind
                .parse_address(contract)
                .expect("registry address is valid"),
            decimals,
        };
        Chain {
            name: e.name,
            display: e.display,
            id: e.id,
            kind: e.kind,
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

    /// True for a chain Etherscan serves; the Etherscan scanner and its
    /// preflight skip every other chain.
    pub fn is_evm(&self) -> bool {
        self.kind == ChainKind::Evm
    }

    /// The explorer page of a transaction (see [`ChainKind::tx_url`]).
    pub fn tx_url(&self, tx_hash: &str) -> String {
        self.kind.tx_url(self.explorer, tx_hash)
    }

    /// The explorer page of an address (see [`ChainKind::address_url`]).
    pub fn address_url(&self, address: &Address) -> String {
        self.kind.address_url(self.explorer, address)
    }

    /// The full form of an address as a person reads it on this chain.
    pub fn show_address(&self, address: &Address) -> String {
        self.kind.show(address)
    }

    /// The confirmations a block needs before it is scanned:
    /// `monitor.confirmations` on EVM chains, none on Tron (only solidified,
    /// final events are read).
    pub fn confirmations(&self, configured: u64) -> u64 {
        match self.kind {
            ChainKind::Evm => configured,
            ChainKind::Tron => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registry_entry_is_valid() {
        for name in Chain::names() {
            let chain = Chain::by_name(name).unwrap();
            assert!(chain.token(Usdt).is_some(), "{name}");
            if chain.is_evm() {
                assert!(chain.token(Usdc).is_some(), "{name}");
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
        let issuers: [(&str, TokenSymbol, &str, u8); 14] = [
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
            ("tron", Usdt, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", 6),
        ];
        let mut registered = 0;
        for (chain, symbol, contract, decimals) in issuers {
            let c = Chain::by_name(chain).unwrap();
            let address = match c.kind {
                ChainKind::Evm => Address::parse(&contract.to_ascii_lowercase()).unwrap(),
                ChainKind::Tron => Address::parse_tron(contract).unwrap(),
            };
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

    /// Tron: chain id 728126428, USDT only (USDC on Tron is not offered by
    /// default), its contract stored in `0x` form, tronscan links.
    #[test]
    fn tron_entry_holds_usdt_only_with_tronscan_links() {
        let tron = Chain::by_name("tron").unwrap();
        assert_eq!(
            (tron.id, tron.display, tron.kind),
            (728126428, "Tron", ChainKind::Tron)
        );
        assert_eq!(Chain::by_id(0x2b66_53dc).unwrap().name, "tron");
        assert!(!tron.is_evm());
        assert_eq!(tron.tokens.len(), 1);
        let usdt = tron.token(Usdt).unwrap();
        assert_eq!(
            (usdt.contract.as_str(), usdt.decimals),
            ("0xa614f803b6fd780986a42c78ec9c7f77e6ded13c", 6)
        );
        assert!(tron.token(Usdc).is_none());
        assert_eq!(
            tron.show_address(&usdt.contract),
            "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
        );
        let txid = "0f".repeat(32);
        assert_eq!(
            tron.tx_url(&txid),
            format!("https://tronscan.org/#/transaction/{txid}")
        );
        assert_eq!(tron.confirmations(2), 0);
        assert!(
            Chain::all()
                .filter(|c| !c.is_evm())
                .all(|c| c.name == "tron")
        );
    }
}
