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
    s += "/remove <code>&lt;address&gt;</code> — stop watching it\n\
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

/// The address in full as the kind shows it (`0x…` EIP-55, `T…` base58).
fn named(kind: ChainKind, address: &Address, label: Option<&str>) -> String {
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
        "🚫 You already watch {limit} addresses, the most allowed per user. /remove one to add another."
    )
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

/// The watched addresses, one line each, with their chains.
pub fn list(subs: &[Subscription], limit: u32) -> String {
    if subs.is_empty() {
        return "You are not watching any address yet. Add one with /add <code>&lt;address&gt;</code> [label]."
            .into();
    }
    // Group the per-chain rows by address and kind (a Tron address is
    // shown as T…, apart from the same 20 bytes watched on EVM chains),
    // keeping first-added order.
    type Row<'a> = (ChainKind, &'a Address, Option<&'a str>, Vec<String>);
    let mut rows: Vec<Row<'_>> = Vec::new();
    for s in subs {
        let kind = ChainKind::of(s.chain_id);
        match rows
            .iter_mut()
            .find(|(k, a, _, _)| *k == kind && *a == &s.address)
        {
            Some(row) => {
                row.3.push(display_of(s.chain_id));
                if row.2.is_none() {
                    row.2 = s.label.as_deref();
                }
            }
            None => rows.push((
                kind,
                &s.address,
                s.label.as_deref(),
                vec![display_of(s.chain_id)],
            )),
        }
    }
    let mut out = format!("<b>Watched addresses</b> ({} of {limit})\n", rows.len());
    for (kind, address, label, chains) in rows {
        out += &format!(
            "• {} — {}\n",
            named(kind, address, label),
            chains.join(", ")
        );
    }
    out.trim_end().to_string()
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
