//! What a chat reads about flagged transfers: the ⚠️ warning that replaces an
//! ordinary notification (mode `on`), the `/spam` listing, and the daily
//! digest.
//!
//! Pure text builders over plain data: the database fills the structs below
//! (see `db::spam`), this module only formats them. Telegram HTML parse
//! mode, using only `b`, `i`, `u`, `code` and `a`; everything that came from
//! outside (labels, reasons, transaction hashes, check names read back from
//! the database) goes through [`escape_html`]. Amounts are exact
//! ([`Amount::format_units`]), times UTC ([`utc`]).
//!
//! A look-alike and the address it imitates are always shown in full and in
//! lowercase (base58 on Tron), with the digits where they differ marked ([`marked`]): the
//! shortened forms (`0x5aae…eaed`) of the two read the same, which is the
//! attack, and their EIP-55 capitals differ even where the digits agree
//! (`0x5Aae…` against `0x5aAe…`), which would show a difference outside the
//! marked part.

use crate::domain::{Address, Amount, Chain, ChainKind, Direction, TokenSymbol};
use crate::notification::{View, escape_html, name_of, utc};

use super::Verdict;
use super::checks::{burst, dust, lookalike, zero};

/// The most rows `/spam <n>` lists.
pub const MAX_LISTED: usize = 50;
/// How many rows `/spam` lists without a number.
pub const DEFAULT_LISTED: usize = 10;
/// The digest is one outbox row, so one message: Telegram rejects more
/// than 4 096 characters (after entity parsing); it stops adding rows well
/// before that, tags included.
const BUDGET: usize = 3500;

/// One flag as stored with a flagged transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagSummary {
    /// The check's stable name (`zero_value`, `dust`, `lookalike`, `burst`).
    pub check: String,
    pub weight: u8,
    /// The check's sentence, addresses in full.
    pub reason: String,
    pub imitates: Option<Address>,
    pub lookalike: Option<Address>,
}

/// One flagged transfer, as one chat sees it in `/spam` or the digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlaggedItem {
    pub chain_id: u64,
    /// From the registry by contract; `None` for a contract it does not know.
    pub token: Option<TokenSymbol>,
    pub contract: Address,
    /// From the registry; `None` (raw units shown) for an unknown contract.
    pub decimals: Option<u8>,
    pub from: Address,
    pub to: Address,
    pub amount: Amount,
    pub score: u8,
    pub flags: Vec<FlagSummary>,
    /// Block time, Unix seconds.
    pub timestamp: u64,
    pub tx_hash: String,
    /// True when held back silently; false when a warning was queued instead.
    pub held: bool,
}

/// The `/spam` report of one chat.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlaggedReport {
    /// The most recent flagged transfers, newest first.
    pub items: Vec<FlaggedItem>,
    /// Flagged transfers held back (never delivered as a notification).
    pub held: u64,
    /// Every flagged transfer of this chat, held or warned about.
    pub flagged: u64,
}

/// What one chat's daily digest says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestReport {
    pub chat_id: i64,
    /// The start of the period covered, Unix seconds.
    pub since: u64,
    /// Held transfers the digest covers (each is covered once).
    pub count: u64,
    /// How often each check fired among them, most frequent first.
    pub by_check: Vec<(String, u64)>,
    /// The most recent of them, newest first.
    pub latest: Vec<FlaggedItem>,
}

