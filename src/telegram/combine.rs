//! Combined bursts: several notifications for one chat in one message.
//!
//! A busy wallet, or a catch-up after an outage, makes many notifications
//! due for one chat at once; sent one by one, Telegram's ~1 message per
//! second per chat (20 per minute in a group) makes the backlog grow
//! without end. When at least `telegram.combine_after` of a chat's
//! notifications are waiting, the outbox loop sends them as one message
//! listing one line per transfer, oldest first (newest last): amount and
//! direction, counterparty, link (see [`line`]).
//!
//! A combined message holds only whole lines and stays within
//! [`MAX_MESSAGE_UNITS`](super::split::MAX_MESSAGE_UNITS) (UTF-16 units,
//! counted on the HTML source, which is never shorter than what Telegram
//! counts), so it is never cut, inside a tag or anywhere else: a longer
//! burst simply makes several combined messages, each one `sendMessage`
//! whose rows are all marked together in one transaction.
//!
//! What is combined: transfer notifications as
//! [`notification::render`](crate::notification::render) writes them. A
//! look-alike warning, an admin alert or any other text keeps its own
//! message (it reads differently and must not be lost in a list); the rows
//! of a chat keep their order, so a burst is combined up to the first
//! such row.
//!
//! Window: after a message went to a chat, a notification due for it
//! within `telegram.combine_window` waits until the window's end unless
//! enough gather to be combined; a lone transfer to a quiet chat goes at
//! once and reads exactly as before.

use std::time::{Duration, Instant};

use super::split::{MAX_MESSAGE_UNITS, units};
use crate::db::outbox::OutboxItem;

/// A row waiting in the outbox loop, with its line when it can be combined.
#[derive(Debug, Clone)]
pub struct Queued {
    pub item: OutboxItem,
    pub line: Option<String>,
}

impl Queued {
    pub fn new(item: OutboxItem) -> Queued {
        let line = line(&item.text);
        Queued { item, line }
    }
}

/// The one line of a transfer notification in a combined message:
/// `⬇️ <b>Incoming 5 USDT</b> on Ethereum · from <code>0x…</code> · <a href="…">tx</a>`.
/// `None` for any other text. The stored text is the source, so a combined
/// line says exactly what the single message would have said.
pub fn line(text: &str) -> Option<String> {
    let mut lines = text.lines();
    let header = lines.next()?;
    let what = ["⬇️ <b>Incoming ", "⬆️ <b>Outgoing ", "🔁 <b>Self-transfer "]
        .iter()
        .position(|p| header.starts_with(p))?;
    let rest: Vec<&str> = lines.collect();
    // Incoming: the sender; outgoing: the recipient; self: our receiving side.
    let side = if what == 0 { "From: " } else { "To: " };
    let counterparty = rest.iter().find_map(|l| l.strip_prefix(side))?;
    let last = rest.last()?;
    let link = match last.strip_suffix(">View transaction</a>") {
        Some(open) if open.starts_with("<a href=\"") => format!("{open}>tx</a>"),
        _ => last.strip_prefix("Tx: ")?.to_owned(),
    };
    let word = if what == 0 { "from" } else { "to" };
    let line = format!("{header} · {word} {counterparty} · {link}");
    // A line must leave room for the header of the message around it.
    (units(&line) <= MAX_MESSAGE_UNITS / 2).then_some(line)
}

/// The text of a combined message of `lines` (oldest first).
pub fn message(lines: &[&str]) -> String {
    let mut text = header(lines.len());
    text.push_str(&lines.join("\n"));
    text
}

fn header(n: usize) -> String {
    format!("📦 <b>{n} transfers</b> (newest last)\n")
}

/// How many of `lines`, from the first, fit in one combined message.
pub fn fitting(lines: &[&str]) -> usize {
    let mut total = units(&header(lines.len()));
    let mut n = 0;
    for line in lines {
        let add = units(line) + usize::from(n > 0);
        if total + add > MAX_MESSAGE_UNITS {
            break;
        }
        total += add;
        n += 1;
    }
    n
}

/// How to combine: threshold and window (`telegram.combine_after`,
/// `telegram.combine_window`).
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// 0: never combine.
    pub after: usize,
    pub window: Duration,
}

/// What to send next to the chat of `queue[first]`, its oldest row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// `queue[first]` alone, as it is.
    Single,
    /// These queue positions (ascending, `first` among them) as one
    /// combined message.
    Combine(Vec<usize>),
    /// Nothing before this instant: a burst may be gathering.
    Hold(Instant),
}

