//! Faults a test can switch on to see how the daemon copes with a bad day at
//! Etherscan. Each one imitates something the real service does (see the
//! reference notes): throttling over HTTP 200 or 429, 5xx, slowness, broken
//! bodies, a key that stops working, a spent daily quota, and heads that
//! are not numbers or go backwards.

use std::time::Duration;

use super::RequestKind;
use super::server::Reply;

/// The real API's daily-quota answer (free tier), over HTTP 200.
pub(crate) const DAILY_CAP_REASON: &str =
    "Max daily rate limit reached. 100000 (100%) of 100000 day/limit";

/// A failure mode applied to every request while it is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 500 with a plain-text body.
    Http500,
    /// Every call answers NOTOK "Max calls per sec rate limit reached" over HTTP 200.
    RateLimitStorm,
    /// HTTP 429 Too Many Requests.
    Http429,
    /// Every answer is delayed by this long (the answer itself is normal).
    Slow(Duration),
    /// HTTP 200 with a truncated JSON body.
    MalformedJson,
    /// Every call answers NOTOK "Invalid API Key".
    InvalidKey,
    /// Every call answers NOTOK "Max daily rate limit reached. 100000 (100%)
    /// of 100000 day/limit" over HTTP 200.
    DailyCap,
    /// `eth_blockNumber` answers `{"jsonrpc":"2.0","id":1,"result":"0x"}`;
    /// other calls are normal.
    EmptyHead,
    /// `eth_blockNumber` answers `"result":null`.
    NullHead,
    /// `eth_blockNumber` answers a JSON-RPC error object.
    ErrorHead,
    /// `eth_blockNumber` answers the head minus this many blocks (a lagging
    /// backend); other calls are normal.
    HeadBehind(u64),
    /// Every call answers HTTP 200 with an HTML error page (a proxy or CDN
    /// in front of the API), not JSON.
    HtmlPage,
    /// Calls for this chain id answer NOTOK "Free API access is not
    /// supported for this chain" (a paid-only chain on a free key); other
    /// chains answer normally.
    PaidChain(u64),
    /// Every call answers `307 Temporary Redirect` with `Location` this URL
    /// (another host: a client that follows it sends the key there).
    Redirect(String),
    /// Every call answers HTTP 200 with a well-formed status envelope of
    /// about this many bytes (a result string of zeros): a body larger than
    /// a client reads.
    HugeBody(usize),
}

impl Fault {
    /// The reply that replaces the normal answer to a request of `kind` for
    /// `chain_id` on a chain whose head is `head`, or `None` for faults that
    /// only delay it or leave this request alone.
    pub(crate) fn reply(
        &self,
        kind: RequestKind,
        head: Option<u64>,
        rate_limit: Option<u32>,
        chain_id: Option<u64>,
    ) -> Option<Reply> {
        let rpc = |result: serde_json::Value| {
            let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "result": result});
            Reply::json(200, body.to_string())
        };
        let head_call = kind == RequestKind::BlockNumber;
        Some(match self {
            Fault::Http500 => Reply::text(500, "Internal Server Error"),
            Fault::Http429 => Reply::text(429, "Too Many Requests"),
            Fault::RateLimitStorm => Reply::notok(&rate_limit_reason(rate_limit.unwrap_or(5))),
            Fault::InvalidKey => Reply::notok("Invalid API Key"),
            Fault::DailyCap => Reply::notok(DAILY_CAP_REASON),
            Fault::HtmlPage => html_page(),
            Fault::Redirect(url) => Reply::redirect(url),
            Fault::HugeBody(n) => Reply::json(
                200,
                format!(
                    r#"{{"status":"1","message":"OK","result":"{}"}}"#,
                    "0".repeat(*n)
                ),
            ),
            // Cut off mid-object, as a dropped proxy connection would.
            Fault::MalformedJson => Reply::json(
                200,
                r#"{"status":"1","message":"OK","result":[{"address":"0xdac17f958d2ee523a2206206994597c13d831ec7","topics":["0xddf2"#
                    .to_string(),
            ),
            Fault::EmptyHead if head_call => rpc("0x".into()),
            Fault::NullHead if head_call => rpc(serde_json::Value::Null),
            Fault::ErrorHead if head_call => Reply::json(
                200,
                serde_json::json!({"jsonrpc": "2.0", "id": 1,
                    "error": {"code": -32000, "message": "header not found"}})
                .to_string(),
            ),
            Fault::HeadBehind(n) if head_call => {
                rpc(format!("0x{:x}", head?.saturating_sub(*n)).into())
            }
            Fault::PaidChain(id) if chain_id == Some(*id) => {
                Reply::notok("Free API access is not supported for this chain")
            }
            Fault::EmptyHead
            | Fault::NullHead
            | Fault::PaidChain(_)
            | Fault::ErrorHead
            | Fault::HeadBehind(_)
            | Fault::Slow(_) => return None,
        })
    }

    /// The delay this fault adds to every answer.
    pub(crate) fn delay(&self) -> Option<Duration> {
        match self {
            Fault::Slow(d) => Some(*d),
            _ => None,
        }
    }
}

/// A gateway's error page, over HTTP 200 as some proxies send it.
fn html_page() -> Reply {
    Reply::text(
        200,
        "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n\
         <body><h1>Bad Gateway</h1><p>The origin did not answer. Please try again.</p></body></html>\n",
    )
}

/// The real API's wording, which clients match by substring.
pub(crate) fn rate_limit_reason(per_sec: u32) -> String {
    format!("Max calls per sec rate limit reached ({per_sec}/sec)")
}
