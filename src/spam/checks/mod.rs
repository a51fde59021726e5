//! The individual checks. Each is a pure function of the rules, the transfer
//! and the watched address's history, and returns at most one [`Flag`]
//! (`None` = nothing to object to). They do not see each other's results:
//! combining them is the score's job, in [`super::assess`].

pub mod burst;
pub mod dust;
pub mod lookalike;
pub mod zero;

use super::{Flag, History, SpamRules, Subject};

/// The signature every check has.
pub type CheckFn = fn(&SpamRules, &Subject<'_>, &History<'_>) -> Option<Flag>;

/// The pipeline, in the order flags are reported: what the transfer carries
/// first (zero, dust), then who sent it (look-alike), then the context (burst).
pub const PIPELINE: [(&str, CheckFn); 4] = [
    (zero::NAME, zero::check),
    (dust::NAME, dust::check),
    (lookalike::NAME, lookalike::check),
    (burst::NAME, burst::check),
];

/// Shared fixtures for the checks' unit tests.
#[cfg(test)]
pub(crate) mod fixture {
    use crate::config::SpamConfig;
    use crate::domain::{Address, Amount, Direction, TokenSymbol, Transfer};

    use super::super::{CounterpartyIndex, SpamRules};

    pub const WATCHED: &str = "0x1111111111111111111111111111111111111111";
    /// A real counterparty, given in EIP-55 mixed case as a user would paste it.
    pub const REAL_CHECKSUMMED: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
    pub const STRANGER: &str = "0x9999999999999999999999999999999999999999";

    pub fn addr(s: &str) -> Address {
        Address::parse(s).expect("test address")
    }

    pub fn rules() -> SpamRules {
        SpamRules::from_config(&SpamConfig::default()).expect("default rules")
    }

    pub fn known(rules: &SpamRules, addrs: &[&str]) -> CounterpartyIndex {
        let mut ix = CounterpartyIndex::new(rules, crate::domain::ChainKind::Evm);
        for a in addrs {
            ix.insert(addr(a));
        }
        ix
    }

    /// A USDT transfer on Ethereum (6 decimals) or BSC (18) at time `ts`.
    pub fn transfer(from: &str, to: &str, raw: u128, decimals: u8, ts: u64) -> Transfer {
        Transfer {
            chain_id: if decimals == 18 { 56 } else { 1 },
            tx_hash: format!("0x{ts:064x}"),
            log_index: 0,
            block: ts,
            timestamp: ts,
            token: TokenSymbol::Usdt,
            contract: addr("0xdac17f958d2ee523a2206206994597c13d831ec7"),
            decimals,
            from: addr(from),
            to: addr(to),
            amount: Amount::from_u128(raw),
        }
    }

    /// A transfer into WATCHED from `from`.
    pub fn incoming(from: &str, raw: u128) -> Transfer {
        transfer(from, WATCHED, raw, 6, 1_700_000_000)
    }

    pub const IN: Direction = Direction::Incoming;
    pub const OUT: Direction = Direction::Outgoing;
}
