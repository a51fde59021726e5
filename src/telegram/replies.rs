//! The texts the bot sends in answer to commands (HTML parse mode).
//!
//! Every piece of text that came from a user (labels, mistyped
//! arguments) or from another system (panic messages, server errors)
//! goes through [`escape_html`]; Telegram rejects a message with a stray
//! `<`, and worse, would render a user's `<b>` as markup.

use std::time::Duration;

use crate::db::subscriptions::Subscription;
use crate::domain::{Address, Chain, ChainKind};
use crate::notification::escape_html;

use super::commands::parse::{Kind, MAX_LABEL_CHARS};

fn chain_list(chains: &[Chain]) -> String {
    let names: Vec<&str> = chains.iter().map(|c| c.display).collect();
    names.join(", ")
}

fn display_of(chain_id: u64) -> String {
    Chain::by_id(chain_id).map_or_else(|| format!("chain {chain_id}"), |c| c.display.to_string())
}

pub fn greeting(new: bool, chains: &[Chain]) -> String {
    let hello = if new {
        "👋 Welcome!"
    } else {
        "👋 Welcome back!"
    };
    format!(
        "{hello} I watch wallets for <b>USDT</b> and <b>USDC</b> transfers on {} and send you \
         a message for every transfer into or out of them.\n\n\
         Start with /add <code>&lt;address&gt;</code> [label]. /help lists everything I can do.",
        chain_list(chains)
    )
}

pub fn help(chains: &[Chain], admin: bool) -> String {
    let mut s = format!(
        "<b>What I do</b>\nI watch addresses for USDT and USDC transfers on {} and tell you about \
         each one, incoming or outgoing.\n\n<b>Commands</b>\n",
        chain_list(chains)
    );
    s += &format!(
        "/add <code>&lt;address&gt;</code> [label] — watch an address (label: up to {MAX_LABEL_CHARS} characters)\n"
    );
    if chains.iter().any(|c| !c.is_evm()) {
        s += "  An address starting with T is a Tron address (watched on Tron), one starting \
              with 0x an EVM address (watched on the other chains).\n";
    }
    if chains.len() > 1 {
        let names: Vec<&str> = chains.iter().map(|c| c.name).collect();
        s += &format!(
            "/add <code>&lt;address&gt;</code> <code>&lt;chain&gt;</code> [label] — watch on one chain only ({}); \
             without a chain, on all of them that take its kind of address\n",
            names.join(", ")
        );
    }
    s += "/remove <code>&lt;address|label&gt;</code> — stop watching it\n\
          /set <code>&lt;address|label&gt;</code> min <code>&lt;amount&gt;</code> — no alerts below an amount (min 0: all)\n\
          /set <code>&lt;address|label&gt;</code> direction in|out|both — only incoming, only outgoing, or both\n\
          /mute <code>&lt;address|label&gt;</code> [30m|8h|2d|1w] — silence it (no duration: until /unmute)\n\
          /unmute <code>&lt;address|label&gt;</code> — hear it again\n\
          /list — your watched addresses\n\
          /spam — transfers held back as suspected spam\n\
          /help — this message";
    if admin {
        s += "\n\n<b>Admin</b>\n/status — actors, chains, outbox, process\n/stats — counters\n\
              /pause, /resume — stop or restart polling\n\
              /restart <code>&lt;actor&gt;</code> — restart db, etherscan, telegram, ticker or http\n\
              /panic <code>&lt;actor&gt;</code> — fault injection (if enabled)";
    }
    s
}

pub fn hint() -> String {
    "I did not understand that. Send /help to see what I can do.".into()
}

