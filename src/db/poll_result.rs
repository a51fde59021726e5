//! Recording one poll's result — atomically, with the spam checks.
//!
//! New transfers, one outbox row per subscribed chat, one webhook delivery
//! row per matching sink ([`super::webhooks`]), and the cursor advance go in
//! one transaction: a crash can never move a cursor past a
//! transfer that was not recorded, nor record a transfer whose notification
//! was not queued. Re-recording the same transfers is a no-op (unique on
//! chain, tx hash and log index — never on the hash alone, which lost one of
//! two transfers in a transaction in the prior bot), so a re-scan after a
//! crash is harmless.
//!
//! # Spam
//!
//! Each new transfer is judged once per subscribed chat, from that chat's
//! watched address ([`crate::spam::assess`]), and the outbox row says what
//! happened:
//!
//! | verdict        | mode     | outbox row                                   |
//! |----------------|----------|----------------------------------------------|
//! | not suspicious | any      | `pending`, the ordinary notification         |
//! | suspicious     | `off`    | `held`, the ordinary text kept for `/spam`    |
//! | suspicious     | `on`     | `pending`, a ⚠️ warning instead              |
//! | suspicious     | `digest` | `held`, collected by [`super::spam::TakeDigest`] |
//!
//! One exception: a suspicious *outgoing* transfer that moved real value
//! (not zero, not dust) always gets the warning. That is the attack having
//! worked — the user's money went to a look-alike — and holding it back
//! silently would hide the one thing the user must hear at once.
//!
//! # Per-address settings
//!
//! Before any of that, each chat's own settings for the watched address
//! ([`super::settings`]: minimum, direction, mute) decide whether the chat
//! hears of the transfer at all. One it filters out is still recorded (and
//! judged, and queued for webhook sinks, which are the operator's and know
//! nothing of a chat's settings) but gets **no outbox row** for that chat:
//! nothing can send it later — not an `/unmute`, not a restart — and no
//! delivery count can show it as lost. When a chat watches both ends, the
//! transfer notifies if either end's settings want it (the sender's as
//! outgoing, the receiver's as incoming).
//!
//! The history a verdict needs comes from the `transfers` table, loaded once
//! per (chat, watched address) per poll and then kept up to date in memory
//! as the batch is recorded in block-time order:
//! - **known counterparties**: counterparties of the address's recorded
//!   transfers that were not flagged (`transfers.flagged = 0`), plus the
//!   chat's own other watched addresses (on any chain). A transfer is flagged
//!   when *any* chat's verdict refuses to
//!   [establish](crate::spam::Verdict::establishes_counterparty) its
//!   counterparty, so a flagged transfer never makes its sender known;
//! - **recent new counterparties** (for the burst check): each counterparty's
//!   first appearance, flagged or not, when it falls within `burst_window`
//!   of the batch.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use rusqlite::{Transaction, params};

use super::access::NOTIFIED;
use super::settings::Settings;
use super::spam::{SpamPolicy, encode_flags, parse_mode};
use super::{
    DbError, DbRequest, cursors, history, now_secs, subscriptions::parse_stored, webhooks,
};
use crate::config::SpamMode;
use crate::domain::{Address, ChainKind, Direction, Transfer};
use crate::notification::{self, View};
use crate::spam::{CounterpartyIndex, History, SpamRules, Subject, Verdict, assess, render};
use crate::webhook::SinkFilter;

pub struct RecordPollResult {
    pub chain_id: u64,
    /// Transfers touching at least one watched address.
    pub transfers: Vec<Transfer>,
    /// (token contract, last fully scanned block) for this chain.
    pub cursors: Vec<(Address, u64)>,
    /// The spam rules and default mode. `None` records every transfer as
    /// clean: for tools and the benchmark baseline only — the daemon always
    /// passes the policy, or nothing would ever be held back.
    pub spam: Option<Arc<SpamPolicy>>,
    /// Webhook sinks: each recorded, non-spam transfer gets one delivery row
    /// per sink whose filter it passes (empty: none). See [`Self::with_webhooks`].
    pub webhooks: Arc<[SinkFilter]>,
}

