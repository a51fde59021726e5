//! Etherscan's answers: the status envelope, the bare JSON-RPC answer of the
//! proxy module, and their classification into [`ApiError`]s.
//!
//! Etherscan reports most errors as HTTP 200 with `status: "0"` and the
//! reason in `result`; "No records found" is also `status: "0"` but is not
//! an error. Reasons are matched by substring (lowercased), as their wording
//! varies ("Max calls per sec rate limit reached (3/sec)", "Max rate limit
//! reached, please use API Key…").

use serde::Deserialize;
use serde_json::Value;

use super::error::ApiError;

/// `{"status":"1"|"0","message":"…","result":…}`.
#[derive(Debug, Deserialize)]
pub(crate) struct Envelope {
    pub(crate) status: String,
    #[serde(default)]
    pub(crate) message: String,
    #[serde(default)]
    pub(crate) result: Value,
}

/// Reasons are quoted in errors and logs: keep them short and printable.
pub(crate) fn clip(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(160).collect()
}

/// Maps a NOTOK reason to what it means for us.
pub fn classify_reason(reason: &str) -> ApiError {
    let lower = reason.to_ascii_lowercase();
    let text = clip(reason);
    if lower.contains("rate limit") {
        if lower.contains("daily") {
            ApiError::DailyLimit(text)
        } else {
            ApiError::RateLimited(text)
        }
    } else if lower.contains("invalid api key") || lower.contains("invalid api-key") {
        ApiError::InvalidKey(text)
    } else if lower.contains("missing or unsupported chainid")
        || lower.contains("not supported for this chain")
    {
        ApiError::UnsupportedChain(text)
    } else if lower.contains("query timeout") {
        ApiError::QueryTimeout
    } else if lower.contains("result window is too large") {
        ApiError::WindowTooLarge
    } else {
        ApiError::Notok(text)
    }
}

/// Errors carried by the HTTP status alone.
fn classify_status(status: u16) -> Option<ApiError> {
    match status {
        200 => None,
        429 => Some(ApiError::RateLimited("HTTP 429 Too Many Requests".into())),
        s => Some(ApiError::Http(s)),
    }
}

/// A list call (`getLogs`): the items, empty for "No records found".
pub fn parse_list(status: u16, body: &[u8]) -> Result<Vec<Value>, ApiError> {
    if let Some(e) = classify_status(status) {
        return Err(e);
    }
    let env: Envelope = serde_json::from_slice(body)
        .map_err(|e| ApiError::Malformed(format!("not a status envelope: {e}")))?;
    match (env.status.as_str(), env.result) {
        ("1", Value::Array(items)) => Ok(items),
        ("1", _) => Err(ApiError::Malformed("status 1 without a result list".into())),
        ("0", result) => {
            let message = env.message.to_ascii_lowercase();
            if message.starts_with("no records found")
                || message.starts_with("no transactions found")
            {
                return Ok(Vec::new());
            }
            Err(match result {
                Value::String(reason) => classify_reason(&reason),
                _ => classify_reason(&env.message),
            })
        }
        (other, _) => Err(ApiError::Malformed(format!(
            "unknown status {:?}",
            clip(other)
        ))),
    }
}

/// `proxy/eth_blockNumber`: a bare JSON-RPC answer on success, the status
/// envelope on error.
///
/// Only `0x` followed by 1 to 16 hex digits, not zero, is a head. `"0x"`
/// (which elsewhere means zero), null, a missing result, a JSON-RPC error
/// object or anything else is [`ApiError::UnknownHead`]: the caller keeps
/// the last head it knew and computes nothing with this one. Quota, key and
/// rate-limit reasons keep their own meaning, wherever they come.
pub fn parse_block_number(status: u16, body: &[u8]) -> Result<u64, ApiError> {
    if let Some(e) = classify_status(status) {
        return Err(e);
    }
    let v: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::Malformed(format!("not JSON: {e}")))?;
    let unknown = |e: ApiError| match e {
        ApiError::Notok(reason) => ApiError::UnknownHead(reason),
        other => other,
    };
    if v.get("status").is_some() {
        let env: Envelope = serde_json::from_value(v)
            .map_err(|e| ApiError::Malformed(format!("not a status envelope: {e}")))?;
        return Err(unknown(match env.result {
            Value::String(reason) if env.status == "0" => classify_reason(&reason),
            _ => classify_reason(&env.message),
        }));
    }
    if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
        let msg = err
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("JSON-RPC error without a message");
        return Err(unknown(classify_reason(msg)));
    }
    match v.get("result") {
        Some(Value::String(hex)) => {
            let digits = hex.strip_prefix("0x").unwrap_or("");
            match parse_hex_u64(hex) {
                Some(head) if !digits.is_empty() && head > 0 => Ok(head),
                _ => Err(ApiError::UnknownHead(format!("result {:?}", clip(hex)))),
            }
        }
        Some(Value::Null) => Err(ApiError::UnknownHead("result null".into())),
        Some(other) => Err(ApiError::UnknownHead(format!(
            "result {}",
            clip(&other.to_string())
        ))),
        None => Err(ApiError::UnknownHead("no result".into())),
    }
}

/// Moved to the neutral [`crate::domain::log`] (shared with JSON-RPC).
pub use crate::domain::log::parse_hex_u64;

#[cfg(test)]
mod tests {
    use super::*;

