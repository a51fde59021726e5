//! The checker: what the simulated Bot API received against what should
//! have been.
//!
//! For every transfer and every chat, the ledger decides whether a
//! notification was *required* (the chat watched one side for the
//! transfer's whole life: `/add` confirmed before the transfer was
//! injected, no `/remove` sent before it was delivered, the chat reachable
//! throughout), *forbidden* (the chat never watched either side, or its
//! `/remove` was confirmed before the transfer and no `/add` followed
//! before the delivery) or merely *allowed* (the subscription changed while
//! the transfer was in flight). Then:
//! - a required pair never delivered is a **loss**;
//! - a forbidden pair delivered is a **forbidden delivery**;
//! - every copy after the first must follow a cause between it and the
//!   previous copy (a SIGKILL, a crash of the `telegram` or `db` actor, an
//!   ambiguous timeout of that very send), counted by cause; one without a
//!   cause is an **unexplained duplicate**;
//! - nothing may be accepted for a chat while it is blocked.

use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

use super::ledger::{CAUSE_SLACK, Cause, Ledger, SubEvent, TransferRecord};
use crate::domain::Address;
use crate::sim::botapi::SentMessage;

/// How one (chat, transfer) pair had to turn out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Need {
    Forbidden,
    Allowed,
    Required,
}

/// One offending (chat, transfer) pair, described for a person.
#[derive(Debug, Clone)]
pub struct Offence {
    pub chat: i64,
    pub tx: String,
    pub detail: String,
}

impl std::fmt::Display for Offence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "chat {} tx {}: {}", self.chat, self.tx, self.detail)
    }
}

/// What the checker found.
#[derive(Debug, Default)]
pub struct Verdict {
    pub transfers: usize,
    /// Notifications accepted by the Bot API (copies included).
    pub deliveries: usize,
    pub required: usize,
    pub required_delivered: usize,
    pub losses: Vec<Offence>,
    /// Copies beyond the first, by the cause that explains them.
    pub duplicates: BTreeMap<String, u64>,
    pub unexplained: Vec<Offence>,
    pub forbidden: Vec<Offence>,
    /// Notifications accepted for a chat while it had blocked the bot.
    pub while_blocked: Vec<Offence>,
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.losses.is_empty()
            && self.unexplained.is_empty()
            && self.forbidden.is_empty()
            && self.while_blocked.is_empty()
    }
}

/// The transaction hash a notification links to, if it is one.
pub fn tx_of(text: &str) -> Option<&str> {
    txs_of(text).into_iter().next()
}

/// Every transaction hash a message links to, in order: one for a
/// notification, several for a combined burst.
pub fn txs_of(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("/tx/0x") {
        let start = at + "/tx/".len();
        match rest.get(start..start + 66) {
            Some(tx) => out.push(tx),
            None => break,
        }
        rest = &rest[start + 66..];
    }
    out
}

/// Whether `chat`'s subscription to `address` made a notification about a
/// transfer injected at `at` required, allowed or forbidden, given that it
/// was delivered (first) at `until` or not by the end (`until` = the end).
pub fn need(events: Option<&Vec<SubEvent>>, at: Instant, until: Instant) -> Need {
    let events = events.map(Vec::as_slice).unwrap_or_default();
    let last_before = events.iter().rev().find(|e| e.at() < at).copied();
    let later = events.iter().filter(|e| e.at() >= at && e.at() <= until);
    match last_before {
        Some(SubEvent::AddConfirmed(_)) => {
            if later
                .clone()
                .any(|e| matches!(e, SubEvent::RemovePushed(_)))
            {
                Need::Allowed
            } else {
                Need::Required
            }
        }
        None | Some(SubEvent::RemoveConfirmed(_)) => {
            if later.clone().any(|e| matches!(e, SubEvent::AddPushed(_))) {
                Need::Allowed
            } else {
                Need::Forbidden
            }
        }
        Some(SubEvent::AddPushed(_) | SubEvent::RemovePushed(_)) => Need::Allowed,
    }
}