/// The ⚠️ message sent instead of an ordinary notification when a chat's
/// mode is `on` (and for a real outgoing payment to a look-alike, always).
///
/// It names the look-alike and the real address it imitates, both in full:
/// the point is that the user compares every digit, which the shortened form
/// would defeat.
pub fn warning(v: &View<'_>, verdict: &Verdict) -> String {
    let t = v.transfer;
    let chain = Chain::by_id(t.chain_id);
    let chain_name = chain.as_ref().map_or("unknown chain", |c| c.display);
    let amount = format!("{} {}", t.amount.format_units(t.decimals), t.token.as_str());
    let kind = ChainKind::of(t.chain_id);
    let mut s = format!("⚠️ <b>Possible address poisoning</b> on {chain_name}\n");
    let yours = name_of(kind, v.watched, v.watched_label);
    match v.direction {
        Direction::Outgoing => {
            s += &format!("{amount} sent from {yours} to:\n");
        }
        _ => s += &format!("{amount} to {yours} from:\n"),
    }
    match verdict.imitation() {
        Some((fake, real)) => {
            let whose = if real == v.watched {
                "your own watched address"
            } else {
                "an address this wallet really transacted with"
            };
            s += &format!("{}\n", marked(kind, fake, real));
            s += &format!("It imitates {whose}:\n{}\n", marked(kind, real, fake));
            s += "Do not copy addresses from your transaction history: compare every digit.\n";
        }
        None => {
            s += &format!("<code>{}</code>\n", kind.show(v.counterparty));
        }
    }
    let why: Vec<String> = verdict.flags.iter().map(|f| label(f.check)).collect();
    s += &format!(
        "Why: {} (score {}/100)\n",
        escape_html(&why.join(", ")),
        verdict.score
    );
    s += &format!("Time: {}\n", utc(t.timestamp));
    s += &link(t.chain_id, &t.tx_hash, "View transaction");
    s
}

/// The `/spam` reply: the most recent flagged transfers and the totals.
///
/// Every row of the report is listed: a long reply is split into several
/// messages when it is sent (`telegram::split`). When more exist than were
/// fetched it names the `/spam <n>` that shows more.
pub fn listing(report: &FlaggedReport) -> String {
    if report.flagged == 0 {
        return "🛡 <b>Nothing flagged.</b> No transfer to or from your watched addresses \
                has been held back or warned about so far. Transfers are checked for \
                zero value, dust, look-alike addresses and bursts of new senders."
            .to_string();
    }
    let mut s = String::from("🛡 <b>Flagged transfers</b>, newest first\n");
    for (i, item) in report.items.iter().enumerate() {
        s += &format!("\n{}. {}\n", i + 1, item_text(item));
    }
    s += &format!(
        "\n<b>Total:</b> {} flagged, {} held back without a notification.",
        report.flagged, report.held
    );
    let shown = report.items.len();
    if (shown as u64) < report.flagged && shown < MAX_LISTED {
        let next = (shown * 2)
            .clamp(DEFAULT_LISTED, MAX_LISTED)
            .min(usize::try_from(report.flagged).unwrap_or(MAX_LISTED));
        s += &format!(
            "\nShowing the latest {shown}. Send <code>/spam {next}</code> to see more (at most {MAX_LISTED})."
        );
    }
    s
}

/// The daily digest of one chat.
pub fn digest(report: &DigestReport) -> String {
    let what = if report.count == 1 {
        "1 suspicious transfer was".to_string()
    } else {
        format!("{} suspicious transfers were", report.count)
    };
    let mut s = format!(
        "🛡 <b>Daily spam digest</b>\n{what} held back since {}.\n",
        utc(report.since)
    );
    if !report.by_check.is_empty() {
        let parts: Vec<String> = report
            .by_check
            .iter()
            .map(|(check, n)| format!("{n}× {}", label(check)))
            .collect();
        s += &format!("Flags: {}\n", escape_html(&parts.join(", ")));
    }
    if !report.latest.is_empty() {
        s += "\n<b>Latest</b>\n";
    }
    for (i, item) in report.latest.iter().enumerate() {
        let entry = format!("{}. {}\n", i + 1, item_text(item));
        if s.len() + entry.len() > BUDGET {
            s += &format!("… and {} more.\n", report.latest.len() - i);
            break;
        }
        s += &entry;
    }
    s += "\nSend /spam to list them; <code>/spam on</code> warns about each one as it \
          arrives, <code>/spam off</code> holds them back silently.";
    s
}

