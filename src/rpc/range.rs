//! Reading a provider's `eth_getLogs` refusal: is it about the size of the
//! request, and what range would it accept? The texts are the providers'
//! (reference `evm-jsonrpc.md` §3), matched by message, not code: codes
//! collide (-32600, -32602, -32603, -32005, -32614, 35, HTTP 400/413).
//!
//! - a suggested range ("this block range should work: [0x…, 0x…]", "Try
//!   with this block range [0x…, 0x…]", "retry with the range A-B") gives its
//!   width;
//! - an explicit cap ("max is 1k blocks", "limited to a 10,000 range",
//!   "maximum block range: N", "Max range: N", "at most N blocks", "over N
//!   blocks", "exceeds limit of N", "max block range N", "requested blocks
//!   is N", "limited to 0 - N blocks") gives N;
//! - a size complaint without numbers ("too large", "too wide", "response
//!   size", "more than N results", "exceeds max results", "limit exceeded",
//!   timeouts) halves.
//!
//! A width not below the range asked (reth can suggest the request itself)
//! halves too. The caller stops at one block: a single block that still
//! fails is the endpoint's fault, never a block to skip.

/// What a refusal says about the range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    /// Ask for at most this many blocks.
    Width(u64),
    /// Too large, no number: halve.
    Halve,
}

/// Does `message` refuse a request for its size, and with what hint?
/// `None`: not a size refusal.
pub fn parse(message: &str) -> Option<Hint> {
    let m = message.to_ascii_lowercase();
    if let Some(w) = suggested(&m) {
        return Some(Hint::Width(w));
    }
    const CAPS: [&str; 12] = [
        "max is ",
        "limited to a ",
        "maximum block range: ",
        "max range: ",
        "at most ",
        "ranges over ",
        "exceeds limit of ",
        "max block range ",
        "requested blocks is ",
        "with up to a ",
        "limited to 0 - ",
        "maximum block range ",
    ];
    // "logs matched by query exceeds limit of N" is a result cap, not blocks.
    let volume = m.contains("logs matched") || m.contains("results");
    if !volume {
        for phrase in CAPS {
            if let Some(n) = number_after(&m, phrase).filter(|&n| n > 0) {
                return Some(Hint::Width(n));
            }
        }
    }
    const HALVE: [&str; 16] = [
        "too large",
        "too wide",
        "too big",
        "response size",
        "more than",
        "exceeds max results",
        "limit exceeded",
        "exceeds limit",
        "range limit",
        "timeout",
        "timed out",
        "less number of addresses",
        "not supported on freetier",
        "block range",
        "range is",
        "should not greater than",
    ];
    HALVE.iter().any(|p| m.contains(p)).then_some(Hint::Halve)
}

/// The width of a range to ask next, after `asked` blocks were refused with `hint`.
pub fn next_width(hint: Hint, asked: u64) -> u64 {
    match hint {
        Hint::Width(w) if w > 0 && w < asked => w,
        _ => (asked / 2).max(1),
    }
}

/// A suggested range's width: `[0xA, 0xB]` after "should work" or "try
/// with this block range", or `A-B` after "retry with the range".
fn suggested(m: &str) -> Option<u64> {
    for phrase in ["this block range should work", "try with this block range"] {
        if let Some(i) = m.find(phrase) {
            let rest = &m[i + phrase.len()..];
            let open = rest.find('[')?;
            let close = rest[open..].find(']')? + open;
            let (a, b) = rest[open + 1..close].split_once(',')?;
            let (a, b) = (hex(a.trim())?, hex(b.trim())?);
            return b.checked_sub(a).map(|d| d.saturating_add(1));
        }
    }
    let i = m.find("retry with the range ")?;
    let rest = &m[i + "retry with the range ".len()..];
    let (a, rest) = digits(rest)?;
    let rest = rest.strip_prefix('-')?;
    let (b, _) = digits(rest)?;
    b.checked_sub(a).map(|d| d.saturating_add(1))
}

fn hex(s: &str) -> Option<u64> {
    let h = s.strip_prefix("0x")?;
    (!h.is_empty() && h.len() <= 16)
        .then(|| u64::from_str_radix(h, 16).ok())
        .flatten()
}

/// A decimal number at the start of `s` (commas allowed), and the rest.
fn digits(s: &str) -> Option<(u64, &str)> {
    let end = s
        .find(|c: char| !(c.is_ascii_digit() || c == ','))
        .unwrap_or(s.len());
    let text: String = s[..end].chars().filter(char::is_ascii_digit).collect();
    if text.is_empty() {
        return None;
    }
    Some((text.parse().ok()?, &s[end..]))
}

