//! The commands every user has: /start, /help, /add, /remove, /list, /spam
//! (and, in [`super::settings`], /set, /mute, /unmute).

use rusqlite::{OptionalExtension, Transaction, params};

use super::parse::{Command, SpamArg};
use super::{Incoming, Reply, db_failed};
use crate::db::chats::UpsertChat;
use crate::db::settings::{Target, Unresolved, Watched, resolve, subscriptions_of};
use crate::db::spam::{FlaggedTransfers, SetSpamMode};
use crate::db::subscriptions::{
    AddOutcome, AddSubscription, ListSubscriptions, RemoveSubscription,
};
use crate::db::{DbError, DbRequest};
use crate::domain::{Address, Chain, ChainKind};
use crate::telegram::{Core, replies};

pub async fn handle(core: &Core, msg: &Incoming, command: Command, admin: bool) -> Reply {
    if let Command::List = command {
        return list(core, msg, &command).await;
    }
    answer(core, msg, command, admin).await.into()
}

/// Button rows under `/list` (two buttons each): Telegram allows 100
/// buttons in one keyboard; addresses beyond the first 50 get none.
const MAX_LIST_BUTTON_ROWS: usize = 50;

/// `/list`: the text, and per address `Remove` / `Mute 24h` buttons.
async fn list(core: &Core, msg: &Incoming, command: &Command) -> Reply {
    use crate::telegram::callback_data::Action;
    let chat = msg.chat_id;
    let subs = match core.deps.db.exec(ListSubscriptions { chat_id: chat }).await {
        Ok(subs) => subs,
        Err(e) => return db_failed(command, &e).into(),
    };
    // What counts against the sender's limit when they add here: their
    // addresses across their chats, this chat's included (as `/add` counts).
    let counted = CountedAddresses {
        user_id: msg.user_id,
        chat_id: chat,
    };
    let used = match core.deps.db.exec(counted).await {
        Ok(used) => used,
        Err(e) => return db_failed(command, &e).into(),
    };
    let limit = core.deps.config.monitor.max_addresses_per_user;
    let text = replies::list(&subs, used, limit, crate::db::now_secs());
    let mut rows: Vec<serde_json::Value> = Vec::new();
    // One row per address as a person reads it: the same 20 bytes on EVM
    // chains and on Tron are two addresses, with a row each.
    let mut seen: Vec<(ChainKind, &Address)> = Vec::new();
    for s in &subs {
        let kind = ChainKind::of(s.chain_id);
        if seen.contains(&(kind, &s.address)) {
            continue;
        }
        if rows.len() == MAX_LIST_BUTTON_ROWS {
            break; // Telegram refuses a keyboard of more than 100 buttons
        }
        seen.push((kind, &s.address));
        let name: String = match &s.label {
            Some(l) => l.chars().take(20).collect(),
            None => kind.short(&s.address),
        };
        rows.push(serde_json::json!([
            { "text": format!("🗑 Remove {name}"), "callback_data": Action::AskRemove(s.id).encode() },
            { "text": format!("🔕 Mute 24h {name}"), "callback_data": Action::Mute24h(s.id).encode() },
        ]));
    }
    let markup =
        (!rows.is_empty()).then(|| serde_json::json!({ "inline_keyboard": rows }).to_string());
    Reply { text, markup }
}