pub fn invalid(kind: Kind, problem: &str) -> String {
    format!(
        "⚠️ {}.\nUsage: <code>{}</code>",
        escape_html(&capitalise(problem)),
        escape_html(kind.usage())
    )
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

pub fn rate_limited(limit: u32, window: Duration, retry_in: Duration) -> String {
    format!(
        "⏳ Easy there: at most {limit} commands per {}. Try again in {} s; until then I will not \
         answer further commands.",
        humantime::format_duration(Duration::from_secs(window.as_secs().max(1))),
        retry_in.as_secs().max(1)
    )
}

/// `<b>label</b> <code>address</code>`, or the address alone (escaped), in
/// full as the kind shows it (`0x…` EIP-55, `T…` base58).
pub fn named(kind: ChainKind, address: &Address, label: Option<&str>) -> String {
    match label {
        Some(l) => format!(
            "<b>{}</b> <code>{}</code>",
            escape_html(l),
            kind.show(address)
        ),
        None => format!("<code>{}</code>", kind.show(address)),
    }
}

pub fn added(
    kind: ChainKind,
    address: &Address,
    label: Option<&str>,
    added: &[Chain],
    already: &[Chain],
) -> String {
    let mut s = format!(
        "✅ Now watching {} on {}.",
        named(kind, address, label),
        chain_list(added)
    );
    if !already.is_empty() {
        s += &format!(" (Already watched on {}.)", chain_list(already));
    }
    let symbols = token_list(added);
    s += &format!("\nYou will get a message for every {symbols} transfer into or out of it.");
    s
}

/// "USDT" or "USDT or USDC": the tokens scanned on `chains`.
fn token_list(chains: &[Chain]) -> String {
    let mut symbols: Vec<&str> = Vec::new();
    for t in chains.iter().flat_map(|c| &c.tokens) {
        if !symbols.contains(&t.symbol.as_str()) {
            symbols.push(t.symbol.as_str());
        }
    }
    if symbols.is_empty() {
        return "USDT or USDC".into();
    }
    symbols.join(" or ")
}

pub fn already_watching(kind: ChainKind, address: &Address, chains: &[Chain]) -> String {
    format!(
        "ℹ️ You are already watching <code>{}</code> on {}.",
        kind.show(address),
        chain_list(chains)
    )
}

pub fn limit_reached(limit: u32) -> String {
    format!(
        "🚫 You already watch {limit} addresses, the most allowed per user (counted across your \
         private chat, the groups you brought me into and the addresses you added in groups). \
         /remove one to add another."
    )
}

/// `/add` past `monitor.max_subscriptions`: the bot as a whole is full.
pub fn subscriptions_full() -> String {
    "🚫 This bot watches as many addresses as its operator allows, so it cannot take another \
     one now. Nothing was added; please try again later."
        .into()
}

/// `registration = "allowlist"`, to anyone not listed.
pub fn private_bot() -> String {
    "🔒 This bot is private: only the people and groups its operator lists may use it, \
     and this message was not handled."
        .into()
}

/// A new chat past `telegram.max_chats`.
pub fn bot_full() -> String {
    "🚫 This bot serves as many chats as its operator allows and cannot take a new one now. \
     Nothing was stored; please try again later."
        .into()
}

/// The admins' alert: new chats are being refused for `telegram.max_chats`.
pub fn bot_full_alert(max_chats: u32) -> String {
    format!(
        "🚫 <b>New chats are being refused</b>: the bot serves <code>telegram.max_chats</code> \
         = {max_chats} chats (pending and approved). Raise it, or deny or remove chats; this \
         alert ends when a new chat gets in."
    )
}

/// A user asked for more chats than may wait at once
/// ([`MAX_PENDING_PER_USER`](crate::db::access::MAX_PENDING_PER_USER)).
pub fn too_many_requests() -> String {
    format!(
        "⏳ You have {} requests waiting for the operator's decision already. Nothing was \
         stored; ask again once one of them is decided.",
        crate::db::access::MAX_PENDING_PER_USER
    )
}

/// `registration = "approval"`: a new chat's request went to the admins.
pub fn approval_requested() -> String {
    "⏳ This bot's operator approves each new chat. Your request has been sent; I will tell \
     you here as soon as it is decided."
        .into()
}

/// `registration = "approval"`: a command from a new chat that has not
/// asked yet.
pub fn approval_needed() -> String {
    "⏳ This bot's operator approves each new chat. Send /start to ask for access.".into()
}

/// A command from a chat waiting for approval.
pub fn waiting_for_approval() -> String {
    "⏳ Your request is waiting for approval by the bot's operator. I will tell you here as \
     soon as it is decided; until then I watch nothing for this chat."
        .into()
}

/// A command from a chat an admin denied.
pub fn access_denied() -> String {
    "🚫 The bot's operator denied access to this chat. I watch nothing for it.".into()
}

/// Sent to the chat that asked, once an admin approved it.
pub fn access_approved_notice() -> String {
    "✅ Your request was approved: you can use the bot now. Start with /add \
     <code>&lt;address&gt;</code> [label]; /help lists everything I can do."
        .into()
}

/// Sent to the chat that asked, once an admin denied it.
pub fn access_denied_notice() -> String {
    "🚫 Your request was denied by the bot's operator. I will watch nothing for this chat.".into()
}

/// The message each admin gets for a chat asking for access (HTML).
pub fn access_request(
    chat_id: i64,
    user_id: i64,
    title: Option<&str>,
    username: Option<&str>,
    first_name: Option<&str>,
) -> String {
    let who = match (first_name, username) {
        (Some(n), Some(u)) => format!("{} (@{})", escape_html(n), escape_html(u)),
        (Some(n), None) => escape_html(n),
        (None, Some(u)) => format!("@{}", escape_html(u)),
        (None, None) => "a user".into(),
    };
    let chat = match title {
        Some(t) if chat_id < 0 => format!(
            "the group <b>{}</b> (chat <code>{chat_id}</code>)",
            escape_html(t)
        ),
        _ if chat_id < 0 => format!("a group (chat <code>{chat_id}</code>)"),
        _ => format!("a private chat (<code>{chat_id}</code>)"),
    };
    format!(
        "🙋 <b>Access request</b>\n{who} (user <code>{user_id}</code>) asks to use the bot in \
         {chat}. Until you decide, the chat can add nothing and gets no notifications."
    )
}

/// The request's text once decided (the buttons are gone).
pub fn access_decided(chat_id: i64, approve: bool) -> String {
    if approve {
        format!("✅ Chat <code>{chat_id}</code> approved: it can use the bot now.")
    } else {
        format!("🚫 Chat <code>{chat_id}</code> denied: it gets nothing.")
    }
}

pub fn chain_not_watched(chain: &str, configured: &[Chain]) -> String {
    format!(
        "⚠️ This bot does not watch {}. Chains watched here: {}.\nUsage: <code>{}</code>",
        escape_html(chain),
        configured
            .iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
            .join(", "),
        escape_html(Kind::Add.usage())
    )
}

/// `/add` of an address whose kind no configured chain has (a `T…`
/// address where Tron is not watched, a `0x…` one on a Tron-only bot).
pub fn kind_not_watched(kind: ChainKind, configured: &[Chain]) -> String {
    let what = match kind {
        ChainKind::Evm => "EVM chains (0x… addresses)",
        ChainKind::Tron => "Tron (T… addresses)",
    };
    format!(
        "⚠️ This bot does not watch {what}. Chains watched here: {}.",
        configured
            .iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
            .join(", ")
    )
}

pub fn removed(kind: ChainKind, address: &Address, chain_ids: &[u64]) -> String {
    let names: Vec<String> = chain_ids.iter().map(|c| display_of(*c)).collect();
    format!(
        "🗑 Stopped watching <code>{}</code> on {}.",
        kind.show(address),
        names.join(", ")
    )
}

pub fn not_watching(kind: ChainKind, address: &Address) -> String {
    format!(
        "ℹ️ You are not watching <code>{}</code>. /list shows what you watch.",
        kind.show(address)
    )
}

/// `/list`'s text: the watched addresses, one line each, with their
/// chains; `used` of `limit` addresses counted against the sender (across
/// their chats, as `/add` counts them).
pub fn list(subs: &[Subscription], used: u64, limit: u32, now: i64) -> String {
    if subs.is_empty() {
        return "You are not watching any address yet. Add one with /add <code>&lt;address&gt;</code> [label]."
            .into();
    }
    let rows = list_rows(subs);
    let mut out = format!("<b>Watched addresses</b> ({used} of {limit})\n");
    for r in rows {
        out += &format!(
            "• {} — {}\n   {}\n",
            named(r.kind, r.address, r.label),
            r.chains.join(", "),
            super::commands::settings::describe(&r.settings, now)
        );
    }
    out.trim_end().to_string()
}

/// One line of `/list`: an address with the chains that share its settings.
pub struct ListRow<'a> {
    /// The first subscription of the row (what its buttons name).
    pub subscription_id: i64,
    /// A Tron address is shown as `T…`, apart from the same 20 bytes
    /// watched on EVM chains.
    pub kind: ChainKind,
    pub address: &'a Address,
    pub label: Option<&'a str>,
    pub chains: Vec<String>,
    pub settings: crate::db::settings::Settings,
}

