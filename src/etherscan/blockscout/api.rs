//! Blockscout's answers on its Etherscan-compatible `/api` (see
//! `shared/reference/blockscout.md`), classified into the same
//! [`ApiError`]s as Etherscan's, and its log items normalised into the shape
//! the canonical decoder ([`crate::etherscan::decode`]) reads — so that the
//! shared decoder never learns a Blockscout quirk.
//!
//! Differences handled here:
//! - head: `module=block&action=eth_block_number` →
//!   `{"jsonrpc":"2.0","result": "0x103538a","id": 1}`;
//! - `topics` always has 4 entries, absent ones JSON `null`: trailing nulls
//!   are dropped (an ERC-20 Transfer is 3 non-null topics); a null *before*
//!   a topic becomes `""`, which the decoder rejects;
//! - zero is `"0x0"` (the decoder reads it as zero like Etherscan's `"0x"`);
//!   no `blockHash`;
//! - "No logs found" (`status 0`, `result []`) is empty, not an error;
//! - errors put the reason in `message` with `result: null`; HTTP 429 is
//!   "Too many requests", 400 an unknown module or action, 5xx and non-JSON
//!   bodies are transient.

use serde_json::Value;

use super::super::api::{Envelope, classify_reason, clip, parse_hex_u64};
use super::super::error::ApiError;

/// At most this many logs per getLogs answer (no paging: page by block range).
pub const MAX_LOGS: usize = 1000;

/// Maps a Blockscout reason to what it means for us.
fn classify(reason: &str) -> ApiError {
    let text = clip(reason);
    if reason.to_ascii_lowercase().contains("too many requests") {
        ApiError::RateLimited(text)
    } else {
        classify_reason(&text)
    }
}

/// The reason of an error answer: `message`, or `result` when it is a string.
fn reason_of(env: &Envelope) -> String {
    match &env.result {
        Value::String(r) if !r.is_empty() => r.clone(),
        _ => env.message.clone(),
    }
}

/// Errors carried by the HTTP status. Blockscout's 4xx bodies hold a
/// reason worth logging; 5xx bodies may be empty.
fn classify_status(status: u16, body: &[u8]) -> Option<ApiError> {
    match status {
        200 => None,
        429 => Some(ApiError::RateLimited("HTTP 429 Too many requests".into())),
        s if (400..500).contains(&s) => Some(
            serde_json::from_slice::<Envelope>(body)
                .map(|env| ApiError::Notok(format!("HTTP {s}: {}", clip(&reason_of(&env)))))
                .unwrap_or(ApiError::Http(s)),
        ),
        s => Some(ApiError::Http(s)),
    }
}

/// `logs/getLogs`: the items in the Etherscan shape, empty for "No logs found".
pub fn parse_logs(status: u16, body: &[u8]) -> Result<Vec<Value>, ApiError> {
    if let Some(e) = classify_status(status, body) {
        return Err(e);
    }
    let env: Envelope = serde_json::from_slice(body)
        .map_err(|e| ApiError::Malformed(format!("not a status envelope: {e}")))?;
    match (env.status.as_str(), env.result) {
        ("1", Value::Array(items)) => Ok(items.into_iter().map(normalise).collect()),
        ("1", _) => Err(ApiError::Malformed("status 1 without a result list".into())),
        ("0", Value::Array(items)) if items.is_empty() => Ok(Vec::new()),
        ("0", result) => Err(classify(&reason_of(&Envelope {
            status: env.status,
            message: env.message,
            result,
        }))),
        (other, _) => Err(ApiError::Malformed(format!(
            "unknown status {:?}",
            other.chars().take(40).collect::<String>()
        ))),
    }
}

/// `block/eth_block_number`: the highest block the explorer has indexed.
/// Only `0x` and 1 to 16 hex digits, not zero, is a head; anything else is
/// [`ApiError::UnknownHead`], as for Etherscan.
pub fn parse_block_number(status: u16, body: &[u8]) -> Result<u64, ApiError> {
    if let Some(e) = classify_status(status, body) {
        return Err(e);
    }
    let v: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::Malformed(format!("not JSON: {e}")))?;
    if v.get("status").is_some() {
        let env: Envelope = serde_json::from_value(v)
            .map_err(|e| ApiError::Malformed(format!("not a status envelope: {e}")))?;
        return Err(match classify(&reason_of(&env)) {
            ApiError::Notok(r) => ApiError::UnknownHead(r),
            e => e,
        });
    }
    match v.get("result") {
        Some(Value::String(hex)) if hex.len() > 2 => match parse_hex_u64(hex) {
            Some(head) if head > 0 => Ok(head),
            _ => Err(ApiError::UnknownHead(format!("result {hex:.40}"))),
        },
        Some(other) => Err(ApiError::UnknownHead(format!(
            "result {:.40}",
            other.to_string()
        ))),
        None => Err(ApiError::UnknownHead("no result".into())),
    }
}

