//! What a JSON-RPC call came back with, classified into a
//! [`Kind`](crate::scanner::kind::Kind): HTTP status first, then the body
//! (a JSON-RPC error envelope, a result, or anything else). Never a URL:
//! an endpoint is named by its host only, and a provider's message is
//! clipped and scrubbed of the endpoint's key by the caller
//! ([`Caller::scrubbing`](crate::scanner::retry::Caller::scrubbing)).

use std::time::Duration;

use serde_json::Value;

use super::range::{self, Hint};
use crate::scanner::http::Transport;
use crate::scanner::kind::{Cause, Classify, Kind};

/// One failed JSON-RPC call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpcError {
    /// HTTP 429, or an error envelope saying so.
    #[error("rate limited: {0}")]
    RateLimited(String),
    /// HTTP 402 or a daily credit limit.
    #[error("quota spent: {0}")]
    Quota(String),
    /// HTTP 401/403: the key (in the URL) is refused, or the endpoint disabled.
    #[error("refused the request (HTTP {0}): key or endpoint disabled")]
    Rejected(u16),
    /// Any other non-2xx status.
    #[error("HTTP {0}")]
    Http(u16),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("connection failed ({0})")]
    Connection(&'static str),
    #[error("malformed answer: {0}")]
    Malformed(String),
    /// `eth_getLogs` refused for its size, with what it said of the range.
    #[error("range too large: {message}")]
    RangeTooLarge { message: String, hint: Hint },
    /// Any other JSON-RPC error envelope.
    #[error("JSON-RPC error {code}: {message}")]
    Rpc { code: i64, message: String },
    /// `eth_chainId` named another chain (a copy-paste mistake).
    #[error("serves chain id {got}, not {want}")]
    WrongChain { want: u64, got: u64 },
    /// The head (or the finality tag's block) is not a number.
    #[error("head unknown: {0}")]
    UnknownHead(String),
    /// One block still refused as too large: the endpoint cannot serve it.
    #[error("block {block} refused even alone: {message}")]
    Unservable { block: u64, message: String },
}

impl Classify for RpcError {
    fn kind(&self) -> Kind {
        match self {
            RpcError::RateLimited(_) => Kind::RateLimited { wait: None },
            RpcError::Quota(_) => Kind::Paused,
            RpcError::Rejected(_) => Kind::RejectedKey,
            RpcError::Http(_) => Kind::Transient(Cause::Status),
            RpcError::Timeout(_) => Kind::Transient(Cause::Timeout),
            RpcError::Connection(_) => Kind::Transient(Cause::Connection),
            RpcError::Malformed(_) => Kind::Malformed,
            RpcError::RangeTooLarge { .. } => Kind::TooLarge,
            RpcError::Rpc { .. } | RpcError::Unservable { .. } => Kind::Transient(Cause::Answer),
            RpcError::WrongChain { .. } => Kind::Refused,
            RpcError::UnknownHead(_) => Kind::UnknownHead,
        }
    }
}

impl From<Transport> for RpcError {
    fn from(t: Transport) -> Self {
        match t {
            Transport::Timeout(d) => RpcError::Timeout(d),
            Transport::Connection(what) => RpcError::Connection(what),
            other => RpcError::Malformed(other.to_string()),
        }
    }
}

