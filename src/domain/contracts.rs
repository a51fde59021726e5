//! The active token contracts: the built-in registry's on every chain, plus
//! the operator's `[[monitor.contracts]]`. The one place that answers
//! "which token is contract X on chain Y" (symbol, decimals), so that a
//! contract the operator added is shown like a registered one everywhere.

use super::{Address, Chain, Token};

/// Every known token contract, by chain id. Registry entries come first, in
/// registry order, then the operator's, in configuration order; a contract
/// is listed once per chain (the registry's entry wins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contracts {
    tokens: Vec<(u64, Token)>,
}

impl Contracts {
    /// The registry's contracts plus `added` (chain id, token) entries.
    pub fn new(added: impl IntoIterator<Item = (u64, Token)>) -> Self {
        let mut out = Contracts::default();
        let registry = Chain::all().flat_map(|c| c.tokens.into_iter().map(move |t| (c.id, t)));
        for (chain_id, token) in registry.chain(added) {
            if out.token(chain_id, &token.contract).is_none() {
                out.tokens.push((chain_id, token));
            }
        }
        out
    }

    /// The token at `contract` on chain `chain_id`, if known.
    pub fn token(&self, chain_id: u64, contract: &Address) -> Option<&Token> {
        self.tokens
            .iter()
            .find(|(c, t)| *c == chain_id && &t.contract == contract)
            .map(|(_, t)| t)
    }

    /// The tokens of chain `chain_id`, registry first.
    pub fn on_chain(&self, chain_id: u64) -> impl Iterator<Item = &Token> {
        self.tokens
            .iter()
            .filter(move |(c, _)| *c == chain_id)
            .map(|(_, t)| t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TokenSymbol;

    #[test]
    fn an_added_contract_is_known_on_its_chain_only_and_a_registered_one_is_not_replaced() {
        let usdt0 = Address::parse("0x01bff41798a0bcf287b996046ca68b395dbc1071").unwrap();
        let eth = Chain::by_name("ethereum").unwrap();
        let eth_usdt = eth.token(TokenSymbol::Usdt).unwrap().clone();
        let added = Token {
            symbol: TokenSymbol::Usdt,
            contract: usdt0.clone(),
            decimals: 6,
        };
        let clash = Token {
            decimals: 18,
            ..eth_usdt.clone()
        };
        let c = Contracts::new([(1, added.clone()), (1, clash)]);
        assert_eq!(c.token(1, &usdt0), Some(&added));
        assert_eq!(c.token(56, &usdt0), None);
        assert_eq!(c.token(1, &eth_usdt.contract), Some(&eth_usdt));
        assert_eq!(c.on_chain(1).count(), eth.tokens.len() + 1);
    }
}
