//! Faults a test can switch on to see how the daemon copes with a bad day at
//! TronGrid. Each imitates something the reference notes document: the
//! missing paging cursor (TRON-US/trongrid#23), the frequency limit with its
//! 30 s suspension (403, 429 or 503), 5xx, a proxy's HTML page, a cut-off
//! body, slowness and a key the service does not know.

use std::time::{Duration, Instant};

use serde_json::json;

use super::Endpoint;
use super::server::Reply;

/// A failure mode, applied to the calls it concerns while it is active
/// (see [`super::SimTronGrid::set_fault`], `fault_for_calls`, `fault_for`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Events calls only: a page holding exactly `limit` rows comes without
    /// `meta.fingerprint` and `meta.links`, although more rows exist (the
    /// documented bug). Other calls are untouched and do not use it up.
    MissingFingerprint,
    /// The frequency limit: the calling key (or the keyless caller) is
    /// suspended for `SimTronGridOptions::suspension`, and every call it
    /// makes during the suspension gets the frequency-limit body with this
    /// status (403 as documented for v1, 429 or 503 as other doc versions
    /// say), even after the fault itself is cleared.
    RateLimited { status: u16 },
    /// This 5xx status with a plain-text body.
    ServerError(u16),
    /// An HTML error page (a proxy or CDN in front of the API) with this
    /// status: 502, or 200 as some proxies send it.
    HtmlPage(u16),
    /// The normal answer cut off in the middle (HTTP 200, invalid JSON).
    Truncated,
    /// The normal answer, sent after this delay.
    Slow(Duration),
    /// Every call answers 401 `{"Error":"ApiKey not exists"}`.
    InvalidKey,
    /// Every call answers `307 Temporary Redirect` with `Location` this URL
    /// (another host: a client that follows it sends the key there).
    Redirect(String),
    /// Every call answers HTTP 200 with a well-formed JSON object of about
    /// this many bytes: a body larger than a client reads.
    HugeBody(usize),
}

impl Fault {
    /// Whether the fault concerns a call to `endpoint` (and so uses it up).
    pub(crate) fn concerns(&self, endpoint: Endpoint) -> bool {
        match self {
            Fault::MissingFingerprint => endpoint == Endpoint::Events,
            _ => true,
        }
    }

    /// The answer that replaces the normal one, for the faults that do.
    pub(crate) fn reply(&self) -> Option<Reply> {
        Some(match self {
            Fault::InvalidKey => invalid_key(),
            Fault::Redirect(url) => Reply::redirect(url),
            Fault::HugeBody(n) => Reply::json(
                200,
                format!(
                    r#"{{"data":[],"success":true,"padding":"{}"}}"#,
                    "0".repeat(*n)
                ),
            ),
            Fault::ServerError(status) => Reply::text(*status, "Internal Server Error"),
            Fault::HtmlPage(status) => Reply::html(*status, HTML_PAGE),
            Fault::MissingFingerprint
            | Fault::RateLimited { .. }
            | Fault::Truncated
            | Fault::Slow(_) => return None,
        })
    }
}

/// How long a fault stays on.
#[derive(Debug, Clone)]
pub(crate) struct ActiveFault {
    pub(crate) fault: Fault,
    /// Calls it still concerns; `None`: no count limit.
    pub(crate) calls_left: Option<u64>,
    /// `None`: no time limit.
    pub(crate) until: Option<Instant>,
}

impl ActiveFault {
    /// Uses the fault for one call to `endpoint` at `now`: `Some` if it
    /// applies. `expired` is set when it will never apply again.
    pub(crate) fn take(&mut self, endpoint: Endpoint, now: Instant) -> (Option<Fault>, bool) {
        if self.until.is_some_and(|u| now >= u) || self.calls_left == Some(0) {
            return (None, true);
        }
        if !self.fault.concerns(endpoint) {
            return (None, false);
        }
        if let Some(n) = self.calls_left.as_mut() {
            *n -= 1;
        }
        (Some(self.fault.clone()), self.calls_left == Some(0))
    }
}

const HTML_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n\
    <body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>\n";

/// An unknown `TRON-PRO-API-KEY`.
pub(crate) fn invalid_key() -> Reply {
    Reply::json(401, json!({"Error": "ApiKey not exists"}).to_string())
}

/// The frequency-limit answer: the v1 envelope for `/v1`, the full node's
/// `{"Error":…}` for `/wallet*`, with the wording clients match on.
pub(crate) fn frequency_limited(endpoint: Endpoint, status: u16, suspension: Duration) -> Reply {
    let secs = suspension.as_secs().max(1);
    let body = if endpoint == Endpoint::Events {
        json!({"success": false,
            "error": format!("The key exceeds the frequency limit(15), and the query server is suspended for {secs}s"),
            "statusCode": status})
    } else {
        json!({"Error": format!("The key exceeds the frequency limit(30), and the query server is suspended for {secs}s")})
    };
    Reply::json(status, body.to_string())
}
