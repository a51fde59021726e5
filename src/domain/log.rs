//! One `getLogs` item → one [`Transfer`], or a reason to reject it.
//!
//! Everything here is outside input, and only the canonical encoding of an
//! ERC-20 Transfer is accepted (anything else is rejected, counted by the
//! caller, and never notified):
//! - the emitting contract is the registry's contract for this token: a
//!   token calling itself USDT from another contract never matches;
//! - exactly three topics (ERC-721 shares topic0 but indexes the token id
//!   as a fourth topic), topic0 is the Transfer signature;
//! - every topic is one 32-byte word: `0x` and exactly 64 hex digits;
//!   topics 1 and 2 are addresses left-padded with *zero* bytes (dirty
//!   upper bytes are not an address);
//! - `data` is exactly one 32-byte word, `0x` and 64 hex digits — not 62,
//!   not 66, not `"0x"`: the ABI encodes a uint256 in full, so a shorter or
//!   longer `data` is not a Transfer whatever its digits say (a 31-byte
//!   `data` was once notified as an absurd amount);
//! - hex digits may be either case (the value is the same), but the prefix
//!   is exactly `0x`;
//! - `blockNumber`, `timeStamp` (JSON-RPC: the optional `blockTimestamp`), `logIndex` are hex quantities that fit
//!   u64 (`"0x"` is zero, as Etherscan writes zero); the transaction hash
//!   is 32 bytes of hex.

use serde::Deserialize;
use serde_json::Value;

use crate::domain::chain::TRANSFER_TOPIC;
use crate::domain::{Address, Amount, Chain, Token, Transfer};

/// The fields of a log item we use (Etherscan sends more).
#[derive(Debug, Deserialize)]
pub struct RawLog {
    pub address: String,
    pub topics: Vec<String>,
    pub data: String,
    #[serde(rename = "blockNumber")]
    pub block_number: String,
    /// Etherscan's `timeStamp`; JSON-RPC's optional `blockTimestamp`.
    /// Required by [`decode`]; [`decode_untimed`] lets it be absent.
    #[serde(rename = "timeStamp", alias = "blockTimestamp", default)]
    pub time_stamp: Option<String>,
    #[serde(rename = "logIndex")]
    pub log_index: String,
    #[serde(rename = "transactionHash")]
    pub transaction_hash: String,
}

/// Why a log item is not a transfer of the token we scanned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("item is not a log object: {0}")]
    Shape(String),
    #[error("emitted by {0}, not the token contract")]
    WrongContract(String),
    #[error("{0} topics, a Transfer has exactly 3")]
    TopicCount(usize),
    #[error("topic0 is not Transfer(address,address,uint256)")]
    NotTransfer,
    #[error("topic {0} is not a zero-padded address")]
    BadAddress(usize),
    #[error("topic {0} is not one 32-byte word")]
    BadTopic(usize),
    #[error("data is not a uint256: {0}")]
    BadAmount(String),
    #[error("{0} is not a hex quantity")]
    BadQuantity(&'static str),
    #[error("transaction hash is not 32 bytes of hex")]
    BadTxHash,
}

/// Decodes a JSON item of a `getLogs` answer.
pub fn decode_item(chain: &Chain, token: &Token, item: Value) -> Result<Transfer, DecodeError> {
    let raw: RawLog =
        serde_json::from_value(item).map_err(|e| DecodeError::Shape(e.to_string()))?;
    decode(chain, token, &raw)
}

/// Decodes one log of `token` on `chain`.
pub fn decode(chain: &Chain, token: &Token, raw: &RawLog) -> Result<Transfer, DecodeError> {
    if raw.time_stamp.is_none() {
        return Err(DecodeError::BadQuantity("timeStamp"));
    }
    decode_untimed(chain, token, raw)
}

