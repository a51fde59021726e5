//! Strict decoding of one TronGrid `Transfer` event item into a
//! [`Transfer`].
//!
//! Item shape (`/v1/contracts/{contract}/events`, reference tron.md):
//! `block_number`, `block_timestamp` (ms), `contract_address` (`T…`),
//! `event_name` `"Transfer"`, `event_index`, `transaction_id` (64 hex, no
//! `0x`), `result.from` / `result.to` (`0x` + 20-byte hex), `result.value`
//! (decimal string). Anything else — a missing field, a wrong contract or
//! event, an unconfirmed item, a value that is not a plain decimal integer
//! within 256 bits, an address that is not 20 bytes of hex, a txid that is
//! not 64 hex digits — is rejected (the scanner counts it; nobody is
//! notified), never guessed at.
//!
//! The stored transaction hash is `0x` + the lowercase txid (the
//! transfers table's one canonical form, as for EVM chains); `log_index` is
//! the `event_index`. Links strip the `0x` (tronscan wants the bare txid).

use serde_json::Value;

use crate::domain::{Address, Amount, Chain, Token, Transfer};

/// Why an event item was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("field `{0}` missing or of the wrong type")]
    Field(&'static str),
    #[error("not a Transfer event")]
    NotTransfer,
    #[error("emitted by another contract")]
    WrongContract,
    #[error("not confirmed")]
    Unconfirmed,
    #[error("`{0}` is not a 20-byte hex address")]
    BadAddress(&'static str),
    #[error("value is not a decimal uint256")]
    BadValue,
    #[error("transaction id is not 64 hex digits")]
    BadTxId,
}

fn u64_of(item: &Value, key: &'static str) -> Result<u64, DecodeError> {
    item.get(key)
        .and_then(Value::as_u64)
        .ok_or(DecodeError::Field(key))
}

fn str_of<'a>(v: &'a Value, key: &'static str) -> Result<&'a str, DecodeError> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or(DecodeError::Field(key))
}

/// A `0x` + 40 hex address (any case); TronGrid's documented form only.
fn address(v: &Value, key: &'static str) -> Result<Address, DecodeError> {
    let s = str_of(v, key)?;
    let hex = s.strip_prefix("0x").ok_or(DecodeError::BadAddress(key))?;
    if hex.len() != 40 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(DecodeError::BadAddress(key));
    }
    Address::parse(&s.to_ascii_lowercase()).map_err(|_| DecodeError::BadAddress(key))
}

/// Decodes one event item of `token` on the Tron `chain`.
pub fn decode_event(chain: &Chain, token: &Token, item: &Value) -> Result<Transfer, DecodeError> {
    if item.get("_unconfirmed").and_then(Value::as_bool) == Some(true) {
        return Err(DecodeError::Unconfirmed);
    }
    if str_of(item, "event_name")? != "Transfer" {
        return Err(DecodeError::NotTransfer);
    }
    let contract = str_of(item, "contract_address")?;
    match Address::parse_tron(contract) {
        Ok(a) if a == token.contract => {}
        _ => return Err(DecodeError::WrongContract),
    }
    let block = u64_of(item, "block_number")?;
    let timestamp_ms = u64_of(item, "block_timestamp")?;
    let log_index = u64_of(item, "event_index")?;
    let txid = str_of(item, "transaction_id")?;
    if txid.len() != 64 || !txid.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(DecodeError::BadTxId);
    }
    let result = item.get("result").ok_or(DecodeError::Field("result"))?;
    let from = address(result, "from")?;
    let to = address(result, "to")?;
    let value = str_of(result, "value")?;
    if value.len() > 78 {
        return Err(DecodeError::BadValue);
    }
    let amount = Amount::from_dec(value).map_err(|_| DecodeError::BadValue)?;
    Ok(Transfer {
        chain_id: chain.id,
        tx_hash: format!("0x{}", txid.to_ascii_lowercase()),
        log_index,
        block,
        timestamp: timestamp_ms / 1000,
        token: token.symbol,
        contract: token.contract.clone(),
        decimals: token.decimals,
        from,
        to,
        amount,
    })
}

/// The item's `block_number` and `block_timestamp`, if it has them (for a
/// rejected item too: the scan's progress does not depend on decoding).
pub fn position(item: &Value) -> Option<(u64, u64)> {
    Some((
        item.get("block_number")?.as_u64()?,
        item.get("block_timestamp")?.as_u64()?,
    ))
}

/// The dedupe key of an item as received: (transaction id, event index).
pub fn key(item: &Value) -> Option<(String, u64)> {
    Some((
        item.get("transaction_id")?.as_str()?.to_ascii_lowercase(),
        item.get("event_index")?.as_u64()?,
    ))
}
