//! The JSON a sink receives for one transfer, and its stable `webhook-id`.
//!
//! Shape (the Standard Webhooks recommended envelope):
//!
//! ```json
//! {"type":"transfer.recorded","timestamp":"2026-01-02T03:04:05Z","data":{
//!   "chain":"ethereum","chain_id":1,"token":"USDT",
//!   "contract":"0xdAC17F958D2ee523a2206206994597C13D831ec7",
//!   "from":"0x…","to":"0x…","amount":"1250.5","value":"1250500000","decimals":6,
//!   "block":5000123,"time":"2026-01-02T03:04:05Z","tx_hash":"0x…","log_index":7,
//!   "explorer_url":"https://etherscan.io/tx/0x…","watching_chats":2}}
//! ```
//!
//! `amount` is the exact decimal in token units (no separators, no float);
//! `value` the raw integer; addresses are EIP-55 checksummed on EVM chains
//! and in base58 `T…` form on Tron (same field names; there `tx_hash` is the
//! 64-hex txid without `0x` and `explorer_url` a tronscan link); `timestamp`
//! and `time` are the block time (UTC); `watching_chats` is the number of
//! chats with a subscription to either side when the transfer was recorded.

use std::time::{Duration, UNIX_EPOCH};

use serde_json::json;

use crate::domain::{Chain, ChainKind, Transfer};

/// The event type of every payload.
pub const EVENT_TYPE: &str = "transfer.recorded";

/// The body posted for `t`, minified. Built once when the transfer is
/// recorded and stored, so every retry signs the same bytes.
pub fn body(t: &Transfer, watching_chats: usize) -> String {
    let chain = Chain::by_id(t.chain_id);
    let kind = ChainKind::of(t.chain_id);
    let time = rfc3339(t.timestamp);
    json!({
        "type": EVENT_TYPE,
        "timestamp": time,
        "data": {
            "chain": chain.as_ref().map_or("unknown", |c| c.name),
            "chain_id": t.chain_id,
            "token": t.token.as_str(),
            "contract": kind.show(&t.contract),
            "from": kind.show(&t.from),
            "to": kind.show(&t.to),
            "amount": t.amount.format_units(t.decimals).replace(',', ""),
            "value": t.amount.to_string(),
            "decimals": t.decimals,
            "block": t.block,
            "time": time,
            "tx_hash": t.tx_hash,
            "log_index": t.log_index,
            "explorer_url": chain.map(|c| c.tx_url(&t.tx_hash)),
            "watching_chats": watching_chats,
        }
    })
    .to_string()
}

/// `webhook-id`: identical on every retry of one transfer to one sink, so a
/// receiver can dedupe; different per sink. Never contains `.` (the id is
/// joined with `.` for signing).
pub fn webhook_id(sink_id: &str, t: &Transfer) -> String {
    let hash = t.tx_hash.trim_start_matches("0x");
    format!("msg_{sink_id}_{}_{hash}_{}", t.chain_id, t.log_index)
}

fn rfc3339(secs: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(secs)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Address, Amount, TokenSymbol};

    fn transfer() -> Transfer {
        let chain = Chain::by_id(1).unwrap();
        let usdt = chain.token(TokenSymbol::Usdt).unwrap().clone();
        Transfer {
            chain_id: 1,
            tx_hash: format!("0x{}", "ab".repeat(32)),
            log_index: 7,
            block: 5_000_123,
            timestamp: 1_767_323_045,
            token: TokenSymbol::Usdt,
            contract: usdt.contract,
            decimals: usdt.decimals,
            from: Address::parse(&format!("0x{}", "1".repeat(40))).unwrap(),
            to: Address::parse(&format!("0x{}", "a".repeat(40))).unwrap(),
            amount: Amount::from_dec("1234567000000000000000000000000000001").unwrap(),
        }
    }

    #[test]
    fn the_payload_carries_exact_amounts_and_the_documented_fields() {
        let v: serde_json::Value = serde_json::from_str(&body(&transfer(), 2)).unwrap();
        assert_eq!(v["type"], "transfer.recorded");
        assert_eq!(v["timestamp"], "2026-01-02T03:04:05Z");
        let d = &v["data"];
        assert_eq!(d["chain"], "ethereum");
        assert_eq!(d["token"], "USDT");
        assert_eq!(d["amount"], "1234567000000000000000000000000.000001");
        assert_eq!(d["value"], "1234567000000000000000000000000000001");
        assert_eq!(d["decimals"], 6);
        assert_eq!(d["log_index"], 7);
        assert_eq!(d["watching_chats"], 2);
        assert_eq!(
            d["explorer_url"],
            format!("https://etherscan.io/tx/0x{}", "ab".repeat(32))
        );
        assert_eq!(d["to"], "0xaAaAaAaaAaAaAaaAaAAAAAAAAaaaAaAaAaaAaaAa");
    }

    /// Tron: the same field names, addresses in base58, a tronscan link.
    #[test]
    fn a_tron_payload_shows_base58_addresses() {
        let tron = Chain::by_name("tron").unwrap();
        let usdt = tron.token(TokenSymbol::Usdt).unwrap().clone();
        let txid = "cd".repeat(32);
        let t = Transfer {
            chain_id: tron.id,
            tx_hash: txid.clone(),
            contract: usdt.contract,
            to: Address::parse_tron("TEkxiTehnzSmSe2XqrBj4w32RUN966rdz8").unwrap(),
            ..transfer()
        };
        let v: serde_json::Value = serde_json::from_str(&body(&t, 1)).unwrap();
        let d = &v["data"];
        assert_eq!(d["chain"], "tron");
        assert_eq!(d["chain_id"], 728126428);
        assert_eq!(d["contract"], "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t");
        assert_eq!(d["to"], "TEkxiTehnzSmSe2XqrBj4w32RUN966rdz8");
        assert_eq!(d["from"], t.from.to_tron());
        assert_eq!(
            d["explorer_url"],
            format!("https://tronscan.org/#/transaction/{txid}")
        );
    }

    #[test]
    fn the_webhook_id_is_stable_per_transfer_and_sink() {
        let t = transfer();
        assert_eq!(webhook_id("s1", &t), webhook_id("s1", &t));
        assert_ne!(webhook_id("s1", &t), webhook_id("s2", &t));
        let mut other = t.clone();
        other.log_index = 8;
        assert_ne!(webhook_id("s1", &t), webhook_id("s1", &other));
        assert!(!webhook_id("s1", &t).contains('.'));
    }
}