/// As [`decode`], for a log that may carry no block time (a JSON-RPC
/// `eth_getLogs` item): every other check is the same; the transfer's
/// `timestamp` is the log's `blockTimestamp` when it has a readable one,
/// else 0, and the caller fills it in from the block.
pub fn decode_untimed(chain: &Chain, token: &Token, raw: &RawLog) -> Result<Transfer, DecodeError> {
    let emitter = Address::parse(&raw.address.to_ascii_lowercase())
        .map_err(|_| DecodeError::WrongContract(clip(&raw.address)))?;
    // Both checks: the contract we asked for, and one the registry knows
    // on this chain (a stale or misconfigured token list cannot sneak in).
    match chain.token_by_contract(&emitter) {
        Some(t) if t.contract == token.contract && emitter == token.contract => {}
        _ => return Err(DecodeError::WrongContract(emitter.to_string())),
    }
    if raw.topics.len() != 3 {
        return Err(DecodeError::TopicCount(raw.topics.len()));
    }
    for (i, topic) in raw.topics.iter().enumerate() {
        word(topic).ok_or(DecodeError::BadTopic(i))?;
    }
    if !raw.topics[0].eq_ignore_ascii_case(TRANSFER_TOPIC) {
        return Err(DecodeError::NotTransfer);
    }
    let from = Address::from_topic(&raw.topics[1]).ok_or(DecodeError::BadAddress(1))?;
    let to = Address::from_topic(&raw.topics[2]).ok_or(DecodeError::BadAddress(2))?;
    let amount = decode_amount(&raw.data)?;
    let block = parse_hex_u64(&raw.block_number).ok_or(DecodeError::BadQuantity("blockNumber"))?;
    let timestamp = match raw.time_stamp.as_deref() {
        Some(t) => parse_hex_u64(t).ok_or(DecodeError::BadQuantity("timeStamp"))?,
        None => 0,
    };
    let log_index = parse_hex_u64(&raw.log_index).ok_or(DecodeError::BadQuantity("logIndex"))?;
    let tx_hash = decode_tx_hash(&raw.transaction_hash)?;
    Ok(Transfer {
        chain_id: chain.id,
        tx_hash,
        log_index,
        block,
        timestamp,
        token: token.symbol,
        contract: token.contract.clone(),
        decimals: token.decimals,
        from,
        to,
        amount,
    })
}

