//! Which transfers a sink wants: its `chains`, `tokens` and `min_amount`.
//!
//! Applied inside the poll write ([`crate::db::poll_result`]), so a
//! transfer a sink does not want never gets a delivery row.

use crate::config::WebhookConfig;
use crate::domain::{Amount, Chain, TokenSymbol, Transfer};

/// A sink's identity and filters; plain data, no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SinkFilter {
    /// The sink's stable id (see [`super::sink_id`]).
    pub sink: String,
    /// Chain ids; empty: every chain.
    pub chains: Vec<u64>,
    /// Empty: every token.
    pub tokens: Vec<TokenSymbol>,
    /// The least amount posted, in token units as configured (`"0.5"`).
    pub min_amount: Option<String>,
}

impl SinkFilter {
    /// From a validated `[[webhook]]` (unknown names were refused there).
    pub fn new(sink: String, c: &WebhookConfig) -> SinkFilter {
        SinkFilter {
            sink,
            chains: c
                .chains
                .iter()
                .filter_map(|n| Chain::by_name(n))
                .map(|ch| ch.id)
                .collect(),
            tokens: c
                .tokens
                .iter()
                .filter_map(|t| TokenSymbol::parse(t))
                .collect(),
            min_amount: c.min_amount.clone(),
        }
    }

    /// Whether `t` goes to this sink. `min_amount` is compared exactly, in
    /// the transfer's own decimals (6 or 18).
    pub fn matches(&self, t: &Transfer) -> bool {
        if !self.chains.is_empty() && !self.chains.contains(&t.chain_id) {
            return false;
        }
        if !self.tokens.is_empty() && !self.tokens.contains(&t.token) {
            return false;
        }
        match &self.min_amount {
            // Validated with 6 places, the fewest any token has: parses.
            Some(min) => Amount::parse_units(min, t.decimals).is_ok_and(|min| t.amount >= min),
            None => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Address;

    fn t(chain_id: u64, token: TokenSymbol, decimals: u8, raw: u128) -> Transfer {
        let a = Address::parse(&format!("0x{}", "1".repeat(40))).unwrap();
        Transfer {
            chain_id,
            tx_hash: "0x01".into(),
            log_index: 0,
            block: 1,
            timestamp: 1,
            token,
            contract: a.clone(),
            decimals,
            from: a.clone(),
            to: a,
            amount: Amount::from_u128(raw),
        }
    }

    #[test]
    fn filters_by_chain_token_and_exact_minimum() {
        let config = WebhookConfig {
            chains: vec!["ethereum".into(), "bsc".into()],
            tokens: vec!["usdt".into()],
            min_amount: Some("1000.5".into()),
            ..WebhookConfig::default()
        };
        let f = SinkFilter::new("s".into(), &config);
        assert!(f.matches(&t(1, TokenSymbol::Usdt, 6, 1_000_500_000)));
        assert!(!f.matches(&t(1, TokenSymbol::Usdt, 6, 1_000_499_999)));
        assert!(!f.matches(&t(137, TokenSymbol::Usdt, 6, 2_000_000_000)));
        assert!(!f.matches(&t(1, TokenSymbol::Usdc, 6, 2_000_000_000)));
        // BSC's USDT has 18 decimals: the same minimum, exactly.
        let raw = 1_000_500_000_000_000_000_000u128;
        assert!(f.matches(&t(56, TokenSymbol::Usdt, 18, raw)));
        assert!(!f.matches(&t(56, TokenSymbol::Usdt, 18, raw - 1)));
        let all = SinkFilter::new("s".into(), &WebhookConfig::default());
        assert!(all.matches(&t(137, TokenSymbol::Usdc, 6, 0)));
    }
}
