//! Per-subscription settings: a minimum amount, the wanted direction and a
//! mute (`/set`, `/mute`, `/unmute`, the `🔕 Mute 24h` button).
//!
//! They are applied where the poll write decides what a chat hears
//! ([`super::poll_result`]): a transfer a chat's settings filter out is
//! recorded in `transfers` (and still reaches webhook sinks) but gets no
//! outbox row for that chat, so nothing can send it later — unmuting does
//! not replay what was muted, and it never shows as lost.
//!
//! Storage (migration 7): `subscriptions.min_amount` is the minimum in units
//! of 10^-[`MIN_SCALE`] token, as decimal integer text (NULL: none), so one
//! value serves tokens of 6 and 18 decimals alike; `direction` is `in`,
//! `out` or `both`; `muted_until` is Unix seconds (NULL: not muted,
//! [`MUTED_FOREVER`]: until `/unmute`).
//!
//! Commands name a subscription by address or by label ([`Target`]); the
//! settings of an address apply to all its chains of one kind in the chat
//! (the same 20 bytes watched on EVM chains and on Tron are two addresses).

use rusqlite::{OptionalExtension, Row, Transaction, params};

use super::{DbError, DbRequest, now_secs, subscriptions::parse_stored};
use crate::domain::{Address, Amount, Chain, ChainKind, Direction};

/// The decimals `min_amount` is stored with.
pub const MIN_SCALE: u8 = 18;
/// `muted_until` of a mute without an end.
pub const MUTED_FOREVER: i64 = i64::MAX;

/// Which transfers of an address notify.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DirectionFilter {
    /// Only transfers into the address.
    In,
    /// Only transfers out of it.
    Out,
    #[default]
    Both,
}

impl DirectionFilter {
    /// The stored and typed name: `in`, `out`, `both`.
    pub fn as_str(self) -> &'static str {
        match self {
            DirectionFilter::In => "in",
            DirectionFilter::Out => "out",
            DirectionFilter::Both => "both",
        }
    }

    /// Parses the stored or typed name (case-insensitive).
    pub fn parse(s: &str) -> Option<Self> {
        [Self::In, Self::Out, Self::Both]
            .into_iter()
            .find(|d| d.as_str().eq_ignore_ascii_case(s))
    }
}

/// One subscription's settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settings {
    /// The minimum, in units of 10^-[`MIN_SCALE`] token; `None`: no minimum.
    pub min: Option<Amount>,
    pub direction: DirectionFilter,
    /// Unix seconds; `None`: not muted; [`MUTED_FOREVER`]: until unmuted.
    pub muted_until: Option<i64>,
}

impl Settings {
    /// Reads `min_amount, direction, muted_until` from `row` at `first..`.
    pub(crate) fn from_row(row: &Row<'_>, first: usize) -> rusqlite::Result<Self> {
        let min: Option<String> = row.get(first)?;
        let direction: String = row.get(first + 1)?;
        let bad = |what: &str| {
            rusqlite::Error::FromSqlConversionFailure(
                first,
                rusqlite::types::Type::Text,
                format!("stored {what}").into(),
            )
        };
        Ok(Settings {
            min: match min {
                Some(m) => Some(Amount::from_dec(&m).map_err(|_| bad("min_amount"))?),
                None => None,
            },
            direction: DirectionFilter::parse(&direction).ok_or_else(|| bad("direction"))?,
            muted_until: row.get(first + 2)?,
        })
    }

    /// Muted at `now` (Unix seconds)?
    pub fn is_muted(&self, now: i64) -> bool {
        self.muted_until.is_some_and(|until| until > now)
    }

    /// Does a transfer of `amount` (raw, with `decimals`) on this side of
    /// the watched address (`Incoming` or `Outgoing`; a self-transfer is
    /// both) notify at `now`?
    pub fn notifies(&self, side: Direction, amount: &Amount, decimals: u8, now: i64) -> bool {
        if self.is_muted(now) {
            return false;
        }
        let side_wanted = match (self.direction, side) {
            (DirectionFilter::Both, _) | (_, Direction::SelfTransfer) => true,
            (DirectionFilter::In, d) => d == Direction::Incoming,
            (DirectionFilter::Out, d) => d == Direction::Outgoing,
        };
        side_wanted && self.min.is_none_or(|min| at_least(amount, decimals, &min))
    }
}

