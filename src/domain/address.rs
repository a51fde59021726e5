//! EVM addresses: parsed strictly, stored and compared in lowercase.
//!
//! Input in mixed case must carry a valid EIP-55 checksum: a user who pastes
//! a mistyped checksummed address is told so instead of watching a wallet
//! nobody owns. All-lowercase or all-uppercase input has no checksum to check.

use std::fmt;
use std::str::FromStr;

use tiny_keccak::{Hasher, Keccak};

/// A 20-byte EVM address, held as its lowercase `0x…` form.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Address(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("an address starts with 0x")]
    MissingPrefix,
    #[error("an address has 40 hex digits after 0x, this one has {0}")]
    WrongLength(usize),
    #[error("'{0}' is not a hex digit")]
    NotHex(char),
    #[error(
        "the EIP-55 checksum (the mix of upper and lower case) does not match; check for a typo"
    )]
    BadChecksum,
}

impl Address {
    /// Parses `0x` + 40 hex digits, checking the EIP-55 checksum of mixed-case input.
    pub fn parse(input: &str) -> Result<Self, AddressError> {
        let hex = input
            .strip_prefix("0x")
            .or_else(|| input.strip_prefix("0X"))
            .ok_or(AddressError::MissingPrefix)?;
        if let Some(c) = hex.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(AddressError::NotHex(c));
        }
        if hex.len() != 40 {
            return Err(AddressError::WrongLength(hex.chars().count()));
        }
        let lower = hex.to_ascii_lowercase();
        let has_upper = hex.bytes().any(|b| b.is_ascii_uppercase());
        let has_lower = hex.bytes().any(|b| b.is_ascii_lowercase());
        if has_upper && has_lower && checksummed(&lower) != hex {
            return Err(AddressError::BadChecksum);
        }
        Ok(Address(format!("0x{lower}")))
    }

    /// Builds an address from the last 20 bytes of a 32-byte log topic
    /// (`0x` + 64 hex digits). Returns `None` unless the 12 leading bytes are zero.
    pub fn from_topic(topic: &str) -> Option<Self> {
        let hex = topic.strip_prefix("0x")?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let (pad, addr) = hex.split_at(24);
        if pad.bytes().any(|b| b != b'0') {
            return None;
        }
        Some(Address(format!("0x{}", addr.to_ascii_lowercase())))
    }

    /// `0x` + `lower_hex`, which the caller guarantees is 40 lowercase hex digits.
    pub(super) fn from_hex_unchecked(lower_hex: &str) -> Self {
        debug_assert!(lower_hex.len() == 40);
        Address(format!("0x{lower_hex}"))
    }

    /// The lowercase `0x…` form, as stored in the database.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The EIP-55 mixed-case form, for display.
    pub fn checksummed(&self) -> String {
        format!("0x{}", checksummed(&self.0[2..]))
    }

    /// `0x1234…abcd`: enough to recognise an address in a notification.
    pub fn short(&self) -> String {
        format!("{}…{}", &self.0[..6], &self.0[38..])
    }

    /// The 40 hex digits without the prefix, lowercase.
    pub fn hex(&self) -> &str {
        &self.0[2..]
    }
}

/// EIP-55: uppercase each hex letter whose nibble in keccak256(lowercase hex) is >= 8.
fn checksummed(lower_hex: &str) -> String {
    let mut hasher = Keccak::v256();
    hasher.update(lower_hex.as_bytes());
    let mut hash = [0u8; 32];
    hasher.finalize(&mut hash);
    lower_hex
        .chars()
        .enumerate()
        .map(|(i, c)| {
            let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0x0f;
            if c.is_ascii_alphabetic() && nibble >= 8 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

impl FromStr for Address {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Address::parse(s)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Test vectors from EIP-55 itself.
    const EIP55: [&str; 4] = [
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ];

    #[test]
    fn accepts_valid_checksums_and_stores_lowercase() {
        for s in EIP55 {
            let a = Address::parse(s).unwrap();
            assert_eq!(a.as_str(), s.to_ascii_lowercase());
            assert_eq!(a.checksummed(), s);
        }
    }

    #[test]
    fn rejects_a_wrong_checksum() {
        // Flip the case of one letter of a valid checksummed address.
        let bad = "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
        assert_eq!(Address::parse(bad), Err(AddressError::BadChecksum));
    }

    #[test]
    fn single_case_input_needs_no_checksum() {
        let s = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
        assert!(Address::parse(s).is_ok());
        assert!(Address::parse(&s.to_ascii_uppercase().replacen("0X", "0x", 1)).is_ok());
    }

    #[test]
    fn rejects_malformed_input_with_a_reason() {
        assert_eq!(
            Address::parse("5aaeb6053f"),
            Err(AddressError::MissingPrefix)
        );
        assert_eq!(Address::parse("0x1234"), Err(AddressError::WrongLength(4)));
        assert_eq!(
            Address::parse("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaeg"),
            Err(AddressError::NotHex('g'))
        );
        assert!(Address::parse("0x<b>").is_err());
        assert!(Address::parse("").is_err());
    }

    #[test]
    fn topic_decoding_requires_zero_padding() {
        let t = "0x0000000000000000000000005aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
        assert_eq!(
            Address::from_topic(t).unwrap().as_str(),
            "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
        );
        let dirty = "0x0000000000000000000000015aaeb6053f3e94c9b9a09f33669435e7ef1beaed";
        assert!(Address::from_topic(dirty).is_none());
        assert!(Address::from_topic("0x1234").is_none());
    }

    #[test]
    fn short_form() {
        let a = Address::parse(EIP55[0]).unwrap();
        assert_eq!(a.short(), "0x5aae…eaed");
    }
}