/// One listed transfer: amount and chain, the two ends, the reasons, the
/// time and a link. The ends are abbreviated, except a look-alike and the
/// address it imitates: those are shown in full and marked.
fn item_text(item: &FlaggedItem) -> String {
    let chain = Chain::by_id(item.chain_id);
    let chain_name = chain.as_ref().map_or("unknown chain", |c| c.display);
    let kind = ChainKind::of(item.chain_id);
    let amount = match (item.decimals, item.token) {
        (Some(d), Some(t)) => format!("{} {}", item.amount.format_units(d), t.as_str()),
        _ => format!(
            "{} raw units of {}",
            item.amount,
            kind.short(&item.contract)
        ),
    };
    let reasons: Vec<String> = item.flags.iter().map(|f| label(&f.check)).collect();
    let reasons = if reasons.is_empty() {
        "flagged".to_string()
    } else {
        reasons.join(", ")
    };
    let fate = if item.held { "held back" } else { "warned" };
    let ends = match imitation(item) {
        None => format!("{} → {}", kind.short(&item.from), kind.short(&item.to)),
        Some((fake, real)) => {
            let end = |a: &Address| {
                if a == fake {
                    format!("{} (look-alike)", marked(kind, fake, real))
                } else if a == real {
                    marked(kind, real, fake)
                } else {
                    kind.short(a)
                }
            };
            let mut s = format!("From: {}\nTo: {}", end(&item.from), end(&item.to));
            if item.from != *real && item.to != *real {
                s += &format!("\nImitates: {}", marked(kind, real, fake));
            }
            s
        }
    };
    format!(
        "<b>{amount}</b> on {chain_name}\n{ends}\n<i>{}</i> · score {} · {fate}\n{} · {}",
        escape_html(&reasons),
        item.score,
        utc(item.timestamp),
        link(item.chain_id, &item.tx_hash, "tx")
    )
}

/// The look-alike of a flagged transfer and the address it imitates.
fn imitation(item: &FlaggedItem) -> Option<(&Address, &Address)> {
    item.flags
        .iter()
        .find_map(|f| Some((f.lookalike.as_ref()?, f.imitates.as_ref()?)))
}

/// `address` in full ([`ChainKind::plain`]: lowercase hex, or base58 on
/// Tron), with the characters where it differs from `other` — everything
/// between their common first and last characters — in bold and
/// underlined: `0x5aae<b><u>b605…ef1</u></b>beaed`. Lowercase, not EIP-55:
/// the checksum capitals of two addresses differ even where their digits
/// are the same, so shown side by side the common part would not read the
/// same. Base58 is compared as it is, case included.
pub fn marked(kind: ChainKind, address: &Address, other: &Address) -> String {
    let (full, other) = (kind.plain(address), kind.plain(other));
    let (a, b) = (full.as_bytes(), other.as_bytes());
    let lead = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    if lead == a.len() {
        return full;
    }
    let trail = a
        .iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
        .min(a.len() - lead);
    let (head, rest) = full.split_at(lead);
    let (middle, tail) = rest.split_at(rest.len() - trail);
    format!("{head}<b><u>{middle}</u></b>{tail}")
}

/// A short human label for a check.
fn label(check: &str) -> String {
    match check {
        c if c == zero::NAME => "zero value".into(),
        c if c == dust::NAME => "dust".into(),
        c if c == lookalike::NAME => "look-alike address".into(),
        c if c == burst::NAME => "burst of new senders".into(),
        other => other.into(),
    }
}

