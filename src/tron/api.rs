//! TronGrid's answers, read strictly: the `/v1` envelope
//! `{"data":[…],"success":true,"meta":{"fingerprint":…}}`, the
//! `/walletsolidity/getblock` header, and error bodies (whose keys may be
//! capitalised: `Error`, `Success`). Shapes: `/work/shared/reference/tron.md`
//! (TronWeb `src/lib/event.ts`, TRON developer docs, captured answers).

use serde_json::{Map, Value};

use super::error::TronError;

/// The longest piece of an error text kept (for logs and `/status`).
const MAX_TEXT: usize = 200;

/// One page of events.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct EventPage {
    pub items: Vec<Value>,
    /// `meta.fingerprint`: the cursor of the next page (none on the last page
    /// — or, by TronGrid's paging bug, on a full page).
    pub fingerprint: Option<String>,
}

/// A block header: number and time (ms since the Unix epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockHeader {
    pub number: u64,
    pub timestamp_ms: u64,
}

/// A key of `obj`, looked up case-insensitively.
fn field<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

fn clip(s: &str) -> String {
    s.chars().take(MAX_TEXT).collect()
}

fn is_rate_limit(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("frequency limit") || t.contains("rate limit") || t.contains("suspended")
}

/// Classifies an answer's status and body; `Ok` is the parsed JSON object
/// of a successful answer.
pub fn classify(status: u16, body: &[u8]) -> Result<Map<String, Value>, TronError> {
    let json: Option<Map<String, Value>> =
        serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| match v {
                Value::Object(o) => Some(o),
                _ => None,
            });
    let text = json
        .as_ref()
        .and_then(|o| field(o, "error").or_else(|| field(o, "message")))
        .and_then(Value::as_str)
        .map(clip)
        .unwrap_or_default();
    if is_rate_limit(&text) || matches!(status, 403 | 429 | 503) {
        let why = if text.is_empty() {
            format!("HTTP {status}")
        } else {
            text
        };
        return Err(TronError::RateLimited(why));
    }
    if status == 401 || text.to_ascii_lowercase().contains("apikey not exists") {
        return Err(TronError::InvalidKey(if text.is_empty() {
            "HTTP 401".into()
        } else {
            text
        }));
    }
    if status >= 500 {
        return Err(TronError::Http(status));
    }
    let Some(obj) = json else {
        let what = if body.trim_ascii_start().starts_with(b"<") {
            "an HTML page".to_string()
        } else {
            format!("not a JSON object ({} bytes)", body.len())
        };
        return if (200..300).contains(&status) {
            Err(TronError::Malformed(what))
        } else {
            Err(TronError::Http(status))
        };
    };
    if !(200..300).contains(&status) {
        return Err(TronError::Refused(status, text));
    }
    if field(&obj, "success").and_then(Value::as_bool) == Some(false) {
        return Err(TronError::Refused(status, text));
    }
    Ok(obj)
}

/// An events page: `data` must be an array; `meta.fingerprint` a non-empty
/// string when present.
pub fn parse_events(status: u16, body: &[u8]) -> Result<EventPage, TronError> {
    let obj = classify(status, body)?;
    let Some(Value::Array(items)) = field(&obj, "data") else {
        return Err(TronError::Malformed("no `data` array".into()));
    };
    let fingerprint = match field(&obj, "meta").and_then(|m| m.get("fingerprint")) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::String(_)) => None,
        Some(_) => {
            return Err(TronError::Malformed(
                "`meta.fingerprint` is not a string".into(),
            ));
        }
    };
    Ok(EventPage {
        items: items.clone(),
        fingerprint,
    })
}

/// The latest block time accepted (9999-12-31 23:59:59.999 UTC, in ms): a
/// later one is no time at all, and the scanner adds to block times.
const MAX_TIMESTAMP_MS: u64 = 253_402_300_799_999;