/// Groups the per-chain subscriptions by address and settings, keeping
/// first-added order (the rows of one address stay together).
pub fn list_rows(subs: &[Subscription]) -> Vec<ListRow<'_>> {
    let mut rows: Vec<ListRow<'_>> = Vec::new();
    for s in subs {
        let kind = ChainKind::of(s.chain_id);
        let same = |r: &&mut ListRow<'_>| {
            r.kind == kind && r.address == &s.address && r.settings == s.settings
        };
        match rows.iter_mut().find(|r| same(r)) {
            Some(row) => {
                row.chains.push(display_of(s.chain_id));
                if row.label.is_none() {
                    row.label = s.label.as_deref();
                }
            }
            None => {
                let at = rows
                    .iter()
                    .rposition(|r| r.kind == kind && r.address == &s.address)
                    .map_or(rows.len(), |i| i + 1);
                rows.insert(
                    at,
                    ListRow {
                        subscription_id: s.id,
                        kind,
                        address: &s.address,
                        label: s.label.as_deref(),
                        chains: vec![display_of(s.chain_id)],
                        settings: s.settings,
                    },
                );
            }
        }
    }
    rows
}

pub fn spam_mode(mode: crate::config::SpamMode) -> String {
    use crate::config::SpamMode;
    match mode {
        SpamMode::Off => "🛡 Suspicious transfers will be held back silently. See them with /spam.",
        SpamMode::On => "🛡 For each suspicious transfer you will get a short ⚠️ warning naming the look-alike address and the one it imitates.",
        SpamMode::Digest => "🛡 Suspicious transfers will be held back and summed up once a day.",
    }
    .into()
}