impl RecordPollResult {
    /// A poll result judged by `spam` (built once with
    /// [`SpamPolicy::from_config`] and shared).
    pub fn new(
        chain_id: u64,
        transfers: Vec<Transfer>,
        cursors: Vec<(Address, u64)>,
        spam: Arc<SpamPolicy>,
    ) -> Self {
        RecordPollResult {
            chain_id,
            transfers,
            cursors,
            spam: Some(spam),
            webhooks: Arc::new([]),
        }
    }

    /// A poll result recorded without spam checks (benchmarks, tools).
    pub fn without_spam_checks(
        chain_id: u64,
        transfers: Vec<Transfer>,
        cursors: Vec<(Address, u64)>,
    ) -> Self {
        RecordPollResult {
            chain_id,
            transfers,
            cursors,
            spam: None,
            webhooks: Arc::new([]),
        }
    }

    /// Also queues webhook deliveries for these sinks, in the same
    /// transaction ([`super::webhooks::queue`]).
    pub fn with_webhooks(mut self, sinks: Arc<[SinkFilter]>) -> Self {
        self.webhooks = sinks;
        self
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollRecorded {
    /// Transfers not seen before.
    pub new_transfers: usize,
    /// Outbox rows queued for delivery (ordinary notifications and warnings).
    pub notifications: usize,
    /// Outbox rows held back as suspicious (mode `off` or `digest`).
    pub held: usize,
    /// Webhook delivery rows queued (one per matching sink and transfer).
    pub webhooks: usize,
    /// (transfer, chat) pairs recorded without an outbox row: the chat's
    /// settings (minimum, direction, mute) filter them out.
    pub filtered: usize,
}

impl DbRequest for RecordPollResult {
    type Output = PollRecorded;
    const GROWS: bool = true;

    fn run(self, tx: &Transaction<'_>) -> Result<PollRecorded, DbError> {
        let mut out = PollRecorded::default();
        let now = now_secs();
        // Block-time order, so that what an earlier transfer of the batch
        // teaches (a known counterparty, a new one for the burst check) is
        // known to the later ones — as if they had come in separate polls.
        let mut order: Vec<&Transfer> = self.transfers.iter().collect();
        order.sort_by_key(|t| (t.timestamp, t.block, t.log_index));
        let mut memo = self.spam.as_deref().map(|policy| Memo {
            policy,
            window: policy.rules.burst_window_secs(),
            oldest_relevant: order.first().map_or(0, |t| {
                t.timestamp.saturating_sub(policy.rules.burst_window_secs())
            }),
            watches: HashMap::new(),
            own: HashMap::new(),
            batch: &self.transfers,
        });
        for t in order {
            let inserted = tx.execute(
                "INSERT OR IGNORE INTO transfers
                 (chain_id, tx_hash, log_index, block, timestamp, token, from_addr, to_addr, amount, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    t.chain_id as i64,
                    t.tx_hash,
                    t.log_index as i64,
                    t.block as i64,
                    t.timestamp as i64,
                    t.contract.as_str(),
                    t.from.as_str(),
                    t.to.as_str(),
                    t.amount.to_string(),
                    now
                ],
            )?;
            if inserted == 0 {
                continue; // seen before: its notifications were queued then
            }
            out.new_transfers += 1;
            let transfer_id = tx.last_insert_rowid();
            let subs = subscribers(tx, t)?;
            let chats = per_chat(t, &subs, now);
            let mut verdicts = Vec::with_capacity(chats.len());
            for c in &chats {
                verdicts.push(match memo.as_mut() {
                    Some(memo) => memo.assess(tx, t, transfer_id, c)?,
                    None => Verdict::clean(100),
                });
            }
            let flagged = verdicts.iter().any(|v| !v.establishes_counterparty());
            if flagged {
                tx.execute(
                    "UPDATE transfers SET flagged = 1 WHERE id = ?1",
                    [transfer_id],
                )?;
            }
            if let Some(memo) = memo.as_mut() {
                memo.learn(t, &subs, flagged);
            }
            let default_mode = self.spam.as_ref().map_or(SpamMode::Off, |p| p.default_mode);
            for (c, verdict) in chats.iter().zip(&verdicts) {
                if !c.active {
                    continue; // judged (for `flagged`), but sent nothing
                }
                if !c.notifies {
                    out.filtered += 1; // the chat's settings: recorded, never sent
                    continue;
                }
                let view = View {
                    transfer: t,
                    direction: c.direction,
                    watched: c.watched,
                    watched_label: c.watched_label,
                    counterparty: c.counterparty,
                    counterparty_label: c.counterparty_label,
                };
                let mode = parse_mode(c.mode, default_mode)?;
                let (state, text) = match outcome(verdict, mode, c.direction) {
                    Outcome::Notify => ("pending", notification::render(&view)),
                    Outcome::Warn => ("pending", render::warning(&view, verdict)),
                    Outcome::Hold => ("held", notification::render(&view)),
                };
                let n = tx.execute(
                    "INSERT OR IGNORE INTO outbox
                     (chat_id, transfer_id, text, state, next_attempt_at, created_at,
                      flagged, spam_score, spam_reasons, reply_markup)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8, ?9)",
                    params![
                        c.chat_id,
                        transfer_id,
                        text,
                        state,
                        now,
                        verdict.is_suspicious(),
                        verdict.score,
                        encode_flags(&verdict.flags)?,
                        notification::keyboard(t, c.subscription_id)
                    ],
                )?;
                if state == "held" {
                    out.held += n;
                } else {
                    out.notifications += n;
                }
            }
            // Webhook sinks: the transfer as a whole, unless any chat's
            // verdict found it suspicious (a poisoning attempt is not news
            // for an integrator).
            if !self.webhooks.is_empty()
                && !chats.is_empty()
                && !verdicts.iter().any(Verdict::is_suspicious)
            {
                out.webhooks +=
                    webhooks::queue(tx, t, transfer_id, chats.len(), &self.webhooks, now)?;
            }
        }
        for (token, block) in &self.cursors {
            cursors::advance(tx, self.chain_id, token, *block)?;
        }
        Ok(out)
    }
}

enum Outcome {
    Notify,
    Warn,
    Hold,
}

fn outcome(verdict: &Verdict, mode: SpamMode, direction: Direction) -> Outcome {
    if !verdict.is_suspicious() {
        return Outcome::Notify;
    }
    if direction == Direction::Outgoing && !verdict.is_worthless() {
        return Outcome::Warn; // real money went to a look-alike: never silent
    }
    match mode {
        SpamMode::On => Outcome::Warn,
        SpamMode::Off | SpamMode::Digest => Outcome::Hold,
    }
}

/// One subscription touching a transfer, with its chat's state.
struct Sub {
    id: i64,
    chat_id: i64,
    address: Address,
    label: Option<String>,
    active: bool,
    mode: Option<String>,
    settings: Settings,
}

/// Every subscription (active chats or not: the verdict decides
/// `transfers.flagged` for everyone) watching either side. A chat not
/// approved (`chats.access`: waiting for an admin, or denied), or not on
/// the allowlist in force ([`NOTIFIED`]), counts as inactive: it is sent
/// nothing.
fn subscribers(tx: &Transaction<'_>, t: &Transfer) -> Result<Vec<Sub>, DbError> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT s.chat_id, s.address, s.label, c.active = 1 AND {NOTIFIED},
                c.spam_mode, s.id,
                s.min_amount, s.direction, s.muted_until
         FROM subscriptions s
         JOIN chats c ON c.chat_id = s.chat_id
         WHERE s.chain_id = ?1 AND s.address IN (?2, ?3)"
    ))?;
    let rows = stmt.query_map(
        params![t.chain_id as i64, t.from.as_str(), t.to.as_str()],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, bool>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, i64>(5)?,
                Settings::from_row(r, 6)?,
            ))
        },
    )?;
    let mut out = Vec::new();
    for row in rows {
        let (chat_id, address, label, active, mode, id, settings) = row?;
        out.push(Sub {
            id,
            chat_id,
            address: parse_stored(&address)?,
            label,
            active,
            mode,
            settings,
        });
    }
    Ok(out)
}

