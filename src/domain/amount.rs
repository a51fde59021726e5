//! Token amounts as exact unsigned 256-bit integers.
//!
//! An ERC-20 `Transfer` carries a uint256. Real stablecoin amounts fit in a
//! u128, but the log data is outside input: we parse all 256 bits, never
//! truncate, and never go through a float. The database stores the raw value
//! as a decimal string; display applies the token's decimals exactly.

use std::cmp::Ordering;
use std::fmt;

/// An unsigned 256-bit integer: four 64-bit limbs, least significant first.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Amount([u64; 4]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("not a hex quantity: {0}")]
    NotHex(String),
    #[error("not a decimal number: {0}")]
    NotDecimal(String),
    #[error("does not fit in 256 bits")]
    Overflow,
    #[error("has more than {0} decimal places")]
    TooPrecise(u8),
}

impl Amount {
    pub const ZERO: Amount = Amount([0; 4]);

    pub fn from_u128(v: u128) -> Self {
        Amount([v as u64, (v >> 64) as u64, 0, 0])
    }

    pub fn is_zero(&self) -> bool {
        self.0 == [0; 4]
    }

    /// Parses an Ethereum hex quantity: `0x` followed by up to 64 hex digits.
    /// `"0x"` alone is zero, as Etherscan writes it.
    pub fn from_hex(s: &str) -> Result<Self, AmountError> {
        let hex = s
            .strip_prefix("0x")
            .ok_or_else(|| AmountError::NotHex(clip(s)))?;
        let hex = hex.trim_start_matches('0');
        if hex.len() > 64 {
            return Err(AmountError::Overflow);
        }
        let mut out = Amount::ZERO;
        for c in hex.chars() {
            let d = c.to_digit(16).ok_or_else(|| AmountError::NotHex(clip(s)))?;
            out = out
                .mul_small_add(16, d as u64)
                .ok_or(AmountError::Overflow)?;
        }
        Ok(out)
    }

    /// Parses a plain decimal integer such as the stored raw amount.
    pub fn from_dec(s: &str) -> Result<Self, AmountError> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AmountError::NotDecimal(clip(s)));
        }
        let mut out = Amount::ZERO;
        for b in s.bytes() {
            out = out
                .mul_small_add(10, (b - b'0') as u64)
                .ok_or(AmountError::Overflow)?;
        }
        Ok(out)
    }

    /// Parses a human amount in token units ("0.1", "1000") into raw units
    /// with `decimals` places, exactly.
    pub fn parse_units(s: &str, decimals: u8) -> Result<Self, AmountError> {
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if frac.len() > decimals as usize {
            return Err(AmountError::TooPrecise(decimals));
        }
        let digits = format!("{int}{frac:0<width$}", width = decimals as usize);
        let digits = if digits.is_empty() {
            "0".into()
        } else {
            digits
        };
        if int.is_empty() && frac.is_empty() {
            return Err(AmountError::NotDecimal(clip(s)));
        }
        Amount::from_dec(&digits)
    }

    /// Formats in token units with exactly the significant decimals and a
    /// thousands separator: raw 1234567000 with 6 decimals is `1,234.567`,
    /// raw 7 with 6 decimals is `0.000007`.
    pub fn format_units(&self, decimals: u8) -> String {
        let raw = self.to_string();
        let d = decimals as usize;
        let (int, frac) = if raw.len() > d {
            raw.split_at(raw.len() - d)
        } else {
            ("0", raw.as_str())
        };
        let frac = format!("{frac:0>d$}");
        let frac = frac.trim_end_matches('0');
        let mut grouped = String::with_capacity(int.len() + int.len() / 3);
        for (i, c) in int.chars().enumerate() {
            if i > 0 && (int.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        if frac.is_empty() {
            grouped
        } else {
            format!("{grouped}.{frac}")
        }
    }

    /// `self × 10^exp`, or `None` if that does not fit in 256 bits.
    pub fn checked_mul_pow10(self, exp: u8) -> Option<Self> {
        (0..exp).try_fold(self, |v, _| v.mul_small_add(10, 0))
    }

    fn mul_small_add(self, mul: u64, add: u64) -> Option<Self> {
        let mut out = [0u64; 4];
        let mut carry = add as u128;
        for (o, limb) in out.iter_mut().zip(self.0) {
            let v = limb as u128 * mul as u128 + carry;
            *o = v as u64;
            carry = v >> 64;
        }
        (carry == 0).then_some(Amount(out))
    }

    /// Divides by a small number, returning (quotient, remainder).
    fn div_small(self, div: u64) -> (Self, u64) {
        let mut out = [0u64; 4];
        let mut rem: u128 = 0;
        for i in (0..4).rev() {
            let cur = (rem << 64) | self.0[i] as u128;
            out[i] = (cur / div as u128) as u64;
            rem = cur % div as u128;
        }
        (Amount(out), rem as u64)
    }
}

fn clip(s: &str) -> String {
    s.chars().take(80).collect()
}

impl Ord for Amount {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.iter().rev().cmp(other.0.iter().rev())
    }
}