async fn answer(core: &Core, msg: &Incoming, command: Command, admin: bool) -> String {
    let chat = msg.chat_id;
    let db = &core.deps.db;
    match &command {
        Command::Start => {
            let upsert = UpsertChat {
                chat_id: chat,
                username: msg.username.clone(),
                first_name: msg.first_name.clone(),
            };
            match db.exec(upsert).await {
                Ok(new) => {
                    // Notifications held while the chat was inactive go now.
                    core.deps.outbox_ready.notify_one();
                    replies::greeting(new || msg.new_chat, &core.chains)
                }
                Err(e) => db_failed(&command, &e),
            }
        }
        Command::Help => replies::help(&core.chains, admin),
        Command::Add {
            address,
            kind,
            chain,
            label,
        } => {
            let chains: Vec<Chain> = match chain {
                Some(name) => match core.chains.iter().find(|c| c.name == *name) {
                    Some(c) => vec![c.clone()],
                    None => return replies::chain_not_watched(name, &core.chains),
                },
                // Every configured chain of the address's kind.
                None => core
                    .chains
                    .iter()
                    .filter(|c| c.kind == *kind)
                    .cloned()
                    .collect(),
            };
            if chains.is_empty() {
                return replies::kind_not_watched(*kind, &core.chains);
            }
            let monitor = &core.deps.config.monitor;
            let limit = monitor.max_addresses_per_user;
            let request = AddWatch {
                chat_id: chat,
                user_id: msg.user_id,
                address: address.clone(),
                label: label.clone(),
                chain_ids: chains.iter().map(|c| c.id).collect(),
                limit,
                max_subscriptions: monitor.max_subscriptions,
            };
            match db.exec(request).await {
                Ok(AddWatchOutcome::LimitReached) => replies::limit_reached(limit),
                Ok(AddWatchOutcome::Full) => replies::subscriptions_full(),
                Ok(AddWatchOutcome::Done { added, already }) => {
                    let pick = |ids: &[u64]| -> Vec<Chain> {
                        chains
                            .iter()
                            .filter(|c| ids.contains(&c.id))
                            .cloned()
                            .collect()
                    };
                    if added.is_empty() {
                        replies::already_watching(*kind, address, &pick(&already))
                    } else {
                        replies::added(
                            *kind,
                            address,
                            label.as_deref(),
                            &pick(&added),
                            &pick(&already),
                        )
                    }
                }
                Err(e) => db_failed(&command, &e),
            }
        }
        Command::Remove { target, chain } => {
            // One chain, or every chain of the address's kind (the same 20
            // bytes watched as an EVM address stay watched on EVM chains);
            // a label: every chain of the labelled subscription's kind.
            let request = RemoveWatch {
                chat_id: chat,
                target: target.clone(),
                chain_ids: chain
                    .map(|name| Chain::by_name(name).map(|c| c.id).into_iter().collect()),
            };
            match db.exec(request).await {
                Ok(Ok((w, ids))) if ids.is_empty() => replies::not_watching(w.kind, &w.address),
                Ok(Ok((w, ids))) => replies::removed(w.kind, &w.address, &ids),
                Ok(Err(u)) => super::settings::unresolved(&u),
                Err(e) => db_failed(&command, &e),
            }
        }
        Command::Set { .. } | Command::Mute { .. } | Command::Unmute { .. } => {
            super::settings::handle(core, msg, &command).await
        }
        Command::Spam(SpamArg::List(limit)) => {
            let request = FlaggedTransfers {
                chat_id: chat,
                limit: *limit,
                contracts: core.deps.contracts.clone(),
            };
            match db.exec(request).await {
                Ok(report) => crate::spam::render::listing(&report),
                Err(e) => db_failed(&command, &e),
            }
        }
        Command::Spam(SpamArg::Mode(mode)) => {
            let request = SetSpamMode {
                chat_id: chat,
                mode: *mode,
            };
            match db.exec(request).await {
                Ok(()) => replies::spam_mode(*mode),
                Err(e) => db_failed(&command, &e),
            }
        }
        _ => replies::hint(),
    }
}

/// `/add`: watch one address on several chains, atomically.
///
/// `max_addresses_per_user` counts distinct *addresses*: watching one
/// address on every configured chain uses one slot. It is counted for the
/// user, across every chat that is theirs — their private chat, the chats
/// they own (`chats.owner`: a group they asked for or added the first
/// address to), every address they added anywhere — together with the
/// chat's own addresses: a user does not multiply it by creating groups.
/// `max_subscriptions` bounds the subscriptions of all chats together.
/// Both are checked before anything is written, so a refused command
/// stores nothing.
pub struct AddWatch {
    pub chat_id: i64,
    /// Who sends the `/add` (in a group: the member; an anonymous
    /// administrator writes as the group).
    pub user_id: i64,
    pub address: Address,
    pub label: Option<String>,
    pub chain_ids: Vec<u64>,
    pub limit: u32,
    /// `monitor.max_subscriptions`.
    pub max_subscriptions: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddWatchOutcome {
    Done {
        added: Vec<u64>,
        already: Vec<u64>,
    },
    /// The user (or the chat) watches `limit` addresses already.
    LimitReached,
    /// The bot keeps `max_subscriptions` already.
    Full,
}

/// The chats and subscriptions counted for `?1` (the user) in `?2` (the
/// chat), as a `WHERE` clause on `subscriptions`.
const COUNTED_FOR_USER: &str = "(chat_id = ?2 OR chat_id = ?1 OR added_by = ?1
     OR chat_id IN (SELECT chat_id FROM chats WHERE owner = ?1))";