/// Checks every delivery in `sent` against the ledger; `chats` are every
/// chat that could have received notifications (users and admins).
pub fn check(ledger: &Ledger, sent: &[SentMessage], chats: &[i64], end: Instant) -> Verdict {
    let mut verdict = Verdict {
        transfers: ledger.transfers.len(),
        ..Verdict::default()
    };
    // (chat, tx) → acceptance times, in order.
    let mut copies: HashMap<(i64, &str), Vec<Instant>> = HashMap::new();
    for m in sent {
        for tx in txs_of(&m.text) {
            verdict.deliveries += 1;
            copies.entry((m.chat_id, tx)).or_default().push(m.at);
            if ledger.blocked_at(m.chat_id, m.at) {
                verdict.while_blocked.push(Offence {
                    chat: m.chat_id,
                    tx: tx.to_owned(),
                    detail: format!(
                        "accepted at {:.1}s while the chat blocked the bot",
                        ledger.secs(m.at)
                    ),
                });
            }
        }
    }
    let known: HashMap<&str, &TransferRecord> = ledger
        .transfers
        .iter()
        .map(|t| (t.tx.as_str(), t))
        .collect();
    for ((chat, tx), _) in copies.iter().filter(|((_, tx), _)| !known.contains_key(tx)) {
        verdict.forbidden.push(Offence {
            chat: *chat,
            tx: (*tx).to_owned(),
            detail: "a notification for a transfer the campaign never made".into(),
        });
    }
    for t in &ledger.transfers {
        for &chat in chats {
            let times = copies.get(&(chat, t.tx.as_str()));
            let until = times.and_then(|v| v.first().copied()).unwrap_or(end);
            let need = pair_need(ledger, chat, t, until);
            match (need, times) {
                (Need::Required, Some(_)) => {
                    verdict.required += 1;
                    verdict.required_delivered += 1;
                }
                (Need::Required, None) => {
                    verdict.required += 1;
                    verdict.losses.push(Offence {
                        chat,
                        tx: t.tx.clone(),
                        detail: format!(
                            "never delivered; injected at {:.1}s, {} → {}",
                            ledger.secs(t.at),
                            t.from,
                            t.to
                        ),
                    });
                }
                (Need::Forbidden, Some(v)) => verdict.forbidden.push(Offence {
                    chat,
                    tx: t.tx.clone(),
                    detail: format!(
                        "delivered at {:.1}s but the chat did not watch {} or {} then",
                        ledger.secs(v[0]),
                        t.from,
                        t.to
                    ),
                }),
                _ => {}
            }
            if let Some(v) = times {
                explain_copies(ledger, chat, &t.tx, v, &mut verdict);
            }
        }
    }
    verdict
}

/// The strictest need over both sides of the transfer, relaxed to
/// "allowed" when the chat was unreachable at some point of its life.
fn pair_need(ledger: &Ledger, chat: i64, t: &TransferRecord, until: Instant) -> Need {
    let side = |a: &Address| need(ledger.subs.get(&(chat, a.clone())), t.at, until);
    let need = side(&t.from).max(side(&t.to));
    if need == Need::Required && ledger.unreachable_during(chat, t.at, until) {
        Need::Allowed
    } else {
        need
    }
}

