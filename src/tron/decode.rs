//! Strict decoding of one TronGrid `Transfer` event item into a
//! [`Transfer`].
//!
//! Item shape (`/v1/contracts/{contract}/events`, reference tron.md):
//! `block_number`, `block_timestamp` (ms), `contract_address` (`T…`),
//! `event_name` `"Transfer"`, `event_index`, `transaction_id` (64 hex, no
//! `0x`), `result`, and usually `event` (the ABI signature, e.g.
//! `Transfer(address indexed from, address indexed to, uint256 value)`) and
//! `result_type`.
//!
//! **The three values** (sender, recipient, amount) are found by position
//! and by name, because TRC-20 contracts name their parameters freely
//! (`from`/`to`/`value`, `_from`/`_to`/`_value`, `src`/`dst`/`wad`,
//! `tokens`, …): `result` carries every parameter under its index (`"0"`,
//! `"1"`, `"2"`) and under the ABI's name. The names are taken from the
//! `event` signature when it has one, else from the usual spellings
//! ([`KNOWN_NAMES`]). When both the positions and the names are there they
//! must agree; either alone is enough. A signature that is not
//! `(address, address, uint…)` is not a token transfer and is rejected.
//!
//! Addresses are accepted in every form TronGrid writes: `0x` + up to 40
//! hex digits (left-padded), the 21-byte `41…` form, or base58 `T…`. The
//! amount is a decimal string (or a JSON integer) within 256 bits.
//!
//! Anything else — a missing field, a wrong contract or event, an
//! unconfirmed item, an amount that is not a plain decimal integer within
//! 256 bits, an address that is none of the forms above, positions and
//! names that disagree, a txid that is not 64 hex digits — is rejected (the
//! scanner counts it, and a token whose every event is rejected raises an
//! admin alert: [`alert_if_undecodable`]), never guessed at.
//!
//! The stored transaction hash is `0x` + the lowercase txid (the
//! transfers table's one canonical form, as for EVM chains); `log_index` is
//! the `event_index`. Links strip the `0x` (tronscan wants the bare txid).

use serde_json::Value;

use crate::domain::{Address, Amount, Chain, Token, Transfer};
use crate::metrics::Alerts;

/// Parameter names of `Transfer(address, address, uint256)` seen in TRC-20
/// (and ERC-20) contracts, tried in this order when the item carries no
/// `event` signature.
pub const KNOWN_NAMES: [[&str; 3]; 7] = [
    ["from", "to", "value"],
    ["_from", "_to", "_value"],
    ["from", "to", "tokens"],
    ["_from", "_to", "_amount"],
    ["from", "to", "amount"],
    ["src", "dst", "wad"],
    ["sender", "recipient", "amount"],
];

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
    #[error("`{0}` is not a Tron address (0x…, 41… or T…)")]
    BadAddress(&'static str),
    #[error("value is not a decimal uint256")]
    BadValue,
    #[error("transaction id is not 64 hex digits")]
    BadTxId,
    #[error(
        "`result` has neither the positions \"0\", \"1\", \"2\" nor the parameter names of a transfer"
    )]
    NoParameters,
    #[error("`result`'s positional and named parameters disagree")]
    Disagree,
    #[error("the event's signature is not Transfer(address, address, uint…): {0}")]
    Signature(String),
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

/// An address value in any of TronGrid's forms.
fn address(v: &Value, which: &'static str) -> Result<Address, DecodeError> {
    let s = v.as_str().ok_or(DecodeError::BadAddress(which))?;
    if s.starts_with('T') {
        return Address::parse_tron(s).map_err(|_| DecodeError::BadAddress(which));
    }
    let hex = s
        .strip_prefix("0x")
        .or_else(|| s.strip_prefix("0X"))
        .or_else(|| (s.len() == 42 && s.starts_with("41")).then_some(s))
        .ok_or(DecodeError::BadAddress(which))?;
    if hex.is_empty() || (hex.len() > 40 && !(hex.len() == 42 && hex.starts_with("41"))) {
        return Err(DecodeError::BadAddress(which));
    }
    Address::parse_tron_hex(s).map_err(|_| DecodeError::BadAddress(which))
}

/// A uint256 amount: a decimal string, or a JSON integer.
fn amount(v: &Value) -> Result<Amount, DecodeError> {
    if let Some(n) = v.as_u64() {
        return Ok(Amount::from_u128(u128::from(n)));
    }
    let s = v.as_str().ok_or(DecodeError::BadValue)?;
    if s.len() > 78 {
        return Err(DecodeError::BadValue);
    }
    Amount::from_dec(s).map_err(|_| DecodeError::BadValue)
}

