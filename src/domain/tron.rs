//! Tron addresses: the base58check `T…` form users read and type, and the
//! 20-byte account id the database stores.
//!
//! A Tron address is 21 bytes: the version byte `0x41` and a 20-byte
//! account id (the same 20 bytes an EVM address has). Users see Base58
//! (Bitcoin alphabet) of those 21 bytes followed by the first 4 bytes of
//! their double SHA-256: always 34 characters starting with `T`. TronGrid's
//! event results carry `0x` + the 20 bytes, lowercase. The canonical stored
//! form is therefore the existing [`Address`] (lowercase `0x` + 40 hex), and
//! this module converts both ways (TronWeb's `getBase58CheckAddress`,
//! `decodeBase58Address`, `isAddressValid`; see `shared/reference/tron.md`).
//!
//! Base58 is case-sensitive: a `T…` string is never lowercased.

use sha2::{Digest, Sha256};

use super::Address;

/// The version byte of every Tron mainnet address (`ADDRESS_PREFIX_BYTE`).
pub const TRON_VERSION_BYTE: u8 = 0x41;

/// The length of a base58 `T…` address (TronWeb's `ADDRESS_SIZE`).
pub const TRON_ADDRESS_LEN: usize = 34;

/// Why a string is not a Tron address. The messages are shown to users as
/// they are, so each says what is wrong in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TronAddressError {
    /// Not 34 characters (counted as characters, not bytes).
    #[error("a Tron address has 34 characters, this one has {0}")]
    WrongLength(usize),
    /// A character outside the base58 alphabet (`0`, `O`, `I`, `l`, punctuation…).
    #[error("'{0}' is not a base58 character (0, O, I and l never occur in a Tron address)")]
    NotBase58(char),
    /// 34 base58 characters that do not decode to 25 bytes.
    #[error("a Tron address decodes to 25 bytes, this one to {0}")]
    WrongByteLength(usize),
    /// The version byte is not `0x41` (the address does not start with `T`).
    #[error("a Tron address starts with T (version byte 0x41), this one has version byte {0:#04x}")]
    NotTron(u8),
    /// The last 4 bytes are not the double SHA-256 of the first 21.
    #[error("the checksum does not match; check for a typo")]
    BadChecksum,
    /// An API `0x…`/`41…` hex value with a character that is not a hex digit.
    #[error("'{0}' is not a hex digit")]
    NotHex(char),
    /// An API hex value longer than 20 bytes (after an optional `41`).
    #[error("a Tron account id has at most 40 hex digits, this one has {0}")]
    HexTooLong(usize),
}

/// The first 4 bytes of `sha256(sha256(raw))`.
fn checksum(raw: &[u8]) -> [u8; 4] {
    let twice = Sha256::digest(Sha256::digest(raw));
    [twice[0], twice[1], twice[2], twice[3]]
}

impl Address {
    /// Parses a base58check `T…` address as TronWeb's `isAddressValid`
    /// does, in its order: 34 characters, base58 alphabet, 25 bytes,
    /// version byte `0x41`, checksum. Returns the 20-byte id as an
    /// [`Address`] (lowercase `0x` + 40 hex).
    pub fn parse_tron(input: &str) -> Result<Self, TronAddressError> {
        let chars = input.chars().count();
        if chars != TRON_ADDRESS_LEN {
            return Err(TronAddressError::WrongLength(chars));
        }
        let bytes = bs58::decode(input).into_vec().map_err(|e| match e {
            bs58::decode::Error::InvalidCharacter { character, .. } => {
                TronAddressError::NotBase58(character)
            }
            bs58::decode::Error::NonAsciiCharacter { index } => TronAddressError::NotBase58(
                input
                    .get(index..)
                    .and_then(|rest| rest.chars().next())
                    .unwrap_or(char::REPLACEMENT_CHARACTER),
            ),
            // Decoding into a fresh Vec has no other failure; map whatever
            // a later bs58 adds to the nearest user-facing reason.
            _ => TronAddressError::WrongByteLength(0),
        })?;
        if bytes.len() != 25 {
            return Err(TronAddressError::WrongByteLength(bytes.len()));
        }
        if bytes[0] != TRON_VERSION_BYTE {
            return Err(TronAddressError::NotTron(bytes[0]));
        }
        let (raw, check) = bytes.split_at(21);
        if checksum(raw) != check {
            return Err(TronAddressError::BadChecksum);
        }
        Ok(Address::from_id_bytes(&raw[1..]))
    }

    /// Normalises a hex address as TronGrid returns it: `0x` + up to 40 hex
    /// digits (any case; left-padded with zeros, so `0x0` is the zero id),
    /// or the 21-byte `41…` form (42 hex digits, with or without `0x`).
    pub fn parse_tron_hex(input: &str) -> Result<Self, TronAddressError> {
        let hex = input
            .strip_prefix("0x")
            .or_else(|| input.strip_prefix("0X"))
            .unwrap_or(input);
        if let Some(c) = hex.chars().find(|c| !c.is_ascii_hexdigit()) {
            return Err(TronAddressError::NotHex(c));
        }
        let hex = match hex.len() {
            42 if hex.starts_with("41") => &hex[2..],
            n if n > 40 => return Err(TronAddressError::HexTooLong(n)),
            _ => hex,
        };
        Ok(Address::from_hex_unchecked(&format!(
            "{:0>40}",
            hex.to_ascii_lowercase()
        )))
    }