/// A link to the transaction, or the hash itself on a chain the registry
/// does not know. The hash came from outside: escaped in both places.
fn link(chain_id: u64, tx_hash: &str, text: &str) -> String {
    match Chain::by_id(chain_id) {
        Some(c) => format!("<a href=\"{}\">{text}</a>", escape_html(&c.tx_url(tx_hash))),
        None => format!("Tx: <code>{}</code>", escape_html(tx_hash)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Transfer;
    use crate::spam::Flag;

    const REAL: &str = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
    const FAKE: &str = "0x5aae0000000000000000000000000000000beaed";
    const WATCHED: &str = "0x1111111111111111111111111111111111111111";
    const HASH: &str = "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060";

    fn addr(s: &str) -> Address {
        Address::parse(s).unwrap()
    }

    fn item(raw: u128, held: bool) -> FlaggedItem {
        FlaggedItem {
            chain_id: 1,
            token: Some(TokenSymbol::Usdt),
            contract: addr("0xdac17f958d2ee523a2206206994597c13d831ec7"),
            decimals: Some(6),
            from: addr(FAKE),
            to: addr(WATCHED),
            amount: Amount::from_u128(raw),
            score: 100,
            flags: vec![
                FlagSummary {
                    check: "zero_value".into(),
                    weight: 50,
                    reason: "zero".into(),
                    imitates: None,
                    lookalike: None,
                },
                FlagSummary {
                    check: "lookalike".into(),
                    weight: 60,
                    reason: "look".into(),
                    imitates: Some(addr(REAL)),
                    lookalike: Some(addr(FAKE)),
                },
            ],
            timestamp: 1_764_297_023,
            tx_hash: HASH.into(),
            held,
        }
    }

    #[test]
    fn warning_names_both_addresses_in_full_and_escapes_the_label() {
        let t = Transfer {
            chain_id: 1,
            tx_hash: HASH.into(),
            log_index: 0,
            block: 1,
            timestamp: 1_764_297_023,
            token: TokenSymbol::Usdt,
            contract: addr("0xdac17f958d2ee523a2206206994597c13d831ec7"),
            decimals: 6,
            from: addr(FAKE),
            to: addr(WATCHED),
            amount: Amount::ZERO,
        };
        let verdict = Verdict::from_flags(
            50,
            vec![Flag {
                check: lookalike::NAME,
                weight: 60,
                reason: "r".into(),
                imitates: Some(addr(REAL)),
                lookalike: Some(addr(FAKE)),
            }],
        );
        let text = warning(
            &View {
                transfer: &t,
                direction: Direction::Incoming,
                watched: &t.to,
                watched_label: Some("<script>"),
                counterparty: &t.from,
                counterparty_label: None,
            },
            &verdict,
        );
        assert!(text.starts_with("⚠️ <b>Possible address poisoning</b> on Ethereum\n"));
        // Both in full, the differing middle marked.
        assert!(
            text.contains("\n0x5aae<b><u>0000000000000000000000000000000</u></b>beaed\n"),
            "{text}"
        );
        assert!(
            text.contains("It imitates an address this wallet really transacted with:\n0x5aae<b><u>b6053f3e94c9b9a09f33669435e7ef1</u></b>beaed\n"),
            "{text}"
        );
        assert!(text.contains("Why: look-alike address (score"), "{text}");
        assert!(text.contains("0 USDT to <b>&lt;script&gt;</b>"), "{text}");
        assert!(text.contains(&format!("https://etherscan.io/tx/{HASH}")));
        assert!(!text.contains("<script>"));
    }

    #[test]
    fn listing_states() {
        let empty = listing(&FlaggedReport::default());
        assert!(empty.contains("Nothing flagged"), "{empty}");

        let report = FlaggedReport {
            items: vec![item(0, true), item(7, false)],
            held: 30,
            flagged: 31,
        };
        let text = listing(&report);
        assert!(text.contains("1. <b>0 USDT</b> on Ethereum"), "{text}");
        assert!(text.contains("2. <b>0.000007 USDT</b>"), "{text}");
        assert!(
            text.contains(
                "From: 0x5aae<b><u>0000000000000000000000000000000</u></b>beaed (look-alike)\n\
                 To: 0x1111…1111\n\
                 Imitates: 0x5aae<b><u>b6053f3e94c9b9a09f33669435e7ef1</u></b>beaed\n"
            ),
            "{text}"
        );
        assert!(!text.contains("0x5aae…eaed"), "never abbreviated: {text}");
        assert!(
            text.contains("<i>zero value, look-alike address</i> · score 100 · held back"),
            "{text}"
        );
        assert!(text.contains("· warned"), "{text}");
        assert!(text.contains("2025-11-28 02:30:23 UTC"), "{text}");
        assert!(text.contains("31 flagged, 30 held back"), "{text}");
        assert!(text.contains("<code>/spam 10</code>"), "{text}");
    }

    #[test]
    fn listing_shows_every_row_and_escapes_stored_text() {
        let mut odd = item(1, true);
        odd.flags[0].check = "<b>new</b>".into();
        odd.tx_hash = "0x\"><b>".into();
        let report = FlaggedReport {
            items: std::iter::once(odd)
                .chain(std::iter::repeat_n(item(1, true), MAX_LISTED - 1))
                .collect(),
            held: 80,
            flagged: 80,
        };
        let text = listing(&report);
        assert!(text.contains(&format!("\n{MAX_LISTED}. <b>")), "{text}");
        assert!(text.contains("&lt;b&gt;new&lt;/b&gt;"), "{text}");
        assert!(text.contains("/tx/0x&quot;&gt;&lt;b&gt;\""), "{text}");
    }

    /// The kind `lookalike_display`: the differing middle is marked, in
    /// either direction, and nothing is marked for the same address.
    #[test]
    fn marked_shows_the_full_address_and_marks_the_difference() {
        assert_eq!(
            marked(ChainKind::Evm, &addr(FAKE), &addr(REAL)),
            "0x5aae<b><u>0000000000000000000000000000000</u></b>beaed"
        );
        assert_eq!(
            marked(ChainKind::Evm, &addr(REAL), &addr(FAKE)),
            "0x5aae<b><u>b6053f3e94c9b9a09f33669435e7ef1</u></b>beaed"
        );
        assert_eq!(marked(ChainKind::Evm, &addr(REAL), &addr(REAL)), REAL);
        // Overlapping prefix and suffix (one digit differs) stay in bounds.
        let a = addr("0x1111111111111111111111111111111111111111");
        let b = addr("0x1111111111111111111121111111111111111111");
        assert_eq!(
            marked(ChainKind::Evm, &a, &b),
            "0x11111111111111111111<b><u>1</u></b>1111111111111111111"
        );
    }

    /// The kind `tron_lookalike_display`: on Tron the base58 forms are shown
    /// and compared as they are (case included), never the hex.
    #[test]
    fn marked_on_tron_compares_the_base58_forms() {
        let real = Address::parse_tron("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t").unwrap();
        let fake = Address::parse_tron("TR7NHyBdes2VfA8JkE9aUHFiSZW9KKLj6t").unwrap();
        assert_eq!(
            marked(ChainKind::Tron, &fake, &real),
            "TR7NH<b><u>yBdes2VfA8JkE9aUHFiSZW9KK</u></b>Lj6t"
        );
        assert_eq!(
            marked(ChainKind::Tron, &real, &fake),
            "TR7NH<b><u>qjeKQxGTCi8q8ZY4pL8otSzgj</u></b>Lj6t"
        );
        assert_eq!(
            marked(ChainKind::Tron, &real, &real),
            "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"
        );
    }

    /// The kind `lookalike_display`: shown side by side, the look-alike and
    /// the real address read the same outside the marked part, letter for
    /// letter (no checksum capitals that differ between the two).
    #[test]
    fn side_by_side_the_unmarked_parts_read_the_same() {
        let unmarked = |s: &str| -> (String, String) {
            let (head, rest) = s.split_once("<b><u>").unwrap();
            let (_, tail) = rest.split_once("</u></b>").unwrap();
            (head.to_string(), tail.to_string())
        };
        // The checksummed forms differ in the shared digits.
        assert_ne!(addr(FAKE).checksummed()[..6], addr(REAL).checksummed()[..6]);
        let (fake, real) = (
            marked(ChainKind::Evm, &addr(FAKE), &addr(REAL)),
            marked(ChainKind::Evm, &addr(REAL), &addr(FAKE)),
        );
        assert_eq!(unmarked(&fake), unmarked(&real));
        assert_eq!(unmarked(&fake), ("0x5aae".into(), "beaed".into()));
        let text = listing(&FlaggedReport {
            items: vec![item(0, true)],
            held: 1,
            flagged: 1,
        });
        assert!(text.contains(&fake) && text.contains(&real), "{text}");
        assert!(!text.contains("5Aae") && !text.contains("5aAe"), "{text}");
    }

    #[test]
    fn unknown_tokens_show_raw_units() {
        let mut i = item(12345, true);
        i.token = None;
        i.decimals = None;
        assert!(item_text(&i).contains("12345 raw units of 0xdac1…1ec7"));
    }

    #[test]
    fn digest_text() {
        let text = digest(&DigestReport {
            chat_id: 7,
            since: 1_764_200_000,
            count: 3,
            by_check: vec![("zero_value".into(), 3), ("lookalike".into(), 2)],
            latest: vec![item(0, true)],
        });
        assert!(text.contains("3 suspicious transfers were held back since 2025-11-26"));
        assert!(
            text.contains("Flags: 3× zero value, 2× look-alike address"),
            "{text}"
        );
        assert!(text.contains("1. <b>0 USDT</b>"), "{text}");
    }
}