/// `amount` (raw, `decimals` places) ≥ `min` (raw, [`MIN_SCALE`] places)?
/// Exact: the one with fewer places is scaled up; a value too large to
/// scale is above any minimum.
pub fn at_least(amount: &Amount, decimals: u8, min: &Amount) -> bool {
    if decimals <= MIN_SCALE {
        amount
            .checked_mul_pow10(MIN_SCALE - decimals)
            .is_none_or(|a| a >= *min)
    } else {
        min.checked_mul_pow10(decimals - MIN_SCALE)
            .is_some_and(|m| *amount >= m)
    }
}

/// The fewest decimals among a chain's tokens (18 for an unknown chain): a
/// minimum with more places than that cannot be told apart on the chain.
pub fn chain_decimals(chain_id: u64) -> u8 {
    Chain::by_id(chain_id)
        .and_then(|c| c.tokens.iter().map(|t| t.decimals).min())
        .unwrap_or(MIN_SCALE)
}

/// How a command names a watched address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An address and the kind its typed form tells (`T…` Tron, `0x…`
    /// EVM): it names the subscriptions on chains of that kind only — the
    /// same 20 bytes watched on the other kind are another address to a
    /// person.
    Address(Address, ChainKind),
    /// Compared case-insensitively with the stored labels; names the
    /// labelled address on the labelled subscription's kind of chain.
    Label(String),
}

/// A watched address as a person names it: its 20 bytes and the kind of
/// chain it is watched on (which also says how to show it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watched {
    pub address: Address,
    pub kind: ChainKind,
}

/// Why a [`Target`] names no single watched address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// The chat does not watch this address on chains of its kind.
    NotWatching(Watched),
    /// No watched address has this label.
    UnknownLabel(String),
    /// Several watched addresses share this label.
    Ambiguous(String, Vec<Watched>),
}

/// The ids and chain ids of the subscriptions of `watched` in `chat_id`
/// (chains of its kind only), in the order they were added.
pub fn subscriptions_of(
    tx: &Transaction<'_>,
    chat_id: i64,
    watched: &Watched,
) -> Result<Vec<(i64, u64)>, DbError> {
    let mut stmt = tx.prepare(
        "SELECT id, chain_id FROM subscriptions WHERE chat_id = ?1 AND address = ?2 ORDER BY id",
    )?;
    let rows = stmt
        .query_map(params![chat_id, watched.address.as_str()], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)? as u64))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows
        .into_iter()
        .filter(|(_, chain_id)| ChainKind::of(*chain_id) == watched.kind)
        .collect())
}

/// The one watched address `target` names in `chat_id`.
pub fn resolve(
    tx: &Transaction<'_>,
    chat_id: i64,
    target: &Target,
) -> Result<Result<Watched, Unresolved>, DbError> {
    match target {
        Target::Address(address, kind) => {
            let watched = Watched {
                address: address.clone(),
                kind: *kind,
            };
            Ok(if subscriptions_of(tx, chat_id, &watched)?.is_empty() {
                Err(Unresolved::NotWatching(watched))
            } else {
                Ok(watched)
            })
        }
        Target::Label(label) => {
            let mut stmt = tx.prepare(
                "SELECT address, chain_id, label FROM subscriptions
                 WHERE chat_id = ?1 AND label IS NOT NULL ORDER BY id",
            )?;
            let rows = stmt.query_map([chat_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)? as u64,
                    r.get::<_, String>(2)?,
                ))
            })?;
            let wanted = label.to_lowercase();
            let mut found: Vec<Watched> = Vec::new();
            for row in rows {
                let (address, chain_id, stored) = row?;
                if stored.to_lowercase() == wanted {
                    let watched = Watched {
                        address: parse_stored(&address)?,
                        kind: ChainKind::of(chain_id),
                    };
                    if !found.contains(&watched) {
                        found.push(watched);
                    }
                }
            }
            Ok(match found.len() {
                0 => Err(Unresolved::UnknownLabel(label.clone())),
                1 => Ok(found.remove(0)),
                _ => Err(Unresolved::Ambiguous(label.clone(), found)),
            })
        }
    }
}