/// A group member who is not an administrator tried to change settings.
pub fn admins_only(kind: Kind) -> String {
    format!(
        "⛔ Only this group's administrators may use /{} here: it changes what the whole group is sent. Ask an administrator.",
        kind.name()
    )
}

/// An admin command sent in a group: its reply would show every member
/// other chats' ids and failures.
pub fn admin_in_private(kind: Kind) -> String {
    format!(
        "🔒 /{} is answered only in a private chat with me: its reply is for the bot's administrators, not for everyone in this group.",
        kind.name()
    )
}

/// Telegram could not say whether the sender is a group administrator.
pub fn rights_unknown() -> String {
    "⚠️ I could not check with Telegram whether you are an administrator of this group; nothing was changed. Please try again in a minute.".into()
}

pub fn try_later() -> String {
    "⚠️ Something went wrong on my side; please try again in a minute.".into()
}

pub fn not_admin_fault_injection() -> String {
    "🚫 Refused: fault injection is disabled (supervisor.fault_injection = false).".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_is_escaped() {
        let a = Address::parse("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed").unwrap();
        let eth = Chain::by_name("ethereum").unwrap();
        let text = added(
            ChainKind::Evm,
            &a,
            Some("<b>x</b> & co"),
            std::slice::from_ref(&eth),
            &[],
        );
        assert!(
            text.contains("<b>&lt;b&gt;x&lt;/b&gt; &amp; co</b>"),
            "{text}"
        );
        let text = invalid(Kind::Add, "\"0x<b>\" is not a valid address");
        assert!(text.contains("&quot;0x&lt;b&gt;&quot;"), "{text}");
        assert!(text.contains("Usage: <code>/add &lt;address&gt; [chain] [label]</code>"));
    }
}