impl PartialOrd for Amount {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The raw integer in decimal, as stored.
impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0");
        }
        const CHUNK: u64 = 10_000_000_000_000_000_000; // 10^19 fits in a u64
        let mut chunks = Vec::new();
        let mut v = *self;
        while !v.is_zero() {
            let (q, r) = v.div_small(CHUNK);
            chunks.push(r);
            v = q;
        }
        let mut s = chunks.pop().map(|c| c.to_string()).unwrap_or_default();
        for c in chunks.iter().rev() {
            s.push_str(&format!("{c:019}"));
        }
        f.write_str(&s)
    }
}

impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Amount({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: &str =
        "115792089237316195423570985008687907853269984665640564039457584007913129639935";

    #[test]
    fn hex_zero_forms() {
        assert_eq!(Amount::from_hex("0x").unwrap(), Amount::ZERO);
        assert_eq!(Amount::from_hex("0x0").unwrap(), Amount::ZERO);
        assert_eq!(
            Amount::from_hex(&format!("0x{}", "0".repeat(64))).unwrap(),
            Amount::ZERO
        );
    }

    #[test]
    fn full_uint256_without_truncation() {
        let max = Amount::from_hex(&format!("0x{}", "f".repeat(64))).unwrap();
        assert_eq!(max.to_string(), MAX);
        assert_eq!(Amount::from_dec(MAX).unwrap(), max);
        assert_eq!(
            Amount::from_hex(&format!("0x1{}", "0".repeat(64))),
            Err(AmountError::Overflow)
        );
        let over = format!("{}6", &MAX[..MAX.len() - 1]);
        assert_eq!(Amount::from_dec(&over), Err(AmountError::Overflow));
    }

    #[test]
    fn rejects_garbage() {
        assert!(Amount::from_hex("12").is_err());
        assert!(Amount::from_hex("0xzz").is_err());
        assert!(Amount::from_dec("").is_err());
        assert!(Amount::from_dec("-1").is_err());
        assert!(Amount::from_dec("1.5").is_err());
    }

    #[test]
    fn formats_with_exact_decimals() {
        let f = |raw: u128, d| Amount::from_u128(raw).format_units(d);
        assert_eq!(f(7, 6), "0.000007");
        assert_eq!(f(1_234_567_000, 6), "1,234.567");
        assert_eq!(f(1_000_000, 6), "1");
        assert_eq!(f(0, 6), "0");
        assert_eq!(f(123_456_789_000_000, 6), "123,456,789");
        assert_eq!(f(1, 18), "0.000000000000000001");
        assert_eq!(f(2_500_000_000_000_000_000, 18), "2.5");
        assert_eq!(f(999, 0), "999");
        assert_eq!(f(1000, 0), "1,000");
    }

    #[test]
    fn parses_units_exactly() {
        assert_eq!(
            Amount::parse_units("0.1", 6).unwrap(),
            Amount::from_u128(100_000)
        );
        assert_eq!(
            Amount::parse_units("0.1", 18).unwrap(),
            Amount::from_u128(100_000_000_000_000_000)
        );
        assert_eq!(
            Amount::parse_units("12", 6).unwrap(),
            Amount::from_u128(12_000_000)
        );
        assert!(Amount::parse_units("0.0000001", 6).is_err());
        assert!(Amount::parse_units("abc", 6).is_err());
        assert!(Amount::parse_units(".", 6).is_err());
    }

    #[test]
    fn orders_numerically() {
        let big = Amount::from_hex(&format!("0x1{}", "0".repeat(32))).unwrap();
        assert!(big > Amount::from_u128(u128::MAX));
        assert!(Amount::from_u128(5) < Amount::from_u128(6));
    }
}