/// A `getblock` answer's header: `block_header.raw_data.number` and
/// `.timestamp`. A missing, zero or non-integer number or time, or a time
/// after [`MAX_TIMESTAMP_MS`], is an unknown head, never 0 or a wrapped sum.
pub fn parse_block(status: u16, body: &[u8]) -> Result<BlockHeader, TronError> {
    let obj = classify(status, body)?;
    let raw = obj
        .get("block_header")
        .and_then(|h| h.get("raw_data"))
        .ok_or_else(|| TronError::UnknownHead("no block_header.raw_data".into()))?;
    let number = raw.get("number").and_then(Value::as_u64).unwrap_or(0);
    let timestamp_ms = raw.get("timestamp").and_then(Value::as_u64).unwrap_or(0);
    if number == 0 || timestamp_ms == 0 {
        return Err(TronError::UnknownHead(
            "block number or timestamp missing or zero".into(),
        ));
    }
    if timestamp_ms > MAX_TIMESTAMP_MS {
        return Err(TronError::UnknownHead(format!(
            "block timestamp {timestamp_ms} ms is after the year 9999"
        )));
    }
    Ok(BlockHeader {
        number,
        timestamp_ms,
    })
}

/// Seconds of the suspension a rate-limit text names ("… suspended for
/// 30s"), if any.
pub fn suspension_secs(text: &str) -> Option<u64> {
    let at = text.find("suspended for")? + "suspended for".len();
    let digits: String = text[at..]
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_are_classified() {
        let freq = br#"{"success":false,"error":"The key exceeds the frequency limit(15), and the query server is suspended for 30s","statusCode":403}"#;
        assert!(matches!(
            classify(403, freq),
            Err(TronError::RateLimited(_))
        ));
        let wallet = br#"{"Error":"The key exceeds the frequency limit(30), and the query server is suspended for 30s"}"#;
        assert!(matches!(
            classify(500, wallet),
            Err(TronError::RateLimited(_))
        ));
        assert!(matches!(classify(429, b""), Err(TronError::RateLimited(_))));
        assert!(matches!(
            classify(401, br#"{"Error":"ApiKey not exists"}"#),
            Err(TronError::InvalidKey(_))
        ));
        assert_eq!(
            classify(502, b"<html>bad gateway</html>"),
            Err(TronError::Http(502))
        );
        assert!(matches!(
            classify(200, b"<html>maintenance</html>"),
            Err(TronError::Malformed(_))
        ));
        assert!(matches!(
            classify(400, br#"{"success":false,"error":"A valid account address is required.","statusCode":400}"#),
            Err(TronError::Refused(400, _))
        ));
        assert_eq!(suspension_secs("server is suspended for 30s"), Some(30));
    }

    #[test]
    fn pages_and_heads_parse() {
        let page = parse_events(
            200,
            br#"{"data":[{"a":1}],"success":true,"meta":{"at":1,"fingerprint":"abc","page_size":1}}"#,
        )
        .unwrap();
        assert_eq!(
            (page.items.len(), page.fingerprint.as_deref()),
            (1, Some("abc"))
        );
        let last = parse_events(
            200,
            br#"{"data":[],"success":true,"meta":{"at":1,"page_size":0}}"#,
        )
        .unwrap();
        assert_eq!(last.fingerprint, None);
        assert!(parse_events(200, br#"{"success":true}"#).is_err());
        let head = parse_block(
            200,
            br#"{"blockID":"00","block_header":{"raw_data":{"number":17960654,"timestamp":1630467627000}}}"#,
        )
        .unwrap();
        assert_eq!(head.number, 17960654);
        assert!(matches!(
            parse_block(200, b"{}"),
            Err(TronError::UnknownHead(_))
        ));
    }

    /// The kind `out-of-range head time`: a `getblock` answer whose timestamp
    /// is a huge number (u64::MAX) is an unknown head, not a time the
    /// scanner adds 1 ms to (a panic in debug builds, a wrap to 0 — a window
    /// from 1970 — in release ones).
    #[test]
    fn a_block_time_beyond_any_date_is_an_unknown_head() {
        let body = br#"{"block_header":{"raw_data":{"number":17960654,"timestamp":18446744073709551615}}}"#;
        assert!(matches!(
            parse_block(200, body),
            Err(TronError::UnknownHead(_))
        ));
    }
}