    fn notok(reason: &str) -> Vec<u8> {
        format!(r#"{{"status":"0","message":"NOTOK","result":"{reason}"}}"#).into_bytes()
    }

    #[test]
    fn classifies_the_documented_reasons() {
        type Check = fn(&ApiError) -> bool;
        let cases: [(&str, Check); 9] = [
            ("Max calls per sec rate limit reached (3/sec)", |e| {
                matches!(e, ApiError::RateLimited(_))
            }),
            (
                "Max rate limit reached, please use API Key for higher rate limit",
                |e| matches!(e, ApiError::RateLimited(_)),
            ),
            (
                "Max daily rate limit reached. 100000 (100%) of 100000 day/limit",
                |e| matches!(e, ApiError::DailyLimit(_)),
            ),
            ("Invalid API Key", |e| matches!(e, ApiError::InvalidKey(_))),
            (
                "Too many invalid api key attempts, please try again later",
                |e| matches!(e, ApiError::InvalidKey(_)),
            ),
            ("Free API access is not supported for this chain", |e| {
                matches!(e, ApiError::UnsupportedChain(_))
            }),
            ("Missing or unsupported chainid parameter", |e| {
                matches!(e, ApiError::UnsupportedChain(_))
            }),
            (
                "Query Timeout occured. Please select a smaller result dataset",
                |e| matches!(e, ApiError::QueryTimeout),
            ),
            ("Error! Invalid address format", |e| {
                matches!(e, ApiError::Notok(_))
            }),
        ];
        for (reason, check) in cases {
            let e = parse_list(200, &notok(reason)).unwrap_err();
            assert!(check(&e), "{reason} -> {e:?}");
            // Other reasons make the head unknown.
            let e = match parse_block_number(200, &notok(reason)).unwrap_err() {
                ApiError::UnknownHead(r) => ApiError::Notok(r),
                e => e,
            };
            assert!(check(&e), "eth_blockNumber: {reason} -> {e:?}");
        }
    }

    #[test]
    fn empty_is_not_an_error() {
        let body = br#"{"status":"0","message":"No records found","result":[]}"#;
        assert_eq!(parse_list(200, body).unwrap(), Vec::<Value>::new());
        let body = br#"{"status":"0","message":"No transactions found","result":[]}"#;
        assert_eq!(parse_list(200, body).unwrap(), Vec::<Value>::new());
    }

    #[test]
    fn http_statuses_and_broken_bodies() {
        assert!(matches!(
            parse_list(429, b""),
            Err(ApiError::RateLimited(_))
        ));
        assert_eq!(parse_list(500, b"oops"), Err(ApiError::Http(500)));
        assert_eq!(parse_block_number(502, b""), Err(ApiError::Http(502)));
        assert!(matches!(
            parse_list(200, br#"{"status":"1","res"#),
            Err(ApiError::Malformed(_))
        ));
        assert!(matches!(
            parse_list(200, b"<html>"),
            Err(ApiError::Malformed(_))
        ));
        assert!(matches!(
            parse_list(200, br#"{"status":"1","message":"OK","result":"x"}"#),
            Err(ApiError::Malformed(_))
        ));
        assert!(matches!(
            parse_list(200, b"[]"),
            Err(ApiError::Malformed(_))
        ));
    }

    #[test]
    fn block_number_and_hex_quantities() {
        let body = br#"{"jsonrpc":"2.0","id":83,"result":"0x1661760"}"#;
        assert_eq!(parse_block_number(200, body).unwrap(), 0x1661760);
        assert_eq!(parse_hex_u64("0x"), Some(0));
        assert_eq!(parse_hex_u64("0x0"), Some(0));
        assert_eq!(parse_hex_u64("0xff"), Some(255));
        assert_eq!(
            parse_hex_u64(&format!("0x{}", "f".repeat(16))),
            Some(u64::MAX)
        );
        assert_eq!(parse_hex_u64(&format!("0x1{}", "0".repeat(16))), None);
        assert_eq!(parse_hex_u64("12"), None);
        assert_eq!(parse_hex_u64("0x-1"), None);
        assert_eq!(parse_hex_u64("0x+1"), None);
    }

    /// Issue 9, fault 2: `"0x"` was read as head 0.
    #[test]
    fn unknown_head_is_never_a_number() {
        let unknown: [&[u8]; 12] = [
            br#"{"jsonrpc":"2.0","id":1,"result":"0x"}"#,
            br#"{"jsonrpc":"2.0","id":1,"result":null}"#,
            br#"{"jsonrpc":"2.0","id":1}"#,
            br#"{"jsonrpc":"2.0","id":1,"result":"0x0"}"#,
            br#"{"jsonrpc":"2.0","id":1,"result":"0xzz"}"#,
            br#"{"jsonrpc":"2.0","id":1,"result":"1234"}"#,
            br#"{"jsonrpc":"2.0","id":1,"result":"0x1ffffffffffffffff"}"#,
            br#"{"jsonrpc":"2.0","id":1,"result":17}"#,
            br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"header not found"}}"#,
            br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32000}}"#,
            br#"{"status":"0","message":"NOTOK","result":"Error! Something"}"#,
            b"[]",
        ];
        for body in unknown {
            let got = parse_block_number(200, body);
            assert!(
                matches!(got, Err(ApiError::UnknownHead(_))),
                "{} -> {got:?}",
                String::from_utf8_lossy(body)
            );
        }
        let rate = br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"Max calls per sec rate limit reached (5/sec)"}}"#;
        assert!(matches!(
            parse_block_number(200, rate),
            Err(ApiError::RateLimited(_))
        ));
        let with_null_error = br#"{"jsonrpc":"2.0","id":1,"error":null,"result":"0x10"}"#;
        assert_eq!(parse_block_number(200, with_null_error), Ok(16));
    }

    #[test]
    fn ok_list() {
        let body = br#"{"status":"1","message":"OK","result":[{"a":1},{"b":2}]}"#;
        assert_eq!(parse_list(200, body).unwrap().len(), 2);
    }
}