/// Decides for the chat of `queue[first]`; `last_sent` is when the chat
/// was last sent a message by this loop.
pub fn plan(
    queue: &[&Queued],
    first: usize,
    rule: Rule,
    last_sent: Option<Instant>,
    now: Instant,
) -> Plan {
    let Some(head) = queue.get(first) else {
        return Plan::Single;
    };
    if rule.after < 2 || head.line.is_none() {
        return Plan::Single;
    }
    let chat = head.item.chat_id;
    let mut run = Vec::new();
    let mut all_combinable = true;
    for (i, q) in queue.iter().enumerate().skip(first) {
        if q.item.chat_id != chat {
            continue;
        }
        if q.line.is_none() {
            all_combinable = false;
            break;
        }
        run.push(i);
    }
    if run.len() >= rule.after {
        let lines: Vec<&str> = run
            .iter()
            .filter_map(|i| queue[*i].line.as_deref())
            .collect();
        let n = fitting(&lines).max(1);
        run.truncate(n);
        return if run.len() >= 2 {
            Plan::Combine(run)
        } else {
            Plan::Single
        };
    }
    match last_sent.map(|at| at + rule.window) {
        Some(until) if all_combinable && until > now => Plan::Hold(until),
        _ => Plan::Single,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: &str = "<a href=\"https://etherscan.io/tx/0x5c50\">View transaction</a>";

    fn incoming(amount: &str) -> String {
        format!(
            "⬇️ <b>Incoming {amount} USDT</b> on Ethereum\nTo: <b>Savings &lt;b&gt;</b> (0x5aae…eaed)\n\
             From: <code>0x1111111111111111111111111111111111111111</code>\nTime: 2025-11-28 02:30:23 UTC\n{LINK}"
        )
    }

    fn queued(id: i64, chat: i64, text: String) -> Queued {
        Queued::new(OutboxItem {
            id,
            chat_id: chat,
            text,
            attempts: 0,
            lost_answers: 0,
            refusals: 0,
            no_rights: 0,
            reply_markup: None,
            alert: false,
        })
    }

    #[test]
    fn a_notification_becomes_one_line_with_amount_direction_counterparty_and_link() {
        assert_eq!(
            line(&incoming("1,234.5")).as_deref(),
            Some(
                "⬇️ <b>Incoming 1,234.5 USDT</b> on Ethereum · from \
                 <code>0x1111111111111111111111111111111111111111</code> · \
                 <a href=\"https://etherscan.io/tx/0x5c50\">tx</a>"
            )
        );
        let out = "⬆️ <b>Outgoing 2 USDC</b> on Polygon\nFrom: a\nTo: <code>0x22</code>\nTime: t\nTx: <code>0xab</code>";
        assert_eq!(
            line(out).as_deref(),
            Some("⬆️ <b>Outgoing 2 USDC</b> on Polygon · to <code>0x22</code> · <code>0xab</code>")
        );
        assert_eq!(
            line("⚠️ <b>Possible address poisoning</b> on Ethereum\n…"),
            None
        );
        assert_eq!(line("🚨 <b>Needs attention</b>\nx"), None);
    }

    #[test]
    fn combined_messages_hold_whole_lines_within_the_limit() {
        let one = line(&incoming("1")).unwrap();
        let lines: Vec<&str> = (0..100).map(|_| one.as_str()).collect();
        let n = fitting(&lines);
        assert!(n > 2 && n < 100);
        let text = message(&lines[..n]);
        assert!(units(&text) <= MAX_MESSAGE_UNITS);
        assert!(units(&message(&lines[..n + 1])) > MAX_MESSAGE_UNITS);
        assert!(text.starts_with(&format!("📦 <b>{n} transfers</b>")));
    }

    #[test]
    fn bursts_combine_singles_stay_and_warnings_keep_their_place() {
        let t0 = Instant::now();
        let rule = Rule {
            after: 3,
            window: Duration::from_secs(2),
        };
        let rows = [
            queued(1, 7, incoming("1")),
            queued(2, 8, incoming("1")),
            queued(3, 7, incoming("2")),
            queued(4, 7, incoming("3")),
            queued(5, 7, "⚠️ <b>Possible address poisoning</b>".into()),
            queued(6, 7, incoming("4")),
        ];
        let q: Vec<&Queued> = rows.iter().collect();
        assert_eq!(plan(&q, 0, rule, None, t0), Plan::Combine(vec![0, 2, 3]));
        // Chat 8 has one: sent as it is, unless a message just went there.
        assert_eq!(plan(&q, 1, rule, None, t0), Plan::Single);
        assert_eq!(
            plan(&q, 1, rule, Some(t0), t0 + Duration::from_millis(500)),
            Plan::Hold(t0 + rule.window)
        );
        assert_eq!(plan(&q, 1, rule, Some(t0), t0 + rule.window), Plan::Single);
        // The warning goes alone, in its place.
        assert_eq!(plan(&q, 4, rule, Some(t0), t0), Plan::Single);
        // Two rows before a warning: not a burst, and not held behind it.
        assert_eq!(plan(&q, 2, rule, Some(t0), t0), Plan::Single);
        let off = Rule { after: 0, ..rule };
        assert_eq!(plan(&q, 0, off, None, t0), Plan::Single);
    }
}
