//! Byte sizes in the configuration: `"512MiB"`, `"1GB"`, `"65536B"`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A number of bytes, written with a unit. Binary units (`KiB`, `MiB`,
/// `GiB`, `TiB`) are powers of 1024, decimal ones (`KB`, `MB`, `GB`, `TB`)
/// powers of 1000, `B` is bytes; units are case-insensitive and a space
/// before the unit is allowed. A bare number is refused: a unit is required,
/// as for durations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

const UNITS: [(&str, u64); 9] = [
    ("b", 1),
    ("kb", 1000),
    ("kib", 1 << 10),
    ("mb", 1000 * 1000),
    ("mib", 1 << 20),
    ("gb", 1000 * 1000 * 1000),
    ("gib", 1 << 30),
    ("tb", 1000 * 1000 * 1000 * 1000),
    ("tib", 1 << 40),
];

impl ByteSize {
    /// Parses `"<integer><unit>"`; the error says what is wrong, in words.
    pub fn parse(text: &str) -> Result<ByteSize, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let (digits, unit) = (&text[..split], text[split..].trim());
        if digits.is_empty() {
            return Err(format!(
                "{text:?} is not a size: write a whole number and a unit, such as \"512MiB\""
            ));
        }
        if unit.is_empty() {
            return Err(format!(
                "{text:?} has no unit: write B, KiB, MiB, GiB (or KB, MB, GB)"
            ));
        }
        let Some(&(_, factor)) = UNITS.iter().find(|(u, _)| u.eq_ignore_ascii_case(unit)) else {
            return Err(format!(
                "{unit:?} is not a size unit (B, KB, KiB, MB, MiB, GB, GiB, TB, TiB)"
            ));
        };
        digits
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(factor))
            .map(ByteSize)
            .ok_or_else(|| format!("{text:?} is too large"))
    }
}

impl fmt::Display for ByteSize {
    /// The largest binary unit that divides the size exactly.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = [
            ("TiB", 1u64 << 40),
            ("GiB", 1 << 30),
            ("MiB", 1 << 20),
            ("KiB", 1 << 10),
        ];
        for (unit, factor) in units {
            if self.0 >= factor && self.0.is_multiple_of(factor) {
                return write!(f, "{}{unit}", self.0 / factor);
            }
        }
        write!(f, "{}B", self.0)
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ByteSize, D::Error> {
        let text = String::deserialize(d)?;
        ByteSize::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_and_decimal_units() {
        assert_eq!(ByteSize::parse("512MiB"), Ok(ByteSize(512 << 20)));
        assert_eq!(ByteSize::parse("1 GB"), Ok(ByteSize(1_000_000_000)));
        assert_eq!(ByteSize::parse("64kib"), Ok(ByteSize(65536)));
        assert_eq!(ByteSize::parse("4096B"), Ok(ByteSize(4096)));
        for bad in [
            "",
            "MiB",
            "12",
            "1.5GiB",
            "-1MiB",
            "3 parsecs",
            "99999999999TiB",
        ] {
            assert!(ByteSize::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn sizes_print_in_the_largest_exact_unit_and_read_back() {
        for n in [1, 1000, 4096, 65536, 512 << 20, 3 << 30, (1 << 40) + 1] {
            let s = ByteSize(n).to_string();
            assert_eq!(ByteSize::parse(&s), Ok(ByteSize(n)), "{s}");
        }
        assert_eq!(ByteSize(512 << 20).to_string(), "512MiB");
    }
}
