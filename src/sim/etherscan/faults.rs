//! Faults a test can switch on to see how the daemon copes with a bad day at
//! Etherscan. Each one imitates something the real service does (see the
//! reference notes): throttling over HTTP 200 or 429, 5xx, slowness, broken
//! bodies, a key that stops working.

use std::time::Duration;

use super::server::Reply;

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
    /// Calls for this chain id answer NOTOK "Free API access is not
    /// supported for this chain" (a paid-only chain on a free key); other
    /// chains answer normally.
    PaidChain(u64),
}

impl Fault {
    /// The reply that replaces the normal answer to a call for `chain_id`,
    /// or `None` for faults that only delay it or do not apply to the chain.
    pub(crate) fn reply(&self, rate_limit: Option<u32>, chain_id: Option<u64>) -> Option<Reply> {
        Some(match self {
            Fault::Http500 => Reply::text(500, "Internal Server Error"),
            Fault::Http429 => Reply::text(429, "Too Many Requests"),
            Fault::RateLimitStorm => Reply::notok(&rate_limit_reason(rate_limit.unwrap_or(5))),
            Fault::InvalidKey => Reply::notok("Invalid API Key"),
            // Cut off mid-object, as a dropped proxy connection would.
            Fault::MalformedJson => Reply::json(
                200,
                r#"{"status":"1","message":"OK","result":[{"address":"0xdac17f958d2ee523a2206206994597c13d831ec7","topics":["0xddf2"#
                    .to_string(),
            ),
            Fault::PaidChain(id) if chain_id == Some(*id) => {
                Reply::notok("Free API access is not supported for this chain")
            }
            Fault::Slow(_) | Fault::PaidChain(_) => return None,
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

/// The real API's wording, which clients match by substring.
pub(crate) fn rate_limit_reason(per_sec: u32) -> String {
    format!("Max calls per sec rate limit reached ({per_sec}/sec)")
}
