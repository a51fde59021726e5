//! What kind of chain a chain is, and everything that differs by kind for a
//! person: how an address is typed, shown and linked, how a transaction is
//! linked. Every text a user reads formats an [`Address`] through here, so a
//! Tron address is always shown in its base58 `T…` form, never as hex.

use super::tron::TronAddressError;
use super::{Address, AddressError, Chain};

/// The two families of chains the monitor watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChainKind {
    /// An EVM chain served by Etherscan API V2: `0x…` addresses (EIP-55 for
    /// display), transactions `0x` + 64 hex, confirmations counted.
    Evm,
    /// Tron, served by TronGrid: base58check `T…` addresses, transaction ids
    /// of 64 hex without `0x`; only solidified (final) events are read
    /// (`only_confirmed=true`), so no confirmations are counted.
    Tron,
}

/// Why a string is not an address of a chain kind; the message names the
/// problem in words, as users read it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainAddressError {
    #[error(transparent)]
    Evm(#[from] AddressError),
    #[error(transparent)]
    Tron(#[from] TronAddressError),
}

impl ChainKind {
    /// The kind of the chain with this id; ids the registry does not know
    /// are EVM chain ids (the only ones stored before Tron).
    pub fn of(chain_id: u64) -> ChainKind {
        Chain::by_id(chain_id).map_or(ChainKind::Evm, |c| c.kind)
    }

    /// Parses an address as users type it on this kind of chain: `0x…` on
    /// EVM chains (EIP-55 checked), base58check `T…` on Tron.
    pub fn parse_address(self, input: &str) -> Result<Address, ChainAddressError> {
        Ok(match self {
            ChainKind::Evm => Address::parse(input)?,
            ChainKind::Tron => Address::parse_tron(input)?,
        })
    }

    /// The full form a person reads: EIP-55 `0x…` or base58 `T…`.
    pub fn show(self, address: &Address) -> String {
        match self {
            ChainKind::Evm => address.checksummed(),
            ChainKind::Tron => address.to_tron(),
        }
    }

    /// A short form to recognise an address by: `0x1234…abcd` or `TR7NHq…jLj6t`.
    pub fn short(self, address: &Address) -> String {
        match self {
            ChainKind::Evm => address.short(),
            ChainKind::Tron => {
                let t = address.to_tron();
                format!("{}…{}", &t[..6], &t[t.len() - 5..])
            }
        }
    }

    /// The full form to compare two addresses by, character for character:
    /// lowercase `0x…` hex on EVM chains (EIP-55 capitals of two addresses
    /// differ even where their digits agree), base58 `T…` on Tron (where
    /// case is part of the address).
    pub fn plain(self, address: &Address) -> String {
        match self {
            ChainKind::Evm => address.as_str().to_string(),
            ChainKind::Tron => address.to_tron(),
        }
    }

    /// The explorer page of a transaction: `https://{explorer}/tx/{hash}`
    /// on EVM chains, `https://{explorer}/#/transaction/{txid}` on Tron
    /// (the txid as 64 hex digits, a `0x` prefix dropped).
    pub fn tx_url(self, explorer: &str, tx_hash: &str) -> String {
        match self {
            ChainKind::Evm => format!("https://{explorer}/tx/{tx_hash}"),
            ChainKind::Tron => {
                let txid = tx_hash.strip_prefix("0x").unwrap_or(tx_hash);
                format!("https://{explorer}/#/transaction/{txid}")
            }
        }
    }

    /// The explorer page of an address: `https://{explorer}/address/0x…`
    /// (EIP-55) or `https://{explorer}/#/address/T…`.
    pub fn address_url(self, explorer: &str, address: &Address) -> String {
        match self {
            ChainKind::Evm => format!("https://{explorer}/address/{}", self.show(address)),
            ChainKind::Tron => format!("https://{explorer}/#/address/{}", self.show(address)),
        }
    }
}

/// The full form of `address` as a person reads it on chain `chain_id`
/// (`T…` on Tron, EIP-55 `0x…` elsewhere).
pub fn show_address(chain_id: u64, address: &Address) -> String {
    ChainKind::of(chain_id).show(address)
}

/// The short form of `address` on chain `chain_id` (see [`ChainKind::short`]).
pub fn short_address(chain_id: u64, address: &Address) -> String {
    ChainKind::of(chain_id).short(address)
}

#[cfg(test)]
mod tests {
    use super::*;

    const USDT_TRON: &str = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t";

    #[test]
    fn a_tron_address_is_shown_in_base58_and_an_evm_one_in_eip55() {
        let a = Address::parse_tron(USDT_TRON).unwrap();
        assert_eq!(ChainKind::Tron.show(&a), USDT_TRON);
        assert_eq!(ChainKind::Tron.short(&a), "TR7NHq…jLj6t");
        let e = Address::parse("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed").unwrap();
        assert_eq!(
            ChainKind::Evm.show(&e),
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
        );
        assert_eq!(ChainKind::Evm.short(&e), "0x5aae…eaed");
    }

    #[test]
    fn explorer_links_follow_the_kind() {
        let a = Address::parse_tron(USDT_TRON).unwrap();
        let txid = "ab".repeat(32);
        assert_eq!(
            ChainKind::Tron.tx_url("tronscan.org", &txid),
            format!("https://tronscan.org/#/transaction/{txid}")
        );
        assert_eq!(
            ChainKind::Tron.tx_url("tronscan.org", &format!("0x{txid}")),
            format!("https://tronscan.org/#/transaction/{txid}")
        );
        assert_eq!(
            ChainKind::Tron.address_url("tronscan.org", &a),
            format!("https://tronscan.org/#/address/{USDT_TRON}")
        );
        assert_eq!(
            ChainKind::Evm.tx_url("etherscan.io", "0xabc"),
            "https://etherscan.io/tx/0xabc"
        );
    }

    #[test]
    fn each_kind_parses_its_own_form_only() {
        assert!(ChainKind::Tron.parse_address(USDT_TRON).is_ok());
        assert!(matches!(
            ChainKind::Evm.parse_address(USDT_TRON),
            Err(ChainAddressError::Evm(AddressError::MissingPrefix))
        ));
        let hex = "0xa614f803b6fd780986a42c78ec9c7f77e6ded13c";
        assert!(matches!(
            ChainKind::Tron.parse_address(hex),
            Err(ChainAddressError::Tron(TronAddressError::WrongLength(42)))
        ));
    }
}