/// A transfer from one chat's point of view.
struct ChatView<'a> {
    chat_id: i64,
    /// The subscription on our side (what the mute button names).
    subscription_id: i64,
    /// The chat's settings let it hear of the transfer.
    notifies: bool,
    active: bool,
    mode: Option<&'a str>,
    direction: Direction,
    watched: &'a Address,
    watched_label: Option<&'a str>,
    counterparty: &'a Address,
    counterparty_label: Option<&'a str>,
}

fn per_chat<'a>(t: &'a Transfer, subs: &'a [Sub], now: i64) -> Vec<ChatView<'a>> {
    // chat → (its subscription to `from`, its subscription to `to`)
    let mut chats: BTreeMap<i64, (Option<&Sub>, Option<&Sub>)> = BTreeMap::new();
    for s in subs {
        let entry = chats.entry(s.chat_id).or_default();
        if s.address == t.from {
            entry.0 = Some(s);
        }
        if s.address == t.to {
            entry.1 = Some(s);
        }
    }
    let mut out = Vec::with_capacity(chats.len());
    for (chat_id, sides) in chats {
        let (direction, ours, theirs, counterparty) = match sides {
            (Some(f), Some(to)) => (Direction::SelfTransfer, f, Some(to), &t.to),
            (None, Some(to)) => (Direction::Incoming, to, None, &t.from),
            (Some(f), None) => (Direction::Outgoing, f, None, &t.to),
            (None, None) => continue,
        };
        let wants = |s: Option<&Sub>, side: Direction| {
            s.is_some_and(|s| s.settings.notifies(side, &t.amount, t.decimals, now))
        };
        // A transfer from an address to itself is both.
        let from_side = if t.from == t.to {
            Direction::SelfTransfer
        } else {
            Direction::Outgoing
        };
        out.push(ChatView {
            chat_id,
            subscription_id: ours.id,
            notifies: wants(sides.0, from_side) || wants(sides.1, Direction::Incoming),
            active: ours.active,
            mode: ours.mode.as_deref(),
            direction,
            watched: &ours.address,
            watched_label: ours.label.as_deref(),
            counterparty,
            counterparty_label: theirs.and_then(|s| s.label.as_deref()),
        });
    }
    out
}

