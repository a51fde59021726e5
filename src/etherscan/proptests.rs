//! Property tests of the Etherscan response decoder: envelopes, the head,
//! log items, hex quantities and uint256 words. Whatever the bytes, nothing
//! panics; canonical input decodes exactly; non-canonical input is refused.
//!
//! 256 cases per property by default; run longer with
//! `PROPTEST_CASES=100000 cargo test --lib etherscan::proptests`. A failure
//! prints its minimal input: make it a named case in the unit tests of
//! `api.rs` or `decode.rs`.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::api::{parse_block_number, parse_hex_u64, parse_list};
use super::decode::{DecodeError, decode_item};
use crate::domain::chain::TRANSFER_TOPIC;
use crate::domain::{Amount, Chain, Token, TokenSymbol};

fn eth_usdt() -> (Chain, Token) {
    let chain = Chain::by_name("ethereum").expect("registered");
    let token = chain.token(TokenSymbol::Usdt).expect("registered").clone();
    (chain, token)
}

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        any::<String>().prop_map(Value::from),
        hexish().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(field_name(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Field names the decoder looks for, and others.
fn field_name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("status".to_string()),
        Just("message".to_string()),
        Just("result".to_string()),
        Just("error".to_string()),
        Just("address".to_string()),
        Just("topics".to_string()),
        Just("data".to_string()),
        Just("blockNumber".to_string()),
        Just("logIndex".to_string()),
        any::<String>(),
    ]
}

/// Strings that look like hex, with the quirks seen in the wild: empty
/// digits, `0X`, no prefix, odd lengths, uppercase, stray characters.
fn hexish() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("0x"), Just("0X"), Just(""), Just("0x0x"), Just("-0x")],
        "[0-9a-fA-F]{0,70}",
        prop_oneof![Just(""), Just("g"), Just(" "), Just("\u{0}"), Just("é")],
    )
        .prop_map(|(p, d, tail)| format!("{p}{d}{tail}"))
}

/// A 32-byte word in either case.
fn word() -> impl Strategy<Value = String> {
    "[0-9a-fA-F]{64}".prop_map(|d| format!("0x{d}"))
}

fn address_topic() -> impl Strategy<Value = String> {
    "[0-9a-fA-F]{40}".prop_map(|a| format!("0x{:0>64}", a))
}

fn log(topics: Vec<String>, data: String, block: u64, index: u64) -> Value {
    json!({
        "address": "0xdac17f958d2ee523a2206206994597c13d831ec7",
        "topics": topics,
        "data": data,
        "blockNumber": format!("0x{block:x}"),
        "timeStamp": "0x6553f100",
        "logIndex": format!("0x{index:x}"),
        "transactionHash": format!("0x{}", "ab".repeat(32)),
    })
}