/// A change of one address's settings (on all its chains of its kind).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `None` clears the minimum. `places`: the decimals the user typed
    /// (trailing zeros aside); more than a chain's tokens have is refused.
    Min {
        min: Option<Amount>,
        places: u8,
    },
    Direction(DirectionFilter),
    /// Muted until this Unix time ([`MUTED_FOREVER`]: until unmuted).
    Mute {
        until: i64,
    },
    Unmute,
}

/// What a [`ChangeSettings`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changed {
    Done {
        watched: Watched,
        label: Option<String>,
        settings: Settings,
    },
    Unresolved(Unresolved),
    /// The minimum has more decimals than the tokens of `chain_id`.
    TooPrecise {
        chain_id: u64,
        decimals: u8,
    },
}

/// `/set`, `/mute`, `/unmute`: changes one address's settings in a chat
/// (on the chains of its kind), or nothing at all.
pub struct ChangeSettings {
    pub chat_id: i64,
    pub target: Target,
    pub change: Change,
}

impl DbRequest for ChangeSettings {
    type Output = Changed;
    fn run(self, tx: &Transaction<'_>) -> Result<Changed, DbError> {
        let watched = match resolve(tx, self.chat_id, &self.target)? {
            Ok(w) => w,
            Err(u) => return Ok(Changed::Unresolved(u)),
        };
        let subs = subscriptions_of(tx, self.chat_id, &watched)?;
        if let Change::Min { places, .. } = self.change {
            for &(_, chain_id) in &subs {
                let decimals = chain_decimals(chain_id);
                if places > decimals {
                    return Ok(Changed::TooPrecise { chain_id, decimals });
                }
            }
        }
        let (sql, value): (&str, rusqlite::types::Value) = match &self.change {
            Change::Min { min, .. } => (
                "UPDATE subscriptions SET min_amount = ?2 WHERE id = ?1",
                min.map(|m| m.to_string()).into(),
            ),
            Change::Direction(d) => (
                "UPDATE subscriptions SET direction = ?2 WHERE id = ?1",
                d.as_str().to_string().into(),
            ),
            Change::Mute { until } => (
                "UPDATE subscriptions SET muted_until = ?2 WHERE id = ?1",
                (*until).into(),
            ),
            Change::Unmute => (
                "UPDATE subscriptions SET muted_until = ?2 WHERE id = ?1",
                rusqlite::types::Value::Null,
            ),
        };
        let mut update = tx.prepare(sql)?;
        let mut shown: Option<(Option<String>, Settings)> = None;
        for &(id, _) in &subs {
            update.execute(params![id, value])?;
            let (label, settings): (Option<String>, Settings) = tx.query_row(
                "SELECT label, min_amount, direction, muted_until FROM subscriptions WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, Settings::from_row(r, 1)?)),
            )?;
            // The first labelled subscription names the address, else the first.
            if shown
                .as_ref()
                .is_none_or(|(l, _)| l.is_none() && label.is_some())
            {
                shown = Some((label, settings));
            }
        }
        let (label, settings) = shown
            .ok_or_else(|| DbError::Corrupt("a resolved address has no subscription".into()))?;
        Ok(Changed::Done {
            watched,
            label,
            settings,
        })
    }
}

/// What a button's subscription id names in a chat: the address, the kind
/// of its chain and its label.
pub type Named = (Watched, Option<String>);