/// What the checks know about one watched address for one chat.
struct Watch {
    known: CounterpartyIndex,
    /// Counterparties seen only in flagged transfers: with `known`, every
    /// counterparty ever seen (a new one is in neither).
    flagged_only: HashSet<Address>,
    /// First appearances within reach of the burst window, oldest first
    /// (nearly: later pushes follow the batch's block-time order).
    recent_new: Vec<(Address, u64)>,
    /// `recent_new[..start]` is older than any window still to be checked.
    start: usize,
}

/// Per-poll cache of [`Watch`]es, so a batch of many transfers to one
/// address reads that address's history once, not once per transfer.
struct Memo<'p> {
    policy: &'p SpamPolicy,
    window: u64,
    /// Earliest first-appearance time any transfer of this batch can count.
    oldest_relevant: u64,
    watches: HashMap<(i64, Address), Watch>,
    /// Each chat's watched addresses (all chains).
    own: HashMap<i64, Vec<Address>>,
    /// The whole poll: which counterparties the checks will ask about.
    batch: &'p [Transfer],
}

impl Memo<'_> {
    fn assess(
        &mut self,
        tx: &Transaction<'_>,
        t: &Transfer,
        transfer_id: i64,
        c: &ChatView<'_>,
    ) -> Result<Verdict, DbError> {
        let w = match self.watches.entry((c.chat_id, c.watched.clone())) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                let own = match self.own.entry(c.chat_id) {
                    Entry::Occupied(o) => o.into_mut(),
                    Entry::Vacant(o) => o.insert(own_addresses(tx, c.chat_id)?),
                };
                let subject = WatchSubject {
                    chain_id: t.chain_id,
                    watched: c.watched,
                    exclude: transfer_id,
                };
                e.insert(load_watch(
                    tx,
                    &self.policy.rules,
                    subject,
                    own,
                    self.oldest_relevant,
                    self.batch,
                )?)
            }
        };
        // Drop first appearances that no remaining transfer's window reaches.
        while let Some((_, at)) = w.recent_new.get(w.start) {
            if at.saturating_add(self.window) >= t.timestamp {
                break;
            }
            w.start += 1;
        }
        let subject = Subject {
            transfer: t,
            watched: c.watched,
            direction: c.direction,
        };
        let history = History {
            known: &w.known,
            recent_new: &w.recent_new[w.start..],
        };
        Ok(assess(&self.policy.rules, &subject, &history))
    }

    /// Brings the cached histories of both ends up to date with `t`, the way
    /// the database now has it: a new counterparty appeared; it is known
    /// unless the transfer was flagged.
    fn learn(&mut self, t: &Transfer, subs: &[Sub], flagged: bool) {
        for s in subs {
            let Some(w) = self.watches.get_mut(&(s.chat_id, s.address.clone())) else {
                continue; // not loaded yet: loading will read `t` from the table
            };
            let other = if s.address == t.from { &t.to } else { &t.from };
            if other == &s.address {
                continue;
            }
            let seen = w.known.contains(other) || w.flagged_only.contains(other);
            if !seen {
                w.recent_new.push((other.clone(), t.timestamp));
            }
            if !flagged {
                w.flagged_only.remove(other);
                w.known.insert(other.clone());
            } else if !seen {
                w.flagged_only.insert(other.clone());
            }
        }
    }
}