proptest! {
    #[test]
    fn no_body_panics_the_envelope_parsers(status in any::<u16>(), body in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_list(status, &body);
        if let Ok(head) = parse_block_number(status, &body) {
            prop_assert!(head > 0);
        }
    }

    #[test]
    fn no_json_value_panics_the_envelope_parsers(v in any_json()) {
        let body = v.to_string();
        let _ = parse_list(200, body.as_bytes());
        if let Ok(head) = parse_block_number(200, body.as_bytes()) {
            prop_assert!(head > 0);
        }
    }

    #[test]
    fn envelopes_of_any_shape_classify_without_panic(
        status in prop_oneof![Just("0".to_string()), Just("1".to_string()), any::<String>()],
        message in any::<String>(),
        result in any_json(),
    ) {
        let body = json!({"status": status, "message": message, "result": result}).to_string();
        let list = parse_list(200, body.as_bytes());
        if status == "1" && result.is_array() {
            prop_assert_eq!(list.map(|v| v.len()).ok(), result.as_array().map(Vec::len));
        }
        prop_assert!(parse_block_number(200, body.as_bytes()).is_err(), "an envelope is never a head");
    }

    #[test]
    fn a_head_is_only_a_nonzero_hex_quantity(result in prop_oneof![hexish().prop_map(Value::from), any_json()]) {
        let body = json!({"jsonrpc": "2.0", "id": 1, "result": result}).to_string();
        match parse_block_number(200, body.as_bytes()) {
            Ok(head) => {
                let s = result.as_str().expect("only a string is a head");
                prop_assert!(head > 0);
                prop_assert_eq!(parse_hex_u64(s), Some(head));
            }
            Err(e) => prop_assert!(matches!(e, super::ApiError::UnknownHead(_)), "{e:?}"),
        }
    }

    #[test]
    fn hex_quantities_round_trip_and_never_panic(n in any::<u64>(), junk in hexish()) {
        prop_assert_eq!(parse_hex_u64(&format!("0x{n:x}")), Some(n));
        prop_assert_eq!(parse_hex_u64(&format!("0x{n:X}")), Some(n));
        prop_assert_eq!(parse_hex_u64(&format!("0x{n:032x}")), Some(n));
        let _ = parse_hex_u64(&junk);
    }

    #[test]
    fn no_item_panics_the_log_decoder(item in any_json()) {
        let (chain, token) = eth_usdt();
        let _ = decode_item(&chain, &token, item);
    }

    #[test]
    fn no_field_value_panics_the_log_decoder(
        field in prop_oneof![Just("address"), Just("data"), Just("blockNumber"), Just("timeStamp"), Just("logIndex"), Just("transactionHash")],
        value in prop_oneof![hexish().prop_map(Value::from), any_json()],
        topic in prop_oneof![hexish(), word()],
        at in 0usize..3,
    ) {
        let (chain, token) = eth_usdt();
        let mut topics = vec![TRANSFER_TOPIC.to_string(), format!("0x{:064x}", 1), format!("0x{:064x}", 2)];
        topics[at] = topic;
        let mut item = log(topics, format!("0x{:064x}", 5), 10, 0);
        item[field] = value;
        let _ = decode_item(&chain, &token, item);
    }

    #[test]
    fn a_canonical_transfer_decodes_exactly(
        from in address_topic(), to in address_topic(), data in word(),
        block in any::<u64>(), index in any::<u64>(),
    ) {
        let (chain, token) = eth_usdt();
        let t = decode_item(&chain, &token, log(vec![TRANSFER_TOPIC.into(), from.clone(), to.clone()], data.clone(), block, index))
            .expect("canonical");
        prop_assert_eq!(t.from.as_str(), format!("0x{}", &from[26..]).to_ascii_lowercase());
        prop_assert_eq!(t.to.as_str(), format!("0x{}", &to[26..]).to_ascii_lowercase());
        prop_assert_eq!(Some(t.amount), Amount::from_hex(&data.to_ascii_lowercase()).ok());
        prop_assert_eq!((t.block, t.log_index), (block, index));
    }

    #[test]
    fn data_that_is_not_one_word_is_rejected(digits in "[0-9a-f]{0,140}") {
        prop_assume!(digits.len() != 64);
        let (chain, token) = eth_usdt();
        let item = log(vec![TRANSFER_TOPIC.into(), format!("0x{:064x}", 1), format!("0x{:064x}", 2)], format!("0x{digits}"), 1, 0);
        prop_assert!(matches!(decode_item(&chain, &token, item), Err(DecodeError::BadAmount(_))));
    }

    #[test]
    fn a_topic_with_dirty_padding_is_rejected(pad in "[0-9a-f]{24}", addr in "[0-9a-f]{40}", at in 1usize..3) {
        prop_assume!(pad.bytes().any(|b| b != b'0'));
        let (chain, token) = eth_usdt();
        let mut topics = vec![TRANSFER_TOPIC.to_string(), format!("0x{:064x}", 1), format!("0x{:064x}", 2)];
        topics[at] = format!("0x{pad}{addr}");
        let item = log(topics, format!("0x{:064x}", 1), 1, 0);
        prop_assert_eq!(decode_item(&chain, &token, item), Err(DecodeError::BadAddress(at)));
    }
}