/// Attributes every copy after the first to a cause between it and the
/// copy before.
fn explain_copies(ledger: &Ledger, chat: i64, tx: &str, times: &[Instant], verdict: &mut Verdict) {
    for pair in times.windows(2) {
        let (before, after) = (pair[0], pair[1]);
        let lo = before.checked_sub(CAUSE_SLACK).unwrap_or(before);
        let in_window = |at: Instant| at >= lo && at <= after;
        let ambiguous = ledger.ambiguous.iter().any(|a| {
            a.chat_id == chat && a.tx.as_deref().is_none_or(|t| t == tx) && in_window(a.at)
        });
        let cause = if ambiguous {
            Some(Cause::AmbiguousTimeout)
        } else {
            ledger
                .causes
                .iter()
                .filter(|(at, c)| c.explains_duplicates() && in_window(*at))
                .map(|(_, c)| c.clone())
                .min()
        };
        match cause {
            Some(c) => *verdict.duplicates.entry(c.name()).or_default() += 1,
            None => verdict.unexplained.push(Offence {
                chat,
                tx: tx.to_owned(),
                detail: format!(
                    "copies at {:.2}s and {:.2}s with no SIGKILL, telegram/db crash or ambiguous timeout between",
                    ledger.secs(before),
                    ledger.secs(after)
                ),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::chaos::ledger::AmbiguousSend;

    const TX: &str = "0x1111111111111111111111111111111111111111111111111111111111111111";
    const ALICE: i64 = 7;

    fn addr(d: char) -> Address {
        Address::parse(&format!("0x{}", d.to_string().repeat(40))).unwrap()
    }

    /// A ledger with one transfer injected at t0 + 10 s to Alice's watched
    /// address `a`, watched since t0 + 1 s.
    fn world() -> (Ledger, Instant) {
        let mut l = Ledger::new();
        let t0 = l.t0;
        l.sub(ALICE, &addr('a'), SubEvent::AddPushed(t0));
        l.sub(ALICE, &addr('a'), SubEvent::AddConfirmed(t0 + secs(1)));
        l.transfers.push(TransferRecord {
            tx: TX.into(),
            from: addr('1'),
            to: addr('a'),
            at: t0 + secs(10),
        });
        (l, t0)
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn sent(chat: i64, at: Instant) -> SentMessage {
        SentMessage {
            seq: 0,
            at,
            chat_id: chat,
            text: format!(
                "⬇️ Incoming <a href=\"https://etherscan.io/tx/{TX}\">View transaction</a>"
            ),
            parse_mode: None,
            link_preview_disabled: true,
            message_id: 1,
            reply_markup: None,
        }
    }

    #[test]
    fn a_required_pair_never_delivered_is_a_loss() {
        let (l, t0) = world();
        let v = check(&l, &[], &[ALICE], t0 + secs(60));
        assert_eq!((v.required, v.losses.len()), (1, 1));
        assert!(!v.passed());
        let v = check(&l, &[sent(ALICE, t0 + secs(12))], &[ALICE], t0 + secs(60));
        assert_eq!((v.required_delivered, v.losses.len()), (1, 0));
        assert!(v.passed());
    }

    #[test]
    fn a_second_copy_needs_a_cause_between_the_two() {
        let (mut l, t0) = world();
        let copies = [sent(ALICE, t0 + secs(12)), sent(ALICE, t0 + secs(20))];
        let v = check(&l, &copies, &[ALICE], t0 + secs(60));
        assert_eq!(v.unexplained.len(), 1);
        // A crash of an actor that cannot duplicate, or one outside the
        // window, explains nothing.
        l.cause(t0 + secs(15), Cause::ActorCrash("ticker".into()));
        l.cause(t0 + secs(30), Cause::Sigkill);
        assert_eq!(
            check(&l, &copies, &[ALICE], t0 + secs(60))
                .unexplained
                .len(),
            1
        );
        l.cause(t0 + secs(15), Cause::ActorCrash("telegram".into()));
        let v = check(&l, &copies, &[ALICE], t0 + secs(60));
        assert!(v.passed(), "{:?}", v.unexplained);
        assert_eq!(v.duplicates.get("telegram actor crash"), Some(&1));
    }

    #[test]
    fn an_ambiguous_timeout_of_that_send_explains_its_copy() {
        let (mut l, t0) = world();
        let copies = [sent(ALICE, t0 + secs(12)), sent(ALICE, t0 + secs(20))];
        l.ambiguous.push(AmbiguousSend {
            chat_id: ALICE,
            tx: Some(TX.into()),
            at: t0 + secs(13),
        });
        let v = check(&l, &copies, &[ALICE], t0 + secs(60));
        assert_eq!(v.duplicates.get("ambiguous sendMessage timeout"), Some(&1));
    }

    #[test]
    fn nothing_for_an_address_removed_before_the_transfer() {
        let (mut l, t0) = world();
        l.sub(ALICE, &addr('a'), SubEvent::RemovePushed(t0 + secs(2)));
        l.sub(ALICE, &addr('a'), SubEvent::RemoveConfirmed(t0 + secs(3)));
        let v = check(&l, &[sent(ALICE, t0 + secs(12))], &[ALICE], t0 + secs(60));
        assert_eq!((v.required, v.forbidden.len()), (0, 1));
        // Nor for a chat that never watched it.
        let v = check(&l, &[sent(99, t0 + secs(12))], &[ALICE, 99], t0 + secs(60));
        assert_eq!(v.forbidden.len(), 1, "{:?}", v.forbidden);
        assert_eq!(v.forbidden[0].chat, 99);
    }

    #[test]
    fn changes_during_the_transfers_life_make_it_optional() {
        let (mut l, t0) = world();
        // Removed after the transfer, before any delivery: not required,
        // not forbidden.
        l.sub(ALICE, &addr('a'), SubEvent::RemovePushed(t0 + secs(11)));
        let v = check(&l, &[], &[ALICE], t0 + secs(60));
        assert!(v.passed() && v.required == 0);
        let v = check(&l, &[sent(ALICE, t0 + secs(12))], &[ALICE], t0 + secs(60));
        assert!(v.passed());
    }

    #[test]
    fn an_unreachable_chat_is_excused_but_nothing_is_accepted_while_blocked() {
        let (mut l, t0) = world();
        l.unreachable_begin(ALICE, t0 + secs(11));
        l.block_begin(ALICE, t0 + secs(11));
        let v = check(&l, &[], &[ALICE], t0 + secs(60));
        assert!(v.passed() && v.required == 0);
        let v = check(&l, &[sent(ALICE, t0 + secs(12))], &[ALICE], t0 + secs(60));
        assert_eq!(v.while_blocked.len(), 1);
        l.block_end(ALICE, t0 + secs(14));
        let v = check(&l, &[sent(ALICE, t0 + secs(15))], &[ALICE], t0 + secs(60));
        assert!(v.passed());
    }
}
