//! The fault kinds, one table entry each: its name in the report, how
//! often it is picked, how long it lasts, and how to switch it on and off.
//!
//! To add a kind, add one line to [`table`]: for an Etherscan simulator
//! fault, `FaultKind::etherscan(name, weight, lasts, || Fault::…)`; for
//! anything else, `FaultKind::lasting(…)` or `FaultKind::instant(…)` with
//! two small functions over the [`Stage`]. Kinds that would fight over one
//! switch (the Etherscan simulator holds one fault at a time) name the same
//! slot and never overlap.

use std::time::{Duration, Instant};

use super::campaign::Stage;
use super::ledger::Cause;
use super::rng::Rng;
use crate::sim::botapi::ChatFault;
use crate::sim::etherscan::Fault;

/// What a switched-on fault acts on (a chat id, a block number…), handed
/// back to its `off`.
pub type Target = i64;

/// How long a fault stays on.
#[derive(Debug, Clone, Copy)]
pub enum Lasts {
    /// Happens once (a signal, a panic, a burst of errors).
    Instant,
    /// On for a random time between the two.
    Between(Duration, Duration),
}

/// How a fault is switched.
#[derive(Clone, Copy)]
pub enum Switch {
    /// Sets this fault on the simulated Etherscan; cleared when it ends.
    Etherscan(fn() -> Fault),
    /// `on` returns `None` when the fault cannot apply now (no chat to
    /// block, no daemon to kill); `off` gets what `on` returned.
    Custom {
        on: fn(&mut Stage, &mut Rng) -> Option<Target>,
        off: fn(&mut Stage, Target),
    },
}

/// One kind of fault.
#[derive(Clone, Copy)]
pub struct FaultKind {
    pub name: &'static str,
    /// Relative frequency (0: never picked).
    pub weight: u32,
    pub lasts: Lasts,
    /// Kinds with the same slot are never on together.
    pub slot: Option<&'static str>,
    pub switch: Switch,
}

const fn secs(lo: u64, hi: u64) -> Lasts {
    Lasts::Between(Duration::from_secs(lo), Duration::from_secs(hi))
}

fn nothing(_: &mut Stage, _: Target) {}

impl FaultKind {
    pub const fn etherscan(
        name: &'static str,
        weight: u32,
        lasts: Lasts,
        fault: fn() -> Fault,
    ) -> Self {
        FaultKind {
            name,
            weight,
            lasts,
            slot: Some("etherscan"),
            switch: Switch::Etherscan(fault),
        }
    }

    pub const fn lasting(
        name: &'static str,
        weight: u32,
        lasts: Lasts,
        slot: Option<&'static str>,
        on: fn(&mut Stage, &mut Rng) -> Option<Target>,
        off: fn(&mut Stage, Target),
    ) -> Self {
        FaultKind {
            name,
            weight,
            lasts,
            slot,
            switch: Switch::Custom { on, off },
        }
    }

    pub const fn instant(
        name: &'static str,
        weight: u32,
        on: fn(&mut Stage, &mut Rng) -> Option<Target>,
    ) -> Self {
        FaultKind {
            name,
            weight,
            lasts: Lasts::Instant,
            slot: None,
            switch: Switch::Custom { on, off: nothing },
        }
    }

    /// Switches the fault on; `None` if it could not apply now.
    pub fn on(&self, stage: &mut Stage, rng: &mut Rng) -> Option<Target> {
        match self.switch {
            Switch::Etherscan(fault) => {
                stage.es.set_fault(Some(fault()));
                Some(0)
            }
            Switch::Custom { on, .. } => on(stage, rng),
        }
    }

    pub fn off(&self, stage: &mut Stage, target: Target) {
        match self.switch {
            Switch::Etherscan(_) => stage.es.set_fault(None),
            Switch::Custom { off, .. } => off(stage, target),
        }
    }
}

