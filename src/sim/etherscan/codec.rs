//! Small encoders shared by the simulated chain and the HTTP layer: a
//! deterministic PRNG (no `rand` dependency, same output on every machine)
//! and the hex forms Etherscan writes.

use crate::domain::Amount;

/// The splitmix64 finaliser: a bijection on `u64`, so distinct inputs give
/// distinct outputs. Used both as a hash and as the step of a PRNG.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Hashes a sequence of words into one seed (order matters).
pub(crate) fn hash_words(words: &[u64]) -> u64 {
    words
        .iter()
        .fold(0x6a09_e667_f3bc_c908, |h, w| mix(h ^ mix(*w)))
}

/// splitmix64: tiny, fast and good enough for synthetic traffic.
pub(crate) struct SplitMix(u64);

impl SplitMix {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }
}

/// A hex quantity as the getLogs items carry it, written without
/// allocating: zero is `"0x"`, not `"0x0"` (the real API does this and
/// clients must cope, so the simulator does too).
pub(crate) struct HexQ(pub(crate) u64);

impl std::fmt::Display for HexQ {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 == 0 {
            f.write_str("0x")
        } else {
            write!(f, "0x{:x}", self.0)
        }
    }
}

/// `0x` + 64 hex digits from four big-endian words.
pub(crate) fn word_hex(words: [u64; 4]) -> String {
    let mut s = String::with_capacity(66);
    s.push_str("0x");
    for w in words {
        push_hex(&mut s, &w.to_be_bytes());
    }
    s
}

/// A 20-byte address left-padded to a 32-byte topic.
pub(crate) fn address_topic(addr_hex40: &str) -> String {
    format!("0x{:0>64}", addr_hex40)
}

/// An address given as bytes, as a 32-byte topic (hot path of noise logs).
pub(crate) fn address_bytes_topic(addr: &[u8; 20]) -> String {
    let mut s = String::with_capacity(66);
    s.push_str("0x000000000000000000000000");
    push_hex(&mut s, addr);
    s
}

/// Appends lowercase hex without `format!` (noise pages render thousands
/// of hashes; this keeps them cheap even in debug builds).
pub(crate) fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
}

/// The uint256 `data` word of a Transfer log. `Amount` keeps its limbs
/// private, so go through its exact decimal form.
pub(crate) fn amount_word(amount: &Amount) -> String {
    let mut limbs = [0u64; 4]; // least significant first
    for b in amount.to_string().bytes() {
        let mut carry = u128::from(b.wrapping_sub(b'0'));
        for limb in limbs.iter_mut() {
            let v = u128::from(*limb) * 10 + carry;
            *limb = v as u64;
            carry = v >> 64;
        }
    }
    word_hex([limbs[3], limbs[2], limbs[1], limbs[0]])
}

/// The `data` word of a u128 amount (noise transfers).
pub(crate) fn u128_word(v: u128) -> String {
    word_hex([0, 0, (v >> 64) as u64, v as u64])
}

/// True for `0x` + 64 hex digits (a topic or a hash).
pub(crate) fn is_word(s: &str) -> bool {
    s.strip_prefix("0x")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Decodes the last 20 bytes of a topic whose 12 leading bytes are zero.
pub(crate) fn topic_address_bytes(topic: &str) -> Option<[u8; 20]> {
    if !is_word(topic) {
        return None;
    }
    let hex = &topic[2..];
    if hex[..24].bytes().any(|b| b != b'0') {
        return None;
    }
    let mut out = [0u8; 20];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&hex[24 + 2 * i..26 + 2 * i], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_bare_prefix() {
        assert_eq!(HexQ(0).to_string(), "0x");
        assert_eq!(HexQ(255).to_string(), "0xff");
    }

    #[test]
    fn amount_word_is_exact() {
        let a = Amount::from_dec("1000000").unwrap();
        assert_eq!(amount_word(&a), format!("0x{:064x}", 1_000_000u64));
        let max = Amount::from_hex(&format!("0x{}", "f".repeat(64))).unwrap();
        assert_eq!(amount_word(&max), format!("0x{}", "f".repeat(64)));
        assert_eq!(u128_word(5), format!("0x{:064x}", 5));
    }

    #[test]
    fn topic_round_trip() {
        let t = address_topic("5aaeb6053f3e94c9b9a09f33669435e7ef1beaed");
        let b = topic_address_bytes(&t).unwrap();
        assert_eq!(address_bytes_topic(&b), t);
        assert_eq!(
            word_hex([1, 2, 3, u64::MAX]),
            format!("0x{:016x}{:016x}{:016x}{:016x}", 1, 2, 3, u64::MAX)
        );
        assert!(topic_address_bytes("0x12").is_none());
    }
}