/// A hex quantity: `0x…` (either case), where `"0x"` alone is zero
/// (Etherscan's quirk; harmless for JSON-RPC).
pub fn parse_hex_u64(s: &str) -> Option<u64> {
    let hex = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let hex = hex.trim_start_matches('0');
    if hex.is_empty() {
        return Some(0);
    }
    if hex.len() > 16 {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

/// The 64 hex digits of a 32-byte word written `0x…`, or `None`.
fn word(s: &str) -> Option<&str> {
    let digits = s.strip_prefix("0x")?;
    (digits.len() == 64 && digits.bytes().all(|b| b.is_ascii_hexdigit())).then_some(digits)
}

/// `data` of a Transfer: exactly one 32-byte word, the uint256 value.
fn decode_amount(data: &str) -> Result<Amount, DecodeError> {
    let Some(digits) = data.strip_prefix("0x") else {
        return Err(DecodeError::BadAmount(format!(
            "no 0x prefix: {}",
            clip(data)
        )));
    };
    if digits.len() != 64 {
        return Err(DecodeError::BadAmount(format!(
            "{} hex digits, a uint256 word has 64",
            digits.len()
        )));
    }
    if word(data).is_none() {
        return Err(DecodeError::BadAmount(format!("not hex: {}", clip(data))));
    }
    // 64 hex digits always fit 256 bits.
    Amount::from_hex(&format!("0x{}", digits.to_ascii_lowercase()))
        .map_err(|e| DecodeError::BadAmount(e.to_string()))
}

fn decode_tx_hash(s: &str) -> Result<String, DecodeError> {
    let hex = s.strip_prefix("0x").ok_or(DecodeError::BadTxHash)?;
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(DecodeError::BadTxHash);
    }
    Ok(format!("0x{}", hex.to_ascii_lowercase()))
}

fn clip(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(80).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::TokenSymbol;

    const FROM: &str = "0x0000000000000000000000001111111111111111111111111111111111111111";
    const TO: &str = "0x0000000000000000000000002222222222222222222222222222222222222222";
    const USDT: &str = "0xdac17f958d2ee523a2206206994597c13d831ec7";
    const MAX: &str =
        "115792089237316195423570985008687907853269984665640564039457584007913129639935";

    fn eth() -> (Chain, Token) {
        let chain = Chain::by_name("ethereum").unwrap();
        let token = chain.token(TokenSymbol::Usdt).unwrap().clone();
        (chain, token)
    }

    fn item(address: &str, topics: &[&str], data: &str) -> Value {
        json!({
            "address": address,
            "topics": topics,
            "data": data,
            "blockNumber": "0x10",
            "blockHash": format!("0x{}", "ab".repeat(32)),
            "timeStamp": "0x6553f100",
            "gasPrice": "0x", "gasUsed": "0x",
            "logIndex": "0x",
            "transactionHash": format!("0x{}", "CD".repeat(32)),
            "transactionIndex": "0x",
        })
    }

    fn amount_word(hex: &str) -> String {
        format!("0x{hex:0>64}")
    }

    #[test]
    fn table() {
        let (chain, token) = eth();
        let t = TRANSFER_TOPIC;
        let ok = |raw: &str| Ok::<_, DecodeError>(Amount::from_dec(raw).unwrap());
        let cases: Vec<(&str, Value, Result<Amount, DecodeError>)> = vec![
            (
                "plain",
                item(USDT, &[t, FROM, TO], &amount_word("f4240")),
                ok("1000000"),
            ),
            (
                "checksummed contract",
                item(
                    "0xdAC17F958D2ee523a2206206994597C13D831ec7",
                    &[t, FROM, TO],
                    &amount_word("1"),
                ),
                ok("1"),
            ),
            (
                "0x is not a word",
                item(USDT, &[t, FROM, TO], "0x"),
                Err(DecodeError::BadAmount(
                    "0 hex digits, a uint256 word has 64".into(),
                )),
            ),
            (
                "zero word",
                item(USDT, &[t, FROM, TO], &amount_word("0")),
                ok("0"),
            ),
            (
                "uint256 max",
                item(USDT, &[t, FROM, TO], &format!("0x{}", "f".repeat(64))),
                ok(MAX),
            ),
            (
                "above u128",
                item(
                    USDT,
                    &[t, FROM, TO],
                    &amount_word(&format!("1{}", "0".repeat(32))),
                ),
                ok("340282366920938463463374607431768211456"),
            ),
            (
                "uppercase topic0",
                item(
                    USDT,
                    &[&t.to_ascii_uppercase().replace("0X", "0x"), FROM, TO],
                    &amount_word("1"),
                ),
                ok("1"),
            ),
            (
                "more than 256 bits",
                item(USDT, &[t, FROM, TO], &format!("0x1{}", "0".repeat(64))),
                Err(DecodeError::BadAmount(
                    "65 hex digits, a uint256 word has 64".into(),
                )),
            ),
            (
                "two words",
                item(USDT, &[t, FROM, TO], &format!("0x{}", "0".repeat(128))),
                Err(DecodeError::BadAmount(
                    "128 hex digits, a uint256 word has 64".into(),
                )),
            ),
            (
                "data not hex",
                item(USDT, &[t, FROM, TO], &amount_word("zz")),
                Err(DecodeError::BadAmount(format!(
                    "not hex: {}",
                    amount_word("zz")
                ))),
            ),
            (
                "erc-721: 4 topics",
                item(USDT, &[t, FROM, TO, &amount_word("7")], "0x"),
                Err(DecodeError::TopicCount(4)),
            ),
            (
                "2 topics",
                item(USDT, &[t, FROM], "0x01"),
                Err(DecodeError::TopicCount(2)),
            ),
            (
                "approval event",
                item(USDT, &[&format!("0x{}", "8c".repeat(32)), FROM, TO], "0x01"),
                Err(DecodeError::NotTransfer),
            ),
            (
                "non-zero padding",
                item(
                    USDT,
                    &[
                        t,
                        "0x0000000000000000000000011111111111111111111111111111111111111111",
                        TO,
                    ],
                    "0x01",
                ),
                Err(DecodeError::BadAddress(1)),
            ),
            (
                "short topic",
                item(USDT, &[t, FROM, "0x2222"], "0x01"),
                Err(DecodeError::BadTopic(2)),
            ),
            (
                "fake token",
                item(
                    "0x1111111111111111111111111111111111111111",
                    &[t, FROM, TO],
                    "0x01",
                ),
                Err(DecodeError::WrongContract(
                    "0x1111111111111111111111111111111111111111".into(),
                )),
            ),
            (
                "usdc log while scanning usdt",
                item(
                    "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48",
                    &[t, FROM, TO],
                    "0x01",
                ),
                Err(DecodeError::WrongContract(
                    "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48".into(),
                )),
            ),
            (
                "31-byte data (issue 9, fault 3)",
                item(USDT, &[t, FROM, TO], &format!("0x{}", "f".repeat(62))),
                Err(DecodeError::BadAmount(
                    "62 hex digits, a uint256 word has 64".into(),
                )),
            ),
            (
                "33-byte data",
                item(USDT, &[t, FROM, TO], &format!("0x{}", "0".repeat(66))),
                Err(DecodeError::BadAmount(
                    "66 hex digits, a uint256 word has 64".into(),
                )),
            ),
            (
                "odd-length data",
                item(USDT, &[t, FROM, TO], &format!("0x{}", "0".repeat(63))),
                Err(DecodeError::BadAmount(
                    "63 hex digits, a uint256 word has 64".into(),
                )),
            ),
            (
                "data without 0x",
                item(USDT, &[t, FROM, TO], &"0".repeat(64)),
                Err(DecodeError::BadAmount(format!(
                    "no 0x prefix: {}",
                    "0".repeat(64)
                ))),
            ),
            (
                "data with 0X",
                item(USDT, &[t, FROM, TO], &amount_word("1").replace("0x", "0X")),
                Err(DecodeError::BadAmount(format!(
                    "no 0x prefix: 0X{:0>64}",
                    "1"
                ))),
            ),
            (
                "uppercase data digits are the same value",
                item(USDT, &[t, FROM, TO], &amount_word("F4240")),
                ok("1000000"),
            ),
            (
                "uppercase address digits are the same address",
                item(USDT, &[t, &FROM.replace("11", "AA"), TO], &amount_word("1")),
                ok("1"),
            ),
            (
                "dirty upper bytes of an address topic",
                item(
                    USDT,
                    &[
                        t,
                        FROM,
                        &format!("0xff0000000000000000000000{}", "22".repeat(20)),
                    ],
                    &amount_word("1"),
                ),
                Err(DecodeError::BadAddress(2)),
            ),
            (
                "a 31-byte address topic",
                item(
                    USDT,
                    &[t, &format!("0x{}", &FROM[4..]), TO],
                    &amount_word("1"),
                ),
                Err(DecodeError::BadTopic(1)),
            ),
            (
                "a 33-byte topic0",
                item(USDT, &[&format!("{t}00"), FROM, TO], &amount_word("1")),
                Err(DecodeError::BadTopic(0)),
            ),
            (
                "a topic without 0x",
                item(USDT, &[t, FROM, &TO[2..]], &amount_word("1")),
                Err(DecodeError::BadTopic(2)),
            ),
            (
                "a topic with 0X",
                item(USDT, &[t, &FROM.replace("0x", "0X"), TO], &amount_word("1")),
                Err(DecodeError::BadTopic(1)),
            ),
        ];
        for (name, it, want) in cases {
            let got = decode_item(&chain, &token, it).map(|t| t.amount);
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn fields_are_decoded_exactly() {
        let (chain, token) = eth();
        let t = decode_item(
            &chain,
            &token,
            item(USDT, &[TRANSFER_TOPIC, FROM, TO], &amount_word("5")),
        )
        .unwrap();
        assert_eq!(t.chain_id, 1);
        assert_eq!(t.block, 16);
        assert_eq!(t.log_index, 0, "\"0x\" log index is zero");
        assert_eq!(t.timestamp, 0x6553f100);
        assert_eq!(t.tx_hash, format!("0x{}", "cd".repeat(32)));
        assert_eq!(
            t.from.as_str(),
            "0x1111111111111111111111111111111111111111"
        );
        assert_eq!(t.to.as_str(), "0x2222222222222222222222222222222222222222");
        assert_eq!(t.token, TokenSymbol::Usdt);
        assert_eq!(t.decimals, 6);
    }

    #[test]
    fn malformed_items_are_rejected_not_panicked_on() {
        let (chain, token) = eth();
        let bad = [
            json!(null),
            json!("a string"),
            json!({"address": USDT}),
            json!({"address": 5, "topics": [], "data": "0x", "blockNumber": "0x1", "timeStamp": "0x1", "logIndex": "0x1", "transactionHash": "0x"}),
        ];
        for b in bad {
            assert!(matches!(
                decode_item(&chain, &token, b),
                Err(DecodeError::Shape(_))
            ));
        }
        let one = amount_word("1");
        for (field, value) in [
            ("blockNumber", "16"),
            ("blockNumber", "0x1ffffffffffffffff"),
            ("logIndex", "0xg"),
            ("logIndex", "-0x1"),
            ("timeStamp", ""),
        ] {
            let mut it = item(USDT, &[TRANSFER_TOPIC, FROM, TO], &one);
            it[field] = json!(value);
            assert_eq!(
                decode_item(&chain, &token, it),
                Err(DecodeError::BadQuantity(match field {
                    "blockNumber" => "blockNumber",
                    "logIndex" => "logIndex",
                    _ => "timeStamp",
                })),
                "{field} = {value:?}"
            );
        }
        let mut it = item(USDT, &[TRANSFER_TOPIC, FROM, TO], &one);
        it["transactionHash"] = json!("0x1234");
        assert_eq!(decode_item(&chain, &token, it), Err(DecodeError::BadTxHash));
        let mut it = item(USDT, &[TRANSFER_TOPIC, FROM, TO], &one);
        it["address"] = json!("not an address");
        assert!(matches!(
            decode_item(&chain, &token, it),
            Err(DecodeError::WrongContract(_))
        ));
    }
}