/// Every kind the campaign injects today.
pub fn table() -> Vec<FaultKind> {
    use FaultKind as K;
    vec![
        K::etherscan("etherscan_5xx", 4, secs(2, 15), || Fault::Http500),
        K::etherscan("etherscan_rate_limit_notok", 3, secs(2, 15), || {
            Fault::RateLimitStorm
        }),
        K::etherscan("etherscan_429", 3, secs(2, 15), || Fault::Http429),
        K::etherscan("etherscan_slow", 2, secs(3, 12), || {
            Fault::Slow(Duration::from_secs(3))
        }),
        K::etherscan("etherscan_truncated_json", 3, secs(2, 15), || {
            Fault::MalformedJson
        }),
        K::etherscan("etherscan_html_page", 2, secs(2, 10), || Fault::HtmlPage),
        K::etherscan("etherscan_daily_cap", 1, secs(2, 8), || Fault::DailyCap),
        K::etherscan("etherscan_empty_head", 1, secs(2, 8), || Fault::EmptyHead),
        K::etherscan("etherscan_null_head", 1, secs(2, 8), || Fault::NullHead),
        K::etherscan("etherscan_error_head", 1, secs(2, 8), || Fault::ErrorHead),
        K::etherscan("etherscan_head_behind", 1, secs(2, 10), || {
            Fault::HeadBehind(4)
        }),
        K::lasting(
            "etherscan_index_lag",
            2,
            secs(3, 15),
            Some("index"),
            lag_on,
            lag_off,
        ),
        K::instant("telegram_ambiguous_timeout", 2, ambiguous),
        K::lasting(
            "telegram_no_rights",
            1,
            secs(3, 10),
            None,
            rights_on,
            rights_off,
        ),
        K::lasting(
            "etherscan_head_backwards",
            1,
            secs(2, 10),
            Some("head"),
            head_back,
            head_restore,
        ),
        K::lasting(
            "telegram_429_flood",
            3,
            secs(3, 15),
            Some("flood"),
            flood_on,
            flood_off,
        ),
        K::instant("telegram_5xx", 2, telegram_5xx),
        K::lasting(
            "telegram_403_block",
            3,
            secs(3, 20),
            None,
            block_on,
            block_off,
        ),
        K::lasting(
            "telegram_chat_failing",
            2,
            secs(3, 20),
            None,
            failing_on,
            failing_off,
        ),
        K::instant("panic_db", 1, |s, _| panic(s, "db")),
        K::instant("panic_etherscan", 1, |s, _| panic(s, "etherscan")),
        K::instant("panic_telegram", 1, |s, _| panic(s, "telegram")),
        K::instant("panic_ticker", 1, |s, _| panic(s, "ticker")),
        K::instant("sigkill_restart", 1, sigkill),
        K::instant("sigterm_restart", 1, sigterm),
    ]
}

/// The head goes back a few blocks (a lagging load-balanced node), then
/// returns; transfers are never put below the highest head seen.
fn head_back(s: &mut Stage, rng: &mut Rng) -> Option<Target> {
    let head = s.es.head(1);
    s.head_floor = s.head_floor.max(head);
    s.es.set_head(1, head.saturating_sub(1 + rng.below(8)));
    i64::try_from(head).ok()
}

fn head_restore(s: &mut Stage, head: Target) {
    let head = u64::try_from(head).unwrap_or(0);
    if s.es.head(1) < head {
        s.es.set_head(1, head);
    }
}

/// The logs index trails the head by a few blocks, fewer than the
/// daemon's rescan depth (16 on Ethereum), so the deep pass covers them.
fn lag_on(s: &mut Stage, rng: &mut Rng) -> Option<Target> {
    let blocks = 1 + rng.below(MAX_INDEX_LAG);
    s.es.set_index_lag(1, blocks);
    i64::try_from(blocks).ok()
}

/// Below Ethereum's default `monitor.rescan_depth` (16).
const MAX_INDEX_LAG: u64 = 8;

fn lag_off(s: &mut Stage, _: Target) {
    s.es.set_index_lag(1, 0);
}

/// The next few `sendMessage` calls are stored but answered after the
/// daemon's `telegram.send_timeout` (2 s in the campaign): it cannot know
/// whether they were delivered. The checker learns which from the
/// simulator ([`crate::sim::botapi::SimBotApi::answered_late`]).
fn ambiguous(s: &mut Stage, rng: &mut Rng) -> Option<Target> {
    let n = 1 + rng.below(3) as u32;
    s.bot.set_answer_after_timeout(n, AMBIGUOUS_DELAY);
    Some(i64::from(n))
}

