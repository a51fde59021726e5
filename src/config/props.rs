//! Property tests of the configuration loader: arbitrary text and arbitrary
//! values for every known key never panic; every refusal names the file
//! and a key; what is accepted is safe to run with. Longer runs:
//! `PROPTEST_CASES=100000 cargo test --release prop_`. Each finding is a
//! named regression test below the properties.

use std::path::Path;

use proptest::prelude::*;

use super::*;

/// Every (section, key) the loader knows, read off the defaults (plus the
/// optional keys that have no default value).
fn known_keys() -> Vec<(String, String)> {
    let defaults: toml::Table = toml::from_str(&Config::default().to_toml()).unwrap();
    let mut keys: Vec<(String, String)> = defaults
        .iter()
        .flat_map(|(section, table)| {
            let table = table.as_table().expect("every section is a table");
            table.keys().map(move |k| (section.clone(), k.clone()))
        })
        .collect();
    keys.push(("database".into(), "max_size".into()));
    keys
}

/// Values of every TOML type, and strings that are nearly right.
fn value() -> impl Strategy<Value = toml::Value> {
    let tricky = prop::sample::select(vec![
        "0s",
        "1s",
        "15",
        "-5s",
        "1.5h",
        "1M",
        "500000000years",
        "18446744073709551615s",
        "99999999999999999999s",
        "64KiB",
        "1B",
        "0B",
        "99999999999TiB",
        "1e3MiB",
        "",
        " ",
        "http://",
        "https://x",
        "http://127.0.0.1:1",
        "ftp://example.com",
        "USDT",
        "ethereum",
        "info",
        "debug,usdt_monitor=trace",
        "[",
        "=",
        "off",
        "on",
        "digest",
        "json",
        "pretty",
        "0.1",
        "0.0000001",
        "-1",
        "NaN",
        "\u{0}",
        "\u{202E}",
        "data/x.db",
    ]);
    let leaf = prop_oneof![
        tricky.prop_map(|s| toml::Value::String(s.into())),
        any::<String>().prop_map(toml::Value::String),
        any::<i64>().prop_map(toml::Value::Integer),
        prop::sample::select(vec![0i64, 1, -1, 100, 101, 255, 256, 1 << 32, i64::MAX])
            .prop_map(toml::Value::Integer),
        any::<f64>().prop_map(toml::Value::Float),
        any::<bool>().prop_map(toml::Value::Boolean),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(toml::Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..3)
                .prop_map(|m| toml::Value::Table(m.into_iter().collect())),
        ]
    })
}

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("props.toml"))
}

/// What every outcome must satisfy.
fn check(text: &str, keys: &[(String, String)]) -> Result<(), TestCaseError> {
    match parse(text) {
        Ok(c) => accepted_is_safe(&c)?,
        Err(e) => {
            let message = e.to_string();
            prop_assert!(message.starts_with("props.toml: "), "{message}");
            if let ConfigError::Invalid { key, problem, .. } = &e {
                // A known key, or an entry of a known table or array
                // (`monitor.rescan_depth.<chain>`, `monitor.contracts[0].chain`).
                let names_it = |s: &String, k: &String| {
                    let full = format!("{s}.{k}");
                    *key == full
                        || key.starts_with(&format!("{full}."))
                        || key.starts_with(&format!("{full}["))
                };
                prop_assert!(
                    keys.iter().any(|(s, k)| names_it(s, k)),
                    "unknown key {key:?} in {message}"
                );
                prop_assert!(!problem.is_empty());
            }
        }
    }
    Ok(())
}

/// An accepted configuration cannot make the daemon panic or spin: every
/// duration is positive and far from overflowing an `Instant`, pools are
/// sized sensibly.
fn accepted_is_safe(c: &Config) -> Result<(), TestCaseError> {
    let durations = [
        c.telegram.long_poll_timeout,
        c.telegram.per_chat_interval,
        c.telegram.command_window,
        c.etherscan.request_timeout,
        c.monitor.poll_interval,
        c.monitor.scan_mode_recheck,
        c.database.busy_timeout,
        c.database.keep_delivered,
        c.database.keep_transfers,
        c.database.prune_interval,
        c.supervisor.restart_window,
        c.supervisor.backoff_min,
        c.supervisor.backoff_max,
        c.supervisor.shutdown_timeout,
        c.spam.burst_window,
    ];
    for d in durations {
        prop_assert!(!d.is_zero() && d <= validate::MAX_DURATION, "{d:?}");
        prop_assert!(std::time::Instant::now().checked_add(d * 2).is_some());
    }
    prop_assert!((1..=validate::MAX_WORKERS).contains(&c.database.workers));
    // The effective configuration prints and reads back the same.
    let again = parse(&c.to_toml()).map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(again.to_toml(), c.to_toml());
    Ok(())
}

proptest! {
    #[test]
    fn prop_config_any_text(text in any::<String>()) {
        check(&text, &known_keys())?;
    }

    #[test]
    fn prop_config_toml_ish_text(lines in prop::collection::vec(prop_oneof![
        Just("[telegram]".to_string()),
        Just("[database]".to_string()),
        Just("[monitor]".to_string()),
        Just("[[spam]]".to_string()),
        "[a-z_]{1,12} = \"[^\"\\\\]{0,12}\"",
        "[a-z_.]{1,12} = [0-9-]{1,22}",
        "\\PC{0,30}",
    ], 0..8)) {
        check(&lines.join("\n"), &known_keys())?;
    }

    /// Any value for any known key: accepted safely or refused naming a key.
    #[test]
    fn prop_config_any_value_for_a_known_key(
        pick in any::<prop::sample::Index>(),
        v in value(),
    ) {
        let keys = known_keys();
        let (section, key) = pick.get(&keys);
        let text = format!("[{section}]\n{key} = {v}\n");
        let out = parse(&text);
        check(&text, &keys)?;
        if let Err(ConfigError::Parse { message, .. }) = out {
            prop_assert!(message.contains(key.as_str()), "{message}");
        }
    }
}

// ---- regression tests: one per finding ----

/// Finding: a huge duration (`poll_interval = "18446744073709551615s"`,
/// which humantime accepts) passed validation, and the first
/// `tokio::time::interval` tick after it overflows an `Instant` and panics.
#[test]
fn prop_finding_huge_durations_are_refused_naming_the_key() {
    let huge = "18446744073709551615s";
    assert!(humantime::parse_duration(huge).is_ok());
    for key in [
        "monitor.poll_interval",
        "database.prune_interval",
        "supervisor.backoff_max",
    ] {
        let (section, leaf) = key.split_once('.').unwrap();
        let e = parse(&format!("[{section}]\n{leaf} = \"{huge}\"\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains(key) && e.contains("at most"), "{e}");
    }
}

/// Finding: `database.workers = 1000000` was accepted and would start a
/// million database threads.
#[test]
fn prop_finding_absurd_worker_count_is_refused() {
    let e = parse("[database]\nworkers = 1000000\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("database.workers"), "{e}");
}