    /// The base58check `T…` form (34 characters), as users read it.
    pub fn to_tron(&self) -> String {
        let mut raw = [0u8; 21];
        raw[0] = TRON_VERSION_BYTE;
        raw[1..].copy_from_slice(&self.id_bytes());
        bs58::encode(raw).with_check().into_string()
    }

    /// The 21-byte hex form (`41` + 40 hex, lowercase), as TronGrid paths take it.
    pub fn tron_hex(&self) -> String {
        format!("41{}", self.hex())
    }

    /// The 20 bytes of the account id.
    pub fn id_bytes(&self) -> [u8; 20] {
        let hex = self.hex().as_bytes();
        let mut out = [0u8; 20];
        for (i, b) in out.iter_mut().enumerate() {
            *b = (nibble(hex[2 * i]) << 4) | nibble(hex[2 * i + 1]);
        }
        out
    }

    /// The address of 20 raw bytes.
    pub fn from_id_bytes(bytes: &[u8]) -> Self {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        Address::from_hex_unchecked(&hex)
    }
}

/// The value of one lowercase hex digit (the stored form is always lowercase hex).
fn nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The reference's vectors (`shared/reference/tron.md`): T form, 20-byte `0x` form.
    const VECTORS: [(&str, &str); 3] = [
        (
            "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
            "0xa614f803b6fd780986a42c78ec9c7f77e6ded13c",
        ),
        (
            "TEkxiTehnzSmSe2XqrBj4w32RUN966rdz8",
            "0x3487b63d30b5b2c87fb7ffa8bcfade38eaac1abe",
        ),
        (
            "T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb",
            "0x0000000000000000000000000000000000000000",
        ),
    ];

    #[test]
    fn reference_vectors_both_ways() {
        for (t, hex) in VECTORS {
            let a = Address::parse_tron(t).unwrap();
            assert_eq!(a.as_str(), hex, "{t}");
            assert_eq!(Address::parse(hex).unwrap().to_tron(), t, "{hex}");
        }
        let usdt = Address::parse_tron(VECTORS[0].0).unwrap();
        assert_eq!(
            usdt.tron_hex(),
            "41a614f803b6fd780986a42c78ec9c7f77e6ded13c"
        );
    }

    #[test]
    fn a_corrupted_address_fails_its_checksum() {
        let e = Address::parse_tron("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6u").unwrap_err();
        assert_eq!(e, TronAddressError::BadChecksum);
        assert_eq!(
            e.to_string(),
            "the checksum does not match; check for a typo"
        );
    }

    #[test]
    fn malformed_input_is_told_why() {
        assert_eq!(
            Address::parse_tron("TR7NHqjeKQ"),
            Err(TronAddressError::WrongLength(10))
        );
        assert_eq!(
            Address::parse_tron("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj60"),
            Err(TronAddressError::NotBase58('0'))
        );
        assert_eq!(
            Address::parse_tron("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLjé6"),
            Err(TronAddressError::NotBase58('é'))
        );
        // A Bitcoin-style address of 34 characters: version byte 0x00.
        assert_eq!(
            Address::parse_tron("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
            Err(TronAddressError::NotTron(0))
        );
        // Each leading '1' is a zero byte: 34 of them are 34 bytes.
        assert_eq!(
            Address::parse_tron(&"1".repeat(34)),
            Err(TronAddressError::WrongByteLength(34))
        );
        assert!(
            Address::parse_tron("tr7nhqjekqxgtci8q8zy4pl8otszgjlj6t").is_err(),
            "base58 is case-sensitive"
        );
        assert_eq!(
            TronAddressError::WrongLength(33).to_string(),
            "a Tron address has 34 characters, this one has 33"
        );
    }

    #[test]
    fn api_hex_values_are_normalised() {
        let usdt = "0xa614f803b6fd780986a42c78ec9c7f77e6ded13c";
        for input in [
            usdt,
            "0xA614F803B6FD780986A42C78EC9C7F77E6DED13C",
            "41a614f803b6fd780986a42c78ec9c7f77e6ded13c",
            "0x41a614f803b6fd780986a42c78ec9c7f77e6ded13c",
        ] {
            assert_eq!(Address::parse_tron_hex(input).unwrap().as_str(), usdt);
        }
        assert_eq!(
            Address::parse_tron_hex("0x0").unwrap().to_tron(),
            "T9yD14Nj9j7xAB4dbGeiX9h8unkKHxuWwb"
        );
        assert_eq!(
            Address::parse_tron_hex("0xzz"),
            Err(TronAddressError::NotHex('z'))
        );
        assert_eq!(
            Address::parse_tron_hex(&format!("0x{}", "1".repeat(41))),
            Err(TronAddressError::HexTooLong(41))
        );
    }

    proptest! {
        #[test]
        fn every_id_round_trips_through_base58(id in any::<[u8; 20]>()) {
            let a = Address::from_id_bytes(&id);
            let t = a.to_tron();
            prop_assert_eq!(t.len(), TRON_ADDRESS_LEN);
            prop_assert!(t.starts_with('T'));
            prop_assert_eq!(Address::parse_tron(&t).unwrap(), a.clone());
            prop_assert_eq!(a.id_bytes(), id);
        }

        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,40}") {
            let _ = Address::parse_tron(&s);
            let _ = Address::parse_tron_hex(&s);
        }
    }
}