/// The number right after `phrase` in `m` (`1k` = 1000).
fn number_after(m: &str, phrase: &str) -> Option<u64> {
    let i = m.find(phrase)?;
    let rest = m[i + phrase.len()..].trim_start();
    let (n, rest) = digits(rest)?;
    if rest.starts_with('k') {
        return n.checked_mul(1000);
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every error text of the reference (§3), with what it must give.
    #[test]
    fn every_reference_text_is_read() {
        let cases: &[(&str, Option<Hint>)] = &[
            // Alchemy free tier: the suggested range, not the cap.
            (
                "Under the Free tier plan, you can make eth_getLogs requests with up to a 10 block range. Based on your parameters, this block range should work: [0x1661760, 0x1661769]. Upgrade to PAYG for expanded block range.",
                Some(Hint::Width(10)),
            ),
            (
                "You can make eth_getLogs requests with up to a 500 block range. Based on your parameters, this block range should work: [0x123c9b2, 0x123cba5]",
                Some(Hint::Width(500)),
            ),
            (
                "Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on the response size, or you can request any block range with a cap of 10K logs in the response. Based on your parameters and the response size limit, this block range should work: [0x0, 0xd043b8]",
                Some(Hint::Width(0xd043b9)),
            ),
            // Infura: uppercase hex.
            (
                "query returned more than 10000 results. Try with this block range [0xBDE5F8, 0x102DBCC].",
                Some(Hint::Width(0x102DBCC - 0xBDE5F8 + 1)),
            ),
            (
                "range 1000000 exceeds limit of 10000",
                Some(Hint::Width(10_000)),
            ),
            // QuickNode.
            (
                "eth_getLogs and eth_newFilter are limited to a 10,000 blocks range",
                Some(Hint::Width(10_000)),
            ),
            (
                "eth_getLogs is limited to a 10,000 range",
                Some(Hint::Width(10_000)),
            ),
            // PublicNode, geth-family nodes.
            (
                "exceed maximum block range: 50000",
                Some(Hint::Width(50_000)),
            ),
            (
                "Please, specify less number of addresses",
                Some(Hint::Halve),
            ),
            // LlamaRPC.
            (
                "eth_getLogs range is too large, max is 1k blocks",
                Some(Hint::Width(1000)),
            ),
            (
                "query exceeds max results 20000, retry with the range 24383745-24383768",
                Some(Hint::Width(24)),
            ),
            // dRPC.
            (
                "ranges over 10000 blocks are not supported on freetier",
                Some(Hint::Width(10_000)),
            ),
            // 1RPC.
            (
                "eth_getLogs is limited to 0 - 10000 blocks range",
                Some(Hint::Width(10_000)),
            ),
            (
                "response size should not greater than 10000000 bytes",
                Some(Hint::Halve),
            ),
            // Ankr, BSC dataseed.
            ("block range is too wide", Some(Hint::Halve)),
            ("limit exceeded", Some(Hint::Halve)),
            // reth.
            (
                "query exceeds max block range 100000",
                Some(Hint::Width(100_000)),
            ),
            // Cloudflare, thirdweb, Coinbase, Base/OP, Arbitrum, Chainstack.
            ("Max range: 800", Some(Hint::Width(800))),
            (
                "Maximum allowed number of requested blocks is 1000",
                Some(Hint::Width(1000)),
            ),
            (
                "please limit the query to at most 2000 blocks",
                Some(Hint::Width(2000)),
            ),
            ("block range too large", Some(Hint::Halve)),
            ("Block range is too large", Some(Hint::Halve)),
            ("backend response too large", Some(Hint::Halve)),
            (
                "logs matched by query exceeds limit of 10000",
                Some(Hint::Halve),
            ),
            ("Block range limit exceeded.", Some(Hint::Halve)),
            // geth.
            ("request timed out", Some(Hint::Halve)),
            ("response too large", Some(Hint::Halve)),
            // Not about the size.
            ("execution reverted", None),
            ("Unknown block", None),
            ("no backend is currently healthy to serve traffic", None),
        ];
        for (text, want) in cases {
            assert_eq!(parse(text), *want, "{text}");
        }
    }

    #[test]
    fn a_suggestion_as_large_as_the_request_halves() {
        // reth may suggest the very range it refused.
        let h = parse("query exceeds max results 20000, retry with the range 100-199").unwrap();
        assert_eq!(next_width(h, 100), 50);
        assert_eq!(next_width(Hint::Width(10), 100), 10);
        assert_eq!(next_width(Hint::Halve, 1), 1);
        assert_eq!(next_width(Hint::Width(0), 5), 2);
    }

    #[test]
    fn odd_numbers_do_not_panic() {
        for t in [
            "this block range should work: [0x10, 0x1]",
            "this block range should work: [0xffffffffffffffffff, 0x1]",
            "retry with the range 99999999999999999999999-1",
            "max is k blocks",
            "try with this block range [",
        ] {
            let _ = parse(t);
        }
    }
}