/// The address (with its chain's kind) and label a subscription id names
/// in a chat, if the subscription still exists there: what a button
/// refers to.
pub fn subscription_address(
    tx: &Transaction<'_>,
    chat_id: i64,
    subscription_id: i64,
) -> Result<Option<Named>, DbError> {
    let row = tx
        .query_row(
            "SELECT address, chain_id, label FROM subscriptions WHERE id = ?1 AND chat_id = ?2",
            params![subscription_id, chat_id],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)? as u64,
                    r.get::<_, Option<String>>(2)?,
                ))
            },
        )
        .optional()?;
    match row {
        Some((address, chain_id, label)) => Ok(Some((
            Watched {
                address: parse_stored(&address)?,
                kind: ChainKind::of(chain_id),
            },
            label,
        ))),
        None => Ok(None),
    }
}

/// The button `🔕 Mute 24h`: mutes the address of subscription
/// `subscription_id` in `chat_id` (all its chains of that subscription's
/// kind) for `secs` from now — never shortening a longer mute already set;
/// `None` when no such subscription exists in that chat (stale or forged).
pub struct MuteSubscription {
    pub chat_id: i64,
    pub subscription_id: i64,
    pub secs: i64,
}

impl DbRequest for MuteSubscription {
    type Output = Option<Named>;
    fn run(self, tx: &Transaction<'_>) -> Result<Self::Output, DbError> {
        let Some(named) = subscription_address(tx, self.chat_id, self.subscription_id)? else {
            return Ok(None);
        };
        let until = now_secs().saturating_add(self.secs);
        for (id, _) in subscriptions_of(tx, self.chat_id, &named.0)? {
            tx.execute(
                "UPDATE subscriptions SET muted_until = max(coalesce(muted_until, 0), ?2)
                 WHERE id = ?1",
                params![id, until],
            )?;
        }
        Ok(Some(named))
    }
}

/// Looks up what a subscription id names in a chat (read-only).
pub struct SubscriptionAddress {
    pub chat_id: i64,
    pub subscription_id: i64,
}

impl DbRequest for SubscriptionAddress {
    type Output = Option<Named>;
    const WRITES: bool = false;
    fn run(self, tx: &Transaction<'_>) -> Result<Self::Output, DbError> {
        subscription_address(tx, self.chat_id, self.subscription_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(s: &str) -> Amount {
        Amount::from_dec(s).unwrap()
    }

    #[test]
    fn minimum_compares_exactly_across_decimals() {
        // 100 tokens, as stored (18 places).
        let min = Amount::parse_units("100", MIN_SCALE).unwrap();
        assert!(at_least(&raw("100000000"), 6, &min));
        assert!(!at_least(&raw("99999999"), 6, &min));
        assert!(at_least(&raw("100000000000000000000"), 18, &min));
        assert!(!at_least(&raw("99999999999999999999"), 18, &min));
        assert!(at_least(&raw("1"), 24, &Amount::ZERO));
        assert!(!at_least(&raw("1"), 24, &raw("1")));
    }

    #[test]
    fn settings_filter_by_mute_direction_and_minimum() {
        let now = 1_000;
        let half = Amount::parse_units("0.5", MIN_SCALE).unwrap();
        let s = Settings {
            min: Some(half),
            direction: DirectionFilter::In,
            muted_until: None,
        };
        assert!(s.notifies(Direction::Incoming, &raw("500000"), 6, now));
        assert!(!s.notifies(Direction::Incoming, &raw("499999"), 6, now));
        assert!(!s.notifies(Direction::Outgoing, &raw("900000"), 6, now));
        assert!(s.notifies(Direction::SelfTransfer, &raw("900000"), 6, now));
        let muted = Settings {
            muted_until: Some(now + 1),
            ..Settings::default()
        };
        assert!(!muted.notifies(Direction::Incoming, &raw("1"), 6, now));
        assert!(muted.notifies(Direction::Incoming, &raw("1"), 6, now + 1));
        let forever = Settings {
            muted_until: Some(MUTED_FOREVER),
            ..Settings::default()
        };
        assert!(!forever.notifies(Direction::Outgoing, &raw("1"), 6, i64::MAX - 1));
    }
}