/// At most 200 printable characters of outside text.
pub fn clip(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// A JSON-RPC error envelope's `error` object as an [`RpcError`].
/// `sizeable`: the call was `eth_getLogs`, whose size refusals are read
/// by [`range::parse`].
pub fn from_envelope(error: &Value, sizeable: bool) -> RpcError {
    let code = error.get("code").and_then(Value::as_i64).unwrap_or(0);
    let mut message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    // Infura's `details`: the reason behind "Payment Required".
    if let Some(d) = error.get("details").and_then(Value::as_str) {
        message = format!("{message}: {d}");
    }
    let message = clip(&message);
    let lower = message.to_ascii_lowercase();
    if code == 429 || lower.contains("too many requests") || lower.contains("rate limit") {
        return RpcError::RateLimited(message);
    }
    if code == 402 || lower.contains("daily") || lower.contains("credit limit") {
        return RpcError::Quota(message);
    }
    if sizeable && let Some(hint) = range::parse(&message) {
        return RpcError::RangeTooLarge { message, hint };
    }
    RpcError::Rpc { code, message }
}

/// One reply (status and body) of a call as its `result`, or what went wrong.
pub fn parse_reply(status: u16, body: &[u8], sizeable: bool) -> Result<Value, RpcError> {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let envelope = json
        .as_ref()
        .and_then(|v| v.get("error"))
        .filter(|e| e.is_object());
    match status {
        200..=299 => {}
        429 => {
            let why = envelope.map_or_else(
                || "HTTP 429".to_string(),
                |e| from_envelope(e, false).to_string(),
            );
            return Err(RpcError::RateLimited(why));
        }
        402 => return Err(RpcError::Quota("HTTP 402".into())),
        401 | 403 => return Err(RpcError::Rejected(status)),
        // QuickNode's 413, dRPC's 400: a size refusal with a JSON-RPC body.
        400 | 413 if sizeable => {
            let text = envelope
                .and_then(|e| e.get("message"))
                .and_then(Value::as_str)
                .map(clip)
                .unwrap_or_else(|| clip(&String::from_utf8_lossy(body)));
            return Err(match range::parse(&text) {
                Some(hint) => RpcError::RangeTooLarge {
                    message: text,
                    hint,
                },
                None if status == 413 => RpcError::RangeTooLarge {
                    message: format!("HTTP 413: {text}"),
                    hint: Hint::Halve,
                },
                None => RpcError::Http(status),
            });
        }
        408 => return Err(RpcError::Timeout(Duration::ZERO)),
        _ => return Err(RpcError::Http(status)),
    }
    let Some(json) = &json else {
        let text = String::from_utf8_lossy(body);
        return Err(RpcError::Malformed(format!("not JSON: {}", clip(&text))));
    };
    if let Some(e) = envelope {
        return Err(from_envelope(e, sizeable));
    }
    match json.get("result") {
        Some(r) => Ok(r.clone()),
        None => Err(RpcError::Malformed("neither result nor error".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Vec<u8> {
        v.to_string().into_bytes()
    }

    #[test]
    fn statuses_and_envelopes_are_classified() {
        let ok = body(serde_json::json!({"jsonrpc":"2.0","id":1,"result":"0x36"}));
        assert_eq!(parse_reply(200, &ok, false), Ok(Value::from("0x36")));
        let k = |status, b: &[u8], sizeable| parse_reply(status, b, sizeable).unwrap_err().kind();
        assert_eq!(k(429, b"", false), Kind::RateLimited { wait: None });
        assert_eq!(
            k(503, b"<html>busy</html>", false),
            Kind::Transient(Cause::Status)
        );
        assert_eq!(k(200, b"<html>cdn</html>", false), Kind::Malformed);
        assert_eq!(k(401, b"", false), Kind::RejectedKey);
        let infura_daily = body(
            serde_json::json!({"jsonrpc":"2.0","id":1,"error":{"code":402,"event":-33000,"message":"Payment Required","details":"You have reached your daily credit limit"}}),
        );
        assert_eq!(k(200, &infura_daily, false), Kind::Paused);
        let infura_429 = body(
            serde_json::json!({"jsonrpc":"2.0","id":1,"error":{"code":429,"event":-33300,"message":"Too Many Requests","details":"x"}}),
        );
        assert_eq!(k(200, &infura_429, false), Kind::RateLimited { wait: None });
        let range = body(
            serde_json::json!({"jsonrpc":"2.0","id":1,"error":{"code":-32005,"message":"query returned more than 10000 results. Try with this block range [0xBDE5F8, 0x102DBCC].","data":{"from":"0xBDE5F8","to":"0x102DBCC","limit":10000}}}),
        );
        assert_eq!(k(200, &range, true), Kind::TooLarge);
        // Not a getLogs call: no range reading.
        assert_eq!(k(200, &range, false), Kind::Transient(Cause::Answer));
        let qn = body(
            serde_json::json!({"jsonrpc":"2.0","id":1,"error":{"code":-32614,"message":"eth_getLogs is limited to a 10,000 range"}}),
        );
        assert!(matches!(
            parse_reply(413, &qn, true),
            Err(RpcError::RangeTooLarge {
                hint: Hint::Width(10_000),
                ..
            })
        ));
        let drpc = body(
            serde_json::json!({"jsonrpc":"2.0","id":1,"error":{"code":35,"message":"ranges over 10000 blocks are not supported on freetier"}}),
        );
        assert_eq!(k(400, &drpc, true), Kind::TooLarge);
        assert_eq!(k(408, b"", true), Kind::Transient(Cause::Timeout));
        let nothing = body(serde_json::json!({"jsonrpc":"2.0","id":1}));
        assert_eq!(k(200, &nothing, false), Kind::Malformed);
        let long = "x".repeat(5000);
        let e = parse_reply(200, long.as_bytes(), false).unwrap_err();
        assert!(e.to_string().len() < 300);
    }
}
