//! The text of a transfer notification, as one subscriber reads it.
//!
//! Rendered once, when the transfer is recorded, and stored in the outbox
//! with it, so that what is delivered after a crash is exactly what would
//! have been delivered before. HTML parse mode: every piece of user text
//! (labels) is escaped; amounts are exact (no float anywhere).

use crate::domain::{Address, Chain, ChainKind, Direction, Transfer};

/// One transfer from the point of view of one chat.
#[derive(Debug, Clone)]
pub struct View<'a> {
    pub transfer: &'a Transfer,
    pub direction: Direction,
    /// The chat's watched address on our side (the sender for outgoing and
    /// self-transfers), with its label.
    pub watched: &'a Address,
    pub watched_label: Option<&'a str>,
    /// The other side; for a self-transfer, the chat's receiving address.
    pub counterparty: &'a Address,
    pub counterparty_label: Option<&'a str>,
}

/// Escapes text for Telegram's HTML parse mode.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// `label (0x1234…abcd)` or the short address alone, in the chain kind's
/// form (`TR7NHq…jLj6t` on Tron).
pub fn name_of(kind: ChainKind, address: &Address, label: Option<&str>) -> String {
    match label {
        Some(l) => format!("<b>{}</b> ({})", escape_html(l), kind.short(address)),
        None => kind.short(address),
    }
}

/// The inline keyboard of a transfer notification, as the Bot API's
/// `reply_markup` JSON: a URL button to the transaction on the chain's
/// explorer (when the chain is known) and `🔕 Mute 24h` for the watched
/// address of `subscription_id` ([`crate::telegram::callback_data`]).
pub fn keyboard(t: &Transfer, subscription_id: i64) -> String {
    use crate::telegram::callback_data::Action;
    let mut row = Vec::new();
    if let Some(c) = Chain::by_id(t.chain_id) {
        row.push(serde_json::json!({ "text": "🔎 Explorer", "url": c.tx_url(&t.tx_hash) }));
    }
    row.push(serde_json::json!({
        "text": "🔕 Mute 24h",
        "callback_data": Action::Mute24h(subscription_id).encode(),
    }));
    serde_json::json!({ "inline_keyboard": [row] }).to_string()
}

pub fn render(v: &View<'_>) -> String {
    let t = v.transfer;
    let chain = Chain::by_id(t.chain_id);
    let chain_name = chain.as_ref().map_or("unknown chain", |c| c.display);
    let kind = ChainKind::of(t.chain_id);
    let name_of = |address, label| name_of(kind, address, label);
    let amount = t.amount.format_units(t.decimals);
    let token = t.token.as_str();
    let (icon, what) = match v.direction {
        Direction::Incoming => ("⬇️", "Incoming"),
        Direction::Outgoing => ("⬆️", "Outgoing"),
        Direction::SelfTransfer => ("🔁", "Self-transfer"),
    };
    let mut s = format!("{icon} <b>{what} {amount} {token}</b> on {chain_name}\n");
    match v.direction {
        Direction::Incoming => {
            s += &format!("To: {}\n", name_of(v.watched, v.watched_label));
            s += &format!("From: <code>{}</code>\n", kind.show(v.counterparty));
        }
        Direction::Outgoing => {
            s += &format!("From: {}\n", name_of(v.watched, v.watched_label));
            s += &format!("To: <code>{}</code>\n", kind.show(v.counterparty));
        }
        Direction::SelfTransfer => {
            s += &format!("From: {}\n", name_of(v.watched, v.watched_label));
            s += &format!("To: {}\n", name_of(v.counterparty, v.counterparty_label));
        }
    }
    s += &format!("Time: {}\n", utc(t.timestamp));
    match chain {
        Some(c) => s += &format!("<a href=\"{}\">View transaction</a>", c.tx_url(&t.tx_hash)),
        None => s += &format!("Tx: <code>{}</code>", escape_html(&t.tx_hash)),
    }
    s
}

/// `2026-11-28 02:30:23 UTC` from Unix seconds, without a date library.
pub fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Amount, TokenSymbol};

    fn addr(s: &str) -> Address {
        Address::parse(s).unwrap()
    }

    fn transfer(raw: u128) -> Transfer {
        Transfer {
            chain_id: 1,
            tx_hash: "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060".into(),
            log_index: 3,
            block: 19_000_000,
            timestamp: 1_764_297_023,
            token: TokenSymbol::Usdt,
            contract: addr("0xdac17f958d2ee523a2206206994597c13d831ec7"),
            decimals: 6,
            from: addr("0x1111111111111111111111111111111111111111"),
            to: addr("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"),
            amount: Amount::from_u128(raw),
        }
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_764_297_023), "2025-11-28 02:30:23 UTC");
    }

    #[test]
    fn incoming_snapshot() {
        let t = transfer(1_234_567_890);
        let v = View {
            transfer: &t,
            direction: Direction::Incoming,
            watched: &t.to,
            watched_label: Some("Savings <b>"),
            counterparty: &t.from,
            counterparty_label: None,
        };
        assert_eq!(
            render(&v),
            "⬇️ <b>Incoming 1,234.56789 USDT</b> on Ethereum\n\
             To: <b>Savings &lt;b&gt;</b> (0x5aae…eaed)\n\
             From: <code>0x1111111111111111111111111111111111111111</code>\n\
             Time: 2025-11-28 02:30:23 UTC\n\
             <a href=\"https://etherscan.io/tx/0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060\">View transaction</a>"
        );
    }

    #[test]
    fn dust_is_exact_and_outgoing_names_the_recipient() {
        let t = transfer(7);
        let v = View {
            transfer: &t,
            direction: Direction::Outgoing,
            watched: &t.from,
            watched_label: None,
            counterparty: &t.to,
            counterparty_label: None,
        };
        let text = render(&v);
        assert!(
            text.starts_with("⬆️ <b>Outgoing 0.000007 USDT</b>"),
            "{text}"
        );
        assert!(
            text.contains("To: <code>0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed</code>"),
            "{text}"
        );
    }

    /// Tron: the chain named, both addresses in base58 (never hex), the
    /// tronscan link with the bare txid.
    #[test]
    fn tron_incoming_snapshot() {
        let txid = "0f".repeat(32);
        let t = Transfer {
            chain_id: crate::domain::TRON_CHAIN_ID,
            tx_hash: txid.clone(),
            contract: Address::parse_tron("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t").unwrap(),
            to: Address::parse_tron("TEkxiTehnzSmSe2XqrBj4w32RUN966rdz8").unwrap(),
            ..transfer(1_250_000_000)
        };
        let v = View {
            transfer: &t,
            direction: Direction::Incoming,
            watched: &t.to,
            watched_label: Some("Shop"),
            counterparty: &t.from,
            counterparty_label: None,
        };
        let from = t.from.to_tron();
        assert_eq!(
            render(&v),
            format!(
                "⬇️ <b>Incoming 1,250 USDT</b> on Tron\n\
                 To: <b>Shop</b> (TEkxiT…6rdz8)\n\
                 From: <code>{from}</code>\n\
                 Time: 2025-11-28 02:30:23 UTC\n\
                 <a href=\"https://tronscan.org/#/transaction/{txid}\">View transaction</a>"
            )
        );
        assert!(from.starts_with('T') && !render(&v).contains("0x"));
    }
}