/// The user whose limit a command of `user_id` in `chat_id` counts
/// against: the sender, or — for an anonymous administrator, who writes as
/// the group itself (`user_id == chat_id`) — the group's owner
/// (`chats.owner`: who asked for it or added its first address); a group
/// nobody owns counts as its own user. Without this, one user would get a
/// fresh limit in every group they administer anonymously.
fn counted_user(tx: &Transaction<'_>, user_id: i64, chat_id: i64) -> Result<i64, DbError> {
    if user_id != chat_id || chat_id > 0 {
        return Ok(user_id);
    }
    let owner: Option<i64> = tx
        .query_row(
            "SELECT owner FROM chats WHERE chat_id = ?1",
            [chat_id],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    Ok(owner.unwrap_or(chat_id))
}

/// The distinct addresses counted against `user_id`'s limit when they add
/// one in `chat_id` ([`AddWatch`]'s count).
pub struct CountedAddresses {
    pub user_id: i64,
    pub chat_id: i64,
}

impl DbRequest for CountedAddresses {
    type Output = u64;
    const WRITES: bool = false;
    fn run(self, tx: &Transaction<'_>) -> Result<u64, DbError> {
        let user = counted_user(tx, self.user_id, self.chat_id)?;
        let count: i64 = tx.query_row(
            &format!("SELECT count(DISTINCT address) FROM subscriptions WHERE {COUNTED_FOR_USER}"),
            params![user, self.chat_id],
            |r| r.get(0),
        )?;
        Ok(count.max(0) as u64)
    }
}

impl DbRequest for AddWatch {
    type Output = AddWatchOutcome;
    fn run(self, tx: &Transaction<'_>) -> Result<AddWatchOutcome, DbError> {
        let user = counted_user(tx, self.user_id, self.chat_id)?;
        let counted: bool = tx.query_row(
            &format!(
                "SELECT EXISTS (SELECT 1 FROM subscriptions WHERE {COUNTED_FOR_USER} AND address = ?3)"
            ),
            params![user, self.chat_id, self.address.as_str()],
            |r| r.get(0),
        )?;
        if !counted {
            let count: i64 = tx.query_row(
                &format!(
                    "SELECT count(DISTINCT address) FROM subscriptions WHERE {COUNTED_FOR_USER}"
                ),
                params![user, self.chat_id],
                |r| r.get(0),
            )?;
            if count >= i64::from(self.limit) {
                return Ok(AddWatchOutcome::LimitReached);
            }
        }
        let mut new_rows = 0i64;
        for &chain_id in &self.chain_ids {
            let exists: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM subscriptions
                 WHERE chat_id = ?1 AND chain_id = ?2 AND address = ?3)",
                params![self.chat_id, chain_id as i64, self.address.as_str()],
                |r| r.get(0),
            )?;
            new_rows += i64::from(!exists);
        }
        if new_rows > 0 {
            let total: i64 =
                tx.query_row("SELECT count(*) FROM subscriptions", [], |r| r.get(0))?;
            if total + new_rows > i64::from(self.max_subscriptions) {
                return Ok(AddWatchOutcome::Full);
            }
        }
        let (mut added, mut already) = (Vec::new(), Vec::new());
        for chain_id in self.chain_ids {
            let add = AddSubscription {
                chat_id: self.chat_id,
                chain_id,
                address: self.address.clone(),
                label: self.label.clone(),
                // Counted above, per address rather than per chain.
                limit: u32::MAX,
            };
            match add.run(tx)? {
                AddOutcome::Added => added.push(chain_id),
                AddOutcome::AlreadyWatching => already.push(chain_id),
                AddOutcome::LimitReached { .. } => {
                    return Err(DbError::Corrupt("unexpected subscription limit".into()));
                }
            }
        }
        if !added.is_empty() {
            tx.execute(
                "UPDATE subscriptions SET added_by = ?1
                 WHERE chat_id = ?2 AND address = ?3 AND added_by IS NULL",
                params![user, self.chat_id, self.address.as_str()],
            )?;
            // A chat nobody owns yet (a group registered before, or in the
            // open mode) becomes the first adder's — a person's, not the
            // group's own (an anonymous administrator is nobody in particular).
            if user > 0 {
                tx.execute(
                    "UPDATE chats SET owner = ?1 WHERE chat_id = ?2 AND owner IS NULL",
                    params![user, self.chat_id],
                )?;
            }
        }
        Ok(AddWatchOutcome::Done { added, already })
    }
}

/// `/remove`: stop watching an address, named by address or label, on the
/// chains `chain_ids` (`None`: every chain of its kind it is watched on);
/// returns the address and the chain ids it was removed from, in the order they were
/// added, or why the target names no single address.
pub struct RemoveWatch {
    pub chat_id: i64,
    pub target: Target,
    pub chain_ids: Option<Vec<u64>>,
}

impl DbRequest for RemoveWatch {
    type Output = Result<(Watched, Vec<u64>), Unresolved>;
    fn run(self, tx: &Transaction<'_>) -> Result<Self::Output, DbError> {
        let watched = match resolve(tx, self.chat_id, &self.target)? {
            Ok(w) => w,
            Err(u) => return Ok(Err(u)),
        };
        let ids: Vec<u64> = subscriptions_of(tx, self.chat_id, &watched)?
            .into_iter()
            .map(|(_, chain_id)| chain_id)
            .filter(|id| self.chain_ids.as_ref().is_none_or(|c| c.contains(id)))
            .collect();
        for &chain_id in &ids {
            let remove = RemoveSubscription {
                chat_id: self.chat_id,
                address: watched.address.clone(),
                chain_id: Some(chain_id),
            };
            remove.run(tx)?;
        }
        Ok(Ok((watched, ids)))
    }
}