fn own_addresses(tx: &Transaction<'_>, chat_id: i64) -> Result<Vec<Address>, DbError> {
    let mut stmt =
        tx.prepare_cached("SELECT DISTINCT address FROM subscriptions WHERE chat_id = ?1")?;
    let rows = stmt.query_map([chat_id], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(parse_stored(&row?)?);
    }
    Ok(out)
}

/// The leading hex digits (after `0x`) that a look-alike shares with a
/// counterparty in the stored form: the look-alike prefix on EVM chains. On
/// Tron the look-alike compares the base58 form, whose leading characters
/// are no prefix of the stored hex, so the bucket is the whole history (0).
fn hex_bucket(rules: &SpamRules, kind: ChainKind) -> usize {
    match kind {
        ChainKind::Evm => rules.lookalike_digits(kind).0,
        ChainKind::Tron => 0,
    }
}

/// Whose history [`load_watch`] reads: a watched address on a chain,
/// leaving out the transfer being assessed.
struct WatchSubject<'a> {
    chain_id: u64,
    watched: &'a Address,
    exclude: i64,
}

/// Reads what this poll's checks need of `watched`'s history on one chain
/// ([`history::relevant_counterparties`]: the counterparties resembling one
/// in `batch`, and those active within the burst window), each with its
/// first appearance and whether any unflagged transfer links them. The subject's `exclude`
/// is the transfer being judged, already inserted but not its own history.
fn load_watch(
    tx: &Transaction<'_>,
    rules: &SpamRules,
    subject: WatchSubject<'_>,
    own: &[Address],
    oldest_relevant: u64,
    batch: &[Transfer],
) -> Result<Watch, DbError> {
    let WatchSubject {
        chain_id,
        watched,
        exclude,
    } = subject;
    let kind = ChainKind::of(chain_id);
    let asked: Vec<&Address> = batch
        .iter()
        .filter(|t| t.chain_id == chain_id)
        .flat_map(|t| [(&t.from, &t.to), (&t.to, &t.from)])
        .filter_map(|(ours, theirs)| (ours == watched).then_some(theirs))
        .collect();
    let by_cp = history::relevant_counterparties(
        tx,
        chain_id,
        watched,
        exclude,
        &asked,
        hex_bucket(rules, kind),
        oldest_relevant,
    )?;
    let mut known = CounterpartyIndex::with_capacity(rules, kind, by_cp.len() + own.len());
    let mut flagged_only = HashSet::new();
    let mut recent_new = Vec::new();
    for (cp, history::Seen { first, unflagged }) in by_cp {
        let cp = parse_stored(&cp)?;
        if &cp == watched {
            continue;
        }
        if first >= oldest_relevant {
            recent_new.push((cp.clone(), first));
        }
        if unflagged {
            known.insert(cp);
        } else {
            flagged_only.insert(cp);
        }
    }
    for a in own.iter().filter(|a| *a != watched) {
        known.insert(a.clone());
    }
    recent_new.sort_by_key(|(_, at)| *at);
    Ok(Watch {
        known,
        flagged_only,
        recent_new,
        start: 0,
    })
}
