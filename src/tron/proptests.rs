//! Property tests of the TronGrid decoders: whatever the bytes or the
//! JSON, nothing panics; a canonical event decodes exactly; any event with
//! one field broken is refused. `PROPTEST_CASES=100000 cargo test --lib
//! tron::proptests` runs them longer.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::api::{parse_block, parse_events};
use super::decode::decode_event;
use super::tests_support::tron_usdt;
use crate::domain::Amount;

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<String>().prop_map(Value::from),
        "(0x)?[0-9a-fA-F]{0,66}".prop_map(Value::from),
        "T[1-9A-HJ-NP-Za-km-z]{33}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("block_number".to_string()),
                    Just("block_timestamp".to_string()),
                    Just("event_index".to_string()),
                    Just("transaction_id".to_string()),
                    Just("result".to_string()),
                    Just("from".to_string()),
                    Just("to".to_string()),
                    Just("value".to_string()),
                    Just("data".to_string()),
                    Just("meta".to_string()),
                    Just("fingerprint".to_string()),
                    "[a-z_]{1,10}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn canonical(txid: &str, index: u64, value: &str) -> Value {
    json!({"block_number": 85919983u64, "block_timestamp": 1788431625000u64,
        "caller_contract_address": "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
        "contract_address": "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", "event_index": index,
        "event_name": "Transfer",
        "result": {"0": "0x1111111111111111111111111111111111111111", "1": "0x2222222222222222222222222222222222222222",
            "2": value, "from": "0x1111111111111111111111111111111111111111",
            "to": "0x2222222222222222222222222222222222222222", "value": value},
        "result_type": {"from": "address", "to": "address", "value": "uint256"},
        "event": "Transfer(address indexed from, address indexed to, uint256 value)",
        "transaction_id": txid})
}

proptest! {
    #[test]
    fn no_bytes_panic_the_parsers(status in 100u16..600, body in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_events(status, &body);
        let _ = parse_block(status, &body);
    }

    #[test]
    fn no_json_panics_the_decoder(item in any_json(), status in prop_oneof![Just(200u16), 100u16..600]) {
        let (chain, token) = tron_usdt();
        let _ = decode_event(&chain, &token, &item);
        let body = json!({"data": [item.clone()], "success": true, "meta": item}).to_string();
        let _ = parse_events(status, body.as_bytes());
        let _ = parse_block(status, item.to_string().as_bytes());
    }

    #[test]
    fn canonical_events_decode_exactly(txid in "[0-9a-f]{64}", index in 0u64..1000, value in any::<u128>()) {
        let (chain, token) = tron_usdt();
        let t = decode_event(&chain, &token, &canonical(&txid, index, &value.to_string())).unwrap();
        prop_assert_eq!(t.tx_hash, format!("0x{txid}"));
        prop_assert_eq!(t.log_index, index);
        prop_assert_eq!(t.amount, Amount::from_u128(value));
        prop_assert_eq!(t.timestamp, 1788431625);
    }

    #[test]
    fn broken_fields_are_refused(txid in "[0-9a-f]{64}", which in 0usize..8, junk in "[^0-9]{0,3}|0x[0-9a-f]{0,39}|[0-9]{79,90}") {
        let (chain, token) = tron_usdt();
        let mut item = canonical(&txid, 1, "1000");
        match which {
            0 => item["result"]["value"] = json!(format!("{junk}x")),
            1 => item["result"]["from"] = json!(junk),
            2 => item["transaction_id"] = json!(&txid[..63]),
            3 => item["contract_address"] = json!("TEkxiTehnzSmSe2XqrBj4w32RUN966rdz8"),
            4 => item["event_name"] = json!("Approval"),
            5 => item["_unconfirmed"] = json!(true),
            6 => item["event_index"] = json!(-1),
            _ => item["result"]["value"] = json!("1".repeat(79)),
        }
        prop_assert!(decode_event(&chain, &token, &item).is_err());
    }
}