/// Past the campaign's `telegram.send_timeout`.
pub const AMBIGUOUS_DELAY: Duration = Duration::from_secs(3);

/// Sending to a chat answers 400 "not enough rights" (a group restricted
/// the bot for a while). The rows waiting then are held for the daemon's
/// rights backoff (10 min, longer than a campaign): while the fault lasts
/// the chat counts as unreachable (a copy allowed, none required); after
/// it, notifications are required again.
fn rights_on(s: &mut Stage, rng: &mut Rng) -> Option<Target> {
    chat_fault_on(s, rng, ChatFault::not_enough_rights())
}

fn rights_off(s: &mut Stage, chat: Target) {
    failing_off(s, chat);
}

/// Telegram's flood control bites (the simulator's limits are tight).
fn flood_on(s: &mut Stage, _: &mut Rng) -> Option<Target> {
    s.bot.set_flood_limits(true);
    Some(0)
}

fn flood_off(s: &mut Stage, _: Target) {
    s.bot.set_flood_limits(false);
}

/// A few Bot API calls answer 502.
fn telegram_5xx(s: &mut Stage, rng: &mut Rng) -> Option<Target> {
    let n = 1 + rng.below(4) as u32;
    s.bot.set_server_errors(n);
    Some(i64::from(n))
}

/// A reachable user, at random.
fn some_reachable(s: &Stage, rng: &mut Rng) -> Option<usize> {
    let reachable: Vec<usize> = (0..s.users.len())
        .filter(|i| s.users[*i].reachable)
        .collect();
    rng.pick(&reachable).copied()
}

/// A user blocks the bot (403, and a `my_chat_member` "kicked" update).
fn block_on(s: &mut Stage, rng: &mut Rng) -> Option<Target> {
    let i = some_reachable(s, rng)?;
    let (chat, now) = (s.users[i].chat, Instant::now());
    s.users[i].reachable = false;
    s.ledger.unreachable_begin(chat, now);
    s.ledger.block_begin(chat, now);
    s.bot.block_chat(chat, true);
    s.bot.chat_member(chat, "kicked");
    Some(chat)
}

/// ...and unblocks it, then sends `/start`.
fn block_off(s: &mut Stage, chat: Target) {
    s.bot.block_chat(chat, false);
    s.ledger.block_end(chat, Instant::now());
    s.bot.chat_member(chat, "member");
    came_back(s, chat);
}

/// Sending to a chat fails with 400 "chat not found".
fn failing_on(s: &mut Stage, rng: &mut Rng) -> Option<Target> {
    chat_fault_on(s, rng, ChatFault::chat_not_found())
}

/// A reachable user's chat answers `fault` until [`failing_off`].
fn chat_fault_on(s: &mut Stage, rng: &mut Rng, fault: ChatFault) -> Option<Target> {
    let i = some_reachable(s, rng)?;
    let chat = s.users[i].chat;
    s.users[i].reachable = false;
    s.ledger.unreachable_begin(chat, Instant::now());
    s.bot.fail_chat_with(chat, Some(fault));
    Some(chat)
}

fn failing_off(s: &mut Stage, chat: Target) {
    s.bot.fail_chat_with(chat, None);
    came_back(s, chat);
}

fn came_back(s: &mut Stage, chat: Target) {
    if let Some(u) = s.users.iter_mut().find(|u| u.chat == chat) {
        u.came_back();
    }
}

/// The admin's `/panic <actor>` (fault injection is on).
fn panic(s: &mut Stage, actor: &str) -> Option<Target> {
    s.bot
        .user_says(super::daemon::ADMIN, &format!("/panic {actor}"));
    Some(0)
}

fn sigkill(s: &mut Stage, rng: &mut Rng) -> Option<Target> {
    let now = Instant::now();
    if !s.daemon.kill9() {
        return None;
    }
    s.ledger.cause(now, Cause::Sigkill);
    s.exited("SIGKILL", "signal 9", rng);
    Some(0)
}

fn sigterm(s: &mut Stage, _: &mut Rng) -> Option<Target> {
    if s.stopping.is_some() || !s.daemon.term() {
        return None;
    }
    s.stopping = Some(Instant::now());
    Some(0)
}