/// One Blockscout log item → the Etherscan item shape: trailing `null`
/// topics dropped, an inner `null` made `""` (rejected by the decoder).
/// Anything that is not an object with a topic list is left as it is, for
/// the decoder to reject.
fn normalise(mut item: Value) -> Value {
    if let Some(Value::Array(topics)) = item.get_mut("topics") {
        while topics.last().is_some_and(Value::is_null) {
            topics.pop();
        }
        for t in topics.iter_mut().filter(|t| t.is_null()) {
            *t = Value::String(String::new());
        }
    }
    item
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::domain::chain::TRANSFER_TOPIC;
    use crate::domain::{Chain, TokenSymbol};
    use crate::etherscan::decode::{DecodeError, decode_item};

    fn item(topics: Value, log_index: &str) -> Value {
        json!({
            "address": "0xdac17f958d2ee523a2206206994597c13d831ec7",
            "topics": topics,
            "data": "0x00000000000000000000000000000000000000000000000000000000000f4240",
            "blockNumber": "0x1661760", "timeStamp": "0x68a1b2c3", "gasPrice": "0x3b9aca00",
            "gasUsed": "0xb4f3", "logIndex": log_index,
            "transactionHash": format!("0x{}", "ab".repeat(32)), "transactionIndex": "0x0"
        })
    }

    fn from() -> &'static str {
        "0x0000000000000000000000001111111111111111111111111111111111111111"
    }

    fn to() -> &'static str {
        "0x0000000000000000000000002222222222222222222222222222222222222222"
    }

    fn decode(v: Value) -> Result<crate::domain::Transfer, DecodeError> {
        let chain = Chain::by_id(1).unwrap();
        let token = chain.token(TokenSymbol::Usdt).unwrap().clone();
        decode_item(&chain, &token, v)
    }

    fn ok(items: Vec<Value>) -> Vec<u8> {
        json!({"status": "1", "message": "OK", "result": items})
            .to_string()
            .into_bytes()
    }

    /// Blockscout's 4 topics with a trailing null decode as a Transfer.
    #[test]
    fn null_topics_are_a_transfer_with_three() {
        let body = ok(vec![item(
            json!([TRANSFER_TOPIC, from(), to(), null]),
            "0x0",
        )]);
        let items = parse_logs(200, &body).unwrap();
        let t = decode(items[0].clone()).unwrap();
        assert_eq!(t.amount.to_string(), "1000000");
        assert_eq!(t.log_index, 0, "\"0x0\" is zero");
        assert_eq!(t.block, 0x1661760);
    }

    /// A null before a topic, or a real fourth topic (ERC-721), is no Transfer.
    #[test]
    fn null_topics_never_hide_a_non_canonical_log() {
        let gap = ok(vec![item(json!([TRANSFER_TOPIC, null, to(), null]), "0x1")]);
        let items = parse_logs(200, &gap).unwrap();
        assert!(matches!(
            decode(items[0].clone()),
            Err(DecodeError::BadTopic(1))
        ));
        let nft = ok(vec![item(
            json!([TRANSFER_TOPIC, from(), to(), to()]),
            "0x1",
        )]);
        let items = parse_logs(200, &nft).unwrap();
        assert!(matches!(
            decode(items[0].clone()),
            Err(DecodeError::TopicCount(4))
        ));
        // The docs' 3-topic shape with "0x" is accepted too.
        let docs = ok(vec![item(json!([TRANSFER_TOPIC, from(), to()]), "0x")]);
        assert_eq!(
            decode(parse_logs(200, &docs).unwrap()[0].clone())
                .unwrap()
                .log_index,
            0
        );
    }

    /// Zero written "0x0" in every quantity.
    #[test]
    fn zero_written_0x0() {
        let mut v = item(json!([TRANSFER_TOPIC, from(), to(), null]), "0x0");
        v["timeStamp"] = json!("0x0");
        let t = decode(parse_logs(200, &ok(vec![v])).unwrap()[0].clone()).unwrap();
        assert_eq!((t.timestamp, t.log_index), (0, 0));
        let head = br#"{"jsonrpc":"2.0","result": "0x0","id": 1}"#;
        assert!(matches!(
            parse_block_number(200, head),
            Err(ApiError::UnknownHead(_))
        ));
    }

    /// Errors carry the reason in `message` with `result: null`.
    #[test]
    fn result_null_errors_keep_their_reason() {
        let body = br#"{"status":"0","message":"Invalid fromBlock format","result":null}"#;
        assert_eq!(
            parse_logs(200, body),
            Err(ApiError::Notok("Invalid fromBlock format".into()))
        );
        let body = br#"{"status":"0","message":"Too many requests. Increase limits now at https://dev.blockscout.com","result":null}"#;
        assert!(matches!(
            parse_logs(429, body),
            Err(ApiError::RateLimited(_))
        ));
        assert!(matches!(
            parse_logs(200, body),
            Err(ApiError::RateLimited(_))
        ));
        let body = br#"{"status":"0","message":"Unknown module","result":null}"#;
        assert!(
            matches!(parse_block_number(400, body), Err(ApiError::Notok(r)) if r.contains("Unknown module"))
        );
        let body = br#"{"status":"0","message":"Something went wrong.","result":null}"#;
        assert_eq!(parse_logs(500, body), Err(ApiError::Http(500)));
        assert_eq!(parse_block_number(500, b""), Err(ApiError::Http(500)));
        assert!(matches!(
            parse_logs(200, b"<html>"),
            Err(ApiError::Malformed(_))
        ));
    }

    #[test]
    fn no_logs_found_is_empty() {
        let body = br#"{"status":"0","message":"No logs found","result":[]}"#;
        assert_eq!(parse_logs(200, body), Ok(Vec::new()));
    }

    #[test]
    fn head_in_blockscouts_shape() {
        let body = br#"{"jsonrpc":"2.0","result": "0x103538a","id": 1}"#;
        assert_eq!(parse_block_number(200, body), Ok(0x103538a));
        let body = br#"{"jsonrpc":"2.0","result": null,"id": "7"}"#;
        assert!(matches!(
            parse_block_number(200, body),
            Err(ApiError::UnknownHead(_))
        ));
        let body = br#"{"jsonrpc":"2.0","result": "0x","id": 1}"#;
        assert!(matches!(
            parse_block_number(200, body),
            Err(ApiError::UnknownHead(_))
        ));
    }
}