/// The parameter names of an `event` signature such as
/// `Transfer(address indexed from, address indexed to, uint256 value)`,
/// checked to be (address, address, uint…). `Ok(None)`: the names are
/// not all given (the positions still decode).
fn signature_names(sig: &str) -> Result<Option<[&str; 3]>, DecodeError> {
    let bad = || DecodeError::Signature(sig.chars().take(120).collect());
    let inner = sig
        .trim()
        .strip_prefix("Transfer(")
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(bad)?;
    let params: Vec<Vec<&str>> = inner
        .split(',')
        .map(|p| p.split_whitespace().collect())
        .collect();
    if params.len() != 3 {
        return Err(bad());
    }
    let types = ["address", "address", "uint"];
    let mut names = [""; 3];
    for (i, p) in params.iter().enumerate() {
        let ty = p.first().copied().unwrap_or_default();
        let ok = if i < 2 {
            ty == "address"
        } else {
            ty.strip_prefix(types[2])
                .is_some_and(|bits| bits.bytes().all(|b| b.is_ascii_digit()))
        };
        if !ok {
            return Err(bad());
        }
        match p[1..] {
            [name] | ["indexed", name] => names[i] = name,
            _ => return Ok(None),
        }
    }
    Ok(Some(names))
}

/// Sender, recipient and amount of a `result` object (see the module docs).
fn parameters(item: &Value) -> Result<(Address, Address, Amount), DecodeError> {
    let result = item.get("result").ok_or(DecodeError::Field("result"))?;
    if !result.is_object() {
        return Err(DecodeError::Field("result"));
    }
    let signed = match item.get("event").and_then(Value::as_str) {
        Some(sig) => signature_names(sig)?,
        None => None,
    };
    let named = signed
        .into_iter()
        .chain(KNOWN_NAMES)
        .find(|names| names.iter().all(|n| result.get(n).is_some()));
    let positional = ["0", "1", "2"];
    let by_position = positional.iter().all(|k| result.get(k).is_some());
    let decode = |keys: [&str; 3]| -> Result<(Address, Address, Amount), DecodeError> {
        Ok((
            address(&result[keys[0]], "from")?,
            address(&result[keys[1]], "to")?,
            amount(&result[keys[2]])?,
        ))
    };
    match (by_position, named) {
        (true, Some(names)) => {
            let a = decode(positional)?;
            if decode(names)? != a {
                return Err(DecodeError::Disagree);
            }
            Ok(a)
        }
        (true, None) => decode(positional),
        (false, Some(names)) => decode(names),
        (false, None) => Err(DecodeError::NoParameters),
    }
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
    let (from, to, amount) = parameters(item)?;
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

/// The alert key of a token whose events cannot be decoded.
pub fn undecodable_alert_key(token: &Token) -> String {
    format!("tron:undecodable:{}", token.contract.to_tron())
}

/// After one scan of `token` that saw `events` items and rejected
/// `rejected` of them: every one rejected raises one admin alert (kept
/// active, so raised once, until an event of the token decodes again).
pub fn alert_if_undecodable(alerts: &Alerts, token: &Token, events: usize, rejected: usize) {
    let key = undecodable_alert_key(token);
    if events > 0 && rejected == events {
        alerts.raise(
            &key,
            format!(
                "Tron {} ({}): all {events} Transfer events of the last scan were rejected \
                 (see the log's \"event rejected\" lines): nobody is notified of this token. \
                 Check the contract in [[monitor.contracts]].",
                token.symbol.as_str(),
                token.contract.to_tron()
            ),
        );
    } else if rejected < events {
        alerts.resolve(&key);
    }
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::tron::tests_support::tron_usdt;

    const FROM: &str = "0x1111111111111111111111111111111111111111";
    const TO: &str = "0x2222222222222222222222222222222222222222";

    fn item(result: Value, event: Option<&str>) -> Value {
        let mut v = json!({"block_number": 85919983u64, "block_timestamp": 1788431625000u64,
            "contract_address": "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "event_index": 0,
            "event_name": "Transfer", "result": result,
            "transaction_id": "ab".repeat(32)});
        if let Some(sig) = event {
            v["event"] = json!(sig);
        }
        v
    }

    fn decoded(v: &Value) -> Result<(String, String, Amount), DecodeError> {
        let (chain, token) = tron_usdt();
        decode_event(&chain, &token, v)
            .map(|t| (t.from.as_str().into(), t.to.as_str().into(), t.amount))
    }

    fn expected(value: u128) -> Result<(String, String, Amount), DecodeError> {
        Ok((FROM.into(), TO.into(), Amount::from_u128(value)))
    }

    /// `_from`/`_to`/`_value` (common in TRC-20 contracts) used to be
    /// rejected as "field `from` missing": by position, by the signature's
    /// names, or by a known spelling, each shape decodes.
    #[test]
    fn any_parameter_names_decode_by_position_or_by_the_abi() {
        let sig = "Transfer(address indexed _from, address indexed _to, uint256 _value)";
        let both = json!({"0": FROM, "1": TO, "2": "7", "_from": FROM, "_to": TO, "_value": "7"});
        assert_eq!(decoded(&item(both.clone(), Some(sig))), expected(7));
        assert_eq!(decoded(&item(both, None)), expected(7));
        let positions = json!({"0": FROM, "1": TO, "2": "8"});
        assert_eq!(decoded(&item(positions, None)), expected(8));
        let sig = "Transfer(address indexed src, address indexed dst, uint wad)";
        let names = json!({"src": FROM, "dst": TO, "wad": "9"});
        assert_eq!(decoded(&item(names.clone(), Some(sig))), expected(9));
        assert_eq!(decoded(&item(names, None)), expected(9), "a known spelling");
        let tokens = json!({"from": FROM, "to": TO, "tokens": 10});
        assert_eq!(decoded(&item(tokens, None)), expected(10), "a JSON integer");
        let odd = json!({"a": FROM, "b": TO, "c": "11"});
        let sig = "Transfer(address a, address b, uint256 c)";
        assert_eq!(decoded(&item(odd.clone(), Some(sig))), expected(11));
        assert_eq!(decoded(&item(odd, None)), Err(DecodeError::NoParameters));
    }

    #[test]
    fn every_address_form_decodes_and_shapes_that_are_no_transfer_are_refused() {
        let forms = json!({"0": "TBXSw8fM4jpQkGc6zZjsVABFpVN7UvXPdV", "1": format!("41{}", &TO[2..]),
            "2": "1"});
        let (chain, token) = tron_usdt();
        let t = decode_event(&chain, &token, &item(forms, None)).unwrap();
        assert_eq!(t.from.to_tron(), "TBXSw8fM4jpQkGc6zZjsVABFpVN7UvXPdV");
        assert_eq!(t.to.as_str(), TO);
        let zero = json!({"0": "0x0", "1": TO, "2": "1"});
        let t = decode_event(&chain, &token, &item(zero, None)).unwrap();
        assert_eq!(t.from.as_str(), format!("0x{}", "0".repeat(40)));

        let disagree = json!({"0": FROM, "1": TO, "2": "1", "from": TO, "to": TO, "value": "1"});
        assert_eq!(decoded(&item(disagree, None)), Err(DecodeError::Disagree));
        let nft = json!({"0": FROM, "1": TO, "2": "1"});
        let sig = "Transfer(address indexed from, address indexed to, bytes32 id)";
        assert!(matches!(
            decoded(&item(nft, Some(sig))),
            Err(DecodeError::Signature(_))
        ));
        for bad in [
            json!(""),
            json!("0x"),
            json!("0xzz"),
            json!(5),
            json!("41abc"),
        ] {
            let r = json!({"0": bad, "1": TO, "2": "1"});
            assert_eq!(
                decoded(&item(r, None)),
                Err(DecodeError::BadAddress("from"))
            );
        }
    }

    #[test]
    fn a_token_whose_every_event_is_rejected_raises_one_alert_until_one_decodes() {
        let (_, token) = tron_usdt();
        let m = Alerts::default();
        alert_if_undecodable(&m, &token, 0, 0);
        assert!(m.take_undelivered().is_empty(), "no events, no alert");
        alert_if_undecodable(&m, &token, 5, 5);
        alert_if_undecodable(&m, &token, 3, 3);
        let alerts = m.take_undelivered();
        assert_eq!(alerts.len(), 1);
        assert!(
            alerts[0]
                .text
                .contains("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"),
            "{}",
            alerts[0].text
        );
        alert_if_undecodable(&m, &token, 4, 1);
        assert!(m.active_alerts().is_empty(), "resolved once events decode");
    }
}
