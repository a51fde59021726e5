//! The simulator's own Tron address spellings (see `shared/reference/tron.md`,
//! "Addresses"): the 20-byte account id, its base58check `T…` form (version
//! byte `0x41`) and the `0x` + 40 hex form event results carry. Kept local
//! to the simulator so that it checks the product's codec instead of
//! sharing its bugs.

use crate::sim::etherscan::codec::push_hex;

/// The 20-byte account id of a Tron address (without the `0x41` prefix).
pub type AccountId = [u8; 20];

/// TRC-20 USDT, `TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t`.
pub const USDT_CONTRACT: AccountId = [
    0xa6, 0x14, 0xf8, 0x03, 0xb6, 0xfd, 0x78, 0x09, 0x86, 0xa4, 0x2c, 0x78, 0xec, 0x9c, 0x7f, 0x77,
    0xe6, 0xde, 0xd1, 0x3c,
];

/// The base58check `T…` form (34 characters).
pub fn to_base58(id: &AccountId) -> String {
    bs58::encode(id).with_check_version(0x41).into_string()
}

/// The `0x` + 40 lowercase hex form of event results.
pub fn to_0x(id: &AccountId) -> String {
    let mut s = String::with_capacity(42);
    s.push_str("0x");
    push_hex(&mut s, id);
    s
}

/// Reads a `T…` base58check address, a `41` + 40 hex address or a `0x` +
/// 40 hex one. `None` for anything else (bad checksum, wrong version byte,
/// wrong length).
pub fn parse(s: &str) -> Option<AccountId> {
    if s.starts_with('T') {
        let raw = bs58::decode(s).with_check(Some(0x41)).into_vec().ok()?;
        return raw.get(1..)?.try_into().ok();
    }
    let hex = match (s.strip_prefix("0x"), s.len()) {
        (Some(h), 42) => h,
        (None, 42) if s.starts_with("41") => &s[2..],
        _ => return None,
    };
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 20];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}
