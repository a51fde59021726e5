//! Known counterparties of one watched address, indexed for look-alike lookup.
//!
//! A look-alike shares the first `prefix` and last `suffix` hex digits with a
//! real address (on Tron: base58 characters of the `T…` form, what Tron
//! wallets show, compared case-sensitively). Bucketing addresses by exactly those digits turns "is there a
//! known address this one imitates?" into one hash lookup instead of a scan of
//! the whole history, and the same bucket answers "is this address known?"
//! because an address always lands in its own bucket. Buckets almost always
//! hold one address: with the default 4 + 4 digits there are 16⁸ ≈ 4.3 billion
//! buckets.

use std::collections::HashMap;

use crate::domain::{Address, ChainKind};

use super::SpamRules;

/// The prefix and suffix of an address: at most 20 + 20 hex digits packed
/// two per byte, or 20 + 20 base58 characters one per byte (the limits
/// [`SpamRules`] enforces), i.e. at most 40 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Key([u8; 40]);

/// Known counterparties of one watched address: the addresses it has really
/// transacted with (recorded transfers whose verdict
/// [`established the counterparty`](super::Verdict::establishes_counterparty))
/// plus the subscriber's own other watched addresses.
///
/// Build one per watched address with [`CounterpartyIndex::new`] from the
/// same [`SpamRules`] used to assess and the kind of the watched address's
/// chain; the index keeps the digit counts it was built with and matches
/// with those.
#[derive(Debug, Clone)]
pub struct CounterpartyIndex {
    kind: ChainKind,
    prefix: usize,
    suffix: usize,
    buckets: HashMap<Key, Vec<Address>>,
    len: usize,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key(")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        write!(f, ")")
    }
}

impl CounterpartyIndex {
    /// An empty index using the rules' look-alike digit counts for `kind`.
    pub fn new(rules: &SpamRules, kind: ChainKind) -> Self {
        Self::with_capacity(rules, kind, 0)
    }

    /// An empty index with room for `capacity` addresses.
    pub fn with_capacity(rules: &SpamRules, kind: ChainKind, capacity: usize) -> Self {
        let (prefix, suffix) = rules.lookalike_digits(kind);
        CounterpartyIndex {
            kind,
            prefix,
            suffix,
            buckets: HashMap::with_capacity(capacity),
            len: 0,
        }
    }

    /// Adds a known counterparty; adding it again changes nothing.
    /// Returns true if the address was new to the index.
    pub fn insert(&mut self, address: Address) -> bool {
        let bucket = self.buckets.entry(self.key(&address)).or_default();
        if bucket.contains(&address) {
            return false;
        }
        bucket.push(address);
        self.len += 1;
        true
    }

    /// Whether the watched address has really transacted with `address`.
    pub fn contains(&self, address: &Address) -> bool {
        self.bucket(address).contains(address)
    }

    /// The known addresses sharing `address`'s leading and trailing digits,
    /// other than `address` itself: the real addresses it could imitate.
    /// Empty when `address` is itself known, because an address the watched
    /// wallet really deals with is not an impostor, even if some other known
    /// address happens to resemble it.
    pub fn imitated_by(&self, address: &Address) -> &[Address] {
        let bucket = self.bucket(address);
        if bucket.contains(address) {
            &[]
        } else {
            bucket
        }
    }

    /// Whether `a` and `b` share this index's leading and trailing digits.
    pub fn resembles(&self, a: &Address, b: &Address) -> bool {
        self.key(a) == self.key(b)
    }

    /// Number of distinct known counterparties.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// (leading, trailing) hex digits (base58 characters on Tron) two
    /// addresses must share to look alike.
    pub fn digits(&self) -> (usize, usize) {
        (self.prefix, self.suffix)
    }

    /// The kind of chain whose addresses this index compares.
    pub fn kind(&self) -> ChainKind {
        self.kind
    }

    fn bucket(&self, address: &Address) -> &[Address] {
        self.buckets
            .get(&self.key(address))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Packs the first `prefix` and last `suffix` hex digits, two per byte;
    /// on Tron copies the first `prefix` and last `suffix` base58 characters.
    /// `Address::hex` is always 40 lowercase hex digits, a `T…` form 34
    /// characters, and the rules keep both counts within 1..=20, so the
    /// slices below are always in range.
    fn key(&self, address: &Address) -> Key {
        let mut key = [0u8; 40];
        if self.kind == ChainKind::Tron {
            let t = address.to_tron();
            let t = t.as_bytes();
            let lead = &t[..self.prefix.min(t.len())];
            let trail = &t[t.len() - self.suffix.min(t.len())..];
            for (k, &c) in key.iter_mut().zip(lead.iter().chain(trail)) {
                *k = c;
            }
            return Key(key);
        }
        let hex = address.hex().as_bytes();
        let lead = &hex[..self.prefix.min(hex.len())];
        let trail = &hex[hex.len() - self.suffix.min(hex.len())..];
        for (i, &c) in lead.iter().chain(trail).enumerate().take(40) {
            let nibble = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                _ => 0,
            };
            key[i / 2] |= nibble << if i % 2 == 0 { 4 } else { 0 };
        }
        Key(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SpamConfig;

    fn addr(s: &str) -> Address {
        Address::parse(s).unwrap()
    }

    fn index() -> CounterpartyIndex {
        CounterpartyIndex::new(
            &SpamRules::from_config(&SpamConfig::default()).unwrap(),
            ChainKind::Evm,
        )
    }

    const REAL: &str = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
    const FAKE: &str = "0x5aae000000000000000000000000000000ffeaed";

    #[test]
    fn insert_is_idempotent() {
        let mut ix = index();
        assert!(ix.insert(addr(REAL)));
        assert!(!ix.insert(addr(REAL)));
        assert_eq!(ix.len(), 1);
        assert!(ix.contains(&addr(REAL)));
        assert!(!ix.contains(&addr(FAKE)));
    }

    #[test]
    fn a_lookalike_finds_its_original_and_the_original_finds_nothing() {
        let mut ix = index();
        ix.insert(addr(REAL));
        assert_eq!(ix.imitated_by(&addr(FAKE)), &[addr(REAL)]);
        assert!(ix.imitated_by(&addr(REAL)).is_empty());
        assert!(ix.resembles(&addr(REAL), &addr(FAKE)));
    }

    #[test]
    fn a_known_address_is_never_an_impostor() {
        let mut ix = index();
        ix.insert(addr(REAL));
        ix.insert(addr(FAKE));
        assert!(ix.imitated_by(&addr(FAKE)).is_empty());
        assert!(ix.imitated_by(&addr(REAL)).is_empty());
    }

    #[test]
    fn full_width_keys_cover_all_40_digits() {
        let cfg = SpamConfig {
            lookalike_prefix: 20,
            lookalike_suffix: 20,
            ..SpamConfig::default()
        };
        let mut ix = CounterpartyIndex::new(&SpamRules::from_config(&cfg).unwrap(), ChainKind::Evm);
        ix.insert(addr(REAL));
        // 40 shared digits means the same address: nothing can imitate it.
        assert!(ix.imitated_by(&addr(FAKE)).is_empty());
        assert!(ix.contains(&addr(REAL)));
    }
}
