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
//! settings of an address apply to all its chains in the chat.

use rusqlite::{OptionalExtension, Row, Transaction, params};

use super::{DbError, DbRequest, now_secs, subscriptions::parse_stored};
use crate::domain::{Address, Amount, Chain, Direction};

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
    Address(Address),
    /// Compared case-insensitively with the stored labels.
    Label(String),
}

/// Why a [`Target`] names no single watched address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    /// The chat does not watch this address.
    NotWatching(Address),
    /// No watched address has this label.
    UnknownLabel(String),
    /// Several watched addresses share this label.
    Ambiguous(String, Vec<Address>),
}

/// The one watched address `target` names in `chat_id`.
pub fn resolve(
    tx: &Transaction<'_>,
    chat_id: i64,
    target: &Target,
) -> Result<Result<Address, Unresolved>, DbError> {
    match target {
        Target::Address(a) => {
            let watched: bool = tx.query_row(
                "SELECT EXISTS (SELECT 1 FROM subscriptions WHERE chat_id = ?1 AND address = ?2)",
                params![chat_id, a.as_str()],
                |r| r.get(0),
            )?;
            Ok(if watched {
                Ok(a.clone())
            } else {
                Err(Unresolved::NotWatching(a.clone()))
            })
        }
        Target::Label(label) => {
            let mut stmt = tx.prepare(
                "SELECT address, label FROM subscriptions
                 WHERE chat_id = ?1 AND label IS NOT NULL ORDER BY id",
            )?;
            let rows = stmt.query_map([chat_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?;
            let wanted = label.to_lowercase();
            let mut found: Vec<Address> = Vec::new();
            for row in rows {
                let (address, stored) = row?;
                if stored.to_lowercase() == wanted {
                    let address = parse_stored(&address)?;
                    if !found.contains(&address) {
                        found.push(address);
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

/// A change of one address's settings (on all its chains).
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
        address: Address,
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

/// `/set`, `/mute`, `/unmute`: changes one address's settings in a chat,
/// or nothing at all.
pub struct ChangeSettings {
    pub chat_id: i64,
    pub target: Target,
    pub change: Change,
}

impl DbRequest for ChangeSettings {
    type Output = Changed;
    fn run(self, tx: &Transaction<'_>) -> Result<Changed, DbError> {
        let address = match resolve(tx, self.chat_id, &self.target)? {
            Ok(a) => a,
            Err(u) => return Ok(Changed::Unresolved(u)),
        };
        let mut stmt = tx.prepare(
            "SELECT chain_id FROM subscriptions WHERE chat_id = ?1 AND address = ?2 ORDER BY id",
        )?;
        let chains = stmt
            .query_map(params![self.chat_id, address.as_str()], |r| {
                r.get::<_, i64>(0)
            })?
            .collect::<Result<Vec<_>, _>>()?;
        drop(stmt);
        if let Change::Min { places, .. } = self.change {
            for chain_id in chains {
                let decimals = chain_decimals(chain_id as u64);
                if places > decimals {
                    return Ok(Changed::TooPrecise {
                        chain_id: chain_id as u64,
                        decimals,
                    });
                }
            }
        }
        let (sql, value): (&str, rusqlite::types::Value) = match &self.change {
            Change::Min { min, .. } => (
                "UPDATE subscriptions SET min_amount = ?3 WHERE chat_id = ?1 AND address = ?2",
                min.map(|m| m.to_string()).into(),
            ),
            Change::Direction(d) => (
                "UPDATE subscriptions SET direction = ?3 WHERE chat_id = ?1 AND address = ?2",
                d.as_str().to_string().into(),
            ),
            Change::Mute { until } => (
                "UPDATE subscriptions SET muted_until = ?3 WHERE chat_id = ?1 AND address = ?2",
                (*until).into(),
            ),
            Change::Unmute => (
                "UPDATE subscriptions SET muted_until = ?3 WHERE chat_id = ?1 AND address = ?2",
                rusqlite::types::Value::Null,
            ),
        };
        tx.execute(sql, params![self.chat_id, address.as_str(), value])?;
        let (label, settings) = tx.query_row(
            "SELECT label, min_amount, direction, muted_until FROM subscriptions
             WHERE chat_id = ?1 AND address = ?2 ORDER BY label IS NULL, id LIMIT 1",
            params![self.chat_id, address.as_str()],
            |r| Ok((r.get(0)?, Settings::from_row(r, 1)?)),
        )?;
        Ok(Changed::Done {
            address,
            label,
            settings,
        })
    }
}

/// The address (and its label) a subscription id names in a chat, if the
/// subscription still exists there: what a button refers to.
pub fn subscription_address(
    tx: &Transaction<'_>,
    chat_id: i64,
    subscription_id: i64,
) -> Result<Option<(Address, Option<String>)>, DbError> {
    let row = tx
        .query_row(
            "SELECT address, label FROM subscriptions WHERE id = ?1 AND chat_id = ?2",
            params![subscription_id, chat_id],
            |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)),
        )
        .optional()?;
    match row {
        Some((address, label)) => Ok(Some((parse_stored(&address)?, label))),
        None => Ok(None),
    }
}

/// The button `🔕 Mute 24h`: mutes the address of subscription
/// `subscription_id` in `chat_id` (all its chains) for `secs` from now —
/// never shortening a longer mute already set; `None` when no such
/// subscription exists in that chat (stale or forged).
pub struct MuteSubscription {
    pub chat_id: i64,
    pub subscription_id: i64,
    pub secs: i64,
}

impl DbRequest for MuteSubscription {
    type Output = Option<(Address, Option<String>)>;
    fn run(self, tx: &Transaction<'_>) -> Result<Self::Output, DbError> {
        let Some((address, label)) = subscription_address(tx, self.chat_id, self.subscription_id)?
        else {
            return Ok(None);
        };
        let until = now_secs().saturating_add(self.secs);
        tx.execute(
            "UPDATE subscriptions SET muted_until = max(coalesce(muted_until, 0), ?3)
             WHERE chat_id = ?1 AND address = ?2",
            params![self.chat_id, address.as_str(), until],
        )?;
        Ok(Some((address, label)))
    }
}

/// Looks up what a subscription id names in a chat (read-only).
pub struct SubscriptionAddress {
    pub chat_id: i64,
    pub subscription_id: i64,
}

impl DbRequest for SubscriptionAddress {
    type Output = Option<(Address, Option<String>)>;
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
