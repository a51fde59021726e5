use std::path::Path;
use std::time::Duration;

use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("test.toml"))
}

fn error_of(text: &str) -> String {
    parse(text)
        .expect_err("config should be rejected")
        .to_string()
}

#[test]
fn empty_file_gives_the_documented_defaults() {
    let c = parse("").unwrap();
    assert_eq!(c.telegram.api_url, "https://api.telegram.org");
    assert_eq!(c.telegram.long_poll_timeout, Duration::from_secs(10));
    assert_eq!(c.telegram.send_timeout, Duration::from_secs(10));
    assert_eq!(c.telegram.send_rate, 25);
    assert_eq!(c.etherscan.base_url, "https://api.etherscan.io/v2/api");
    assert_eq!(c.etherscan.requests_per_second, 3);
    assert_eq!(c.monitor.chains, vec!["ethereum"]);
    assert_eq!(c.monitor.poll_interval, Duration::from_secs(15));
    assert_eq!(c.monitor.confirmations, 2);
    assert_eq!(c.database.workers, 2);
    assert_eq!(c.supervisor.max_restarts, 5);
    assert_eq!(c.supervisor.backoff_min, Duration::from_millis(200));
    assert_eq!(c.log.format, LogFormat::Pretty);
}

#[test]
fn the_shipped_example_is_valid_and_equals_the_defaults() {
    let text = include_str!("../../config.toml");
    let c = parse(text).unwrap();
    assert_eq!(c.to_toml(), Config::default().to_toml());
}

#[test]
fn a_typo_is_an_error_naming_the_key() {
    let e = error_of("[monitor]\npol_interval = \"5s\"\n");
    assert!(e.contains("pol_interval"), "{e}");
    let e = error_of("[databse]\npath = \"x.db\"\n");
    assert!(e.contains("databse"), "{e}");
}

#[test]
fn durations_need_a_unit_and_must_be_positive() {
    let e = error_of("[monitor]\npoll_interval = \"15\"\n");
    assert!(e.contains("poll_interval"), "{e}");
    let e = error_of("[monitor]\npoll_interval = \"0s\"\n");
    assert!(e.contains("monitor.poll_interval"), "{e}");
    let e = error_of("[monitor]\npoll_interval = \"-5s\"\n");
    assert!(e.contains("poll_interval"), "{e}");
    let e = error_of("[supervisor]\nshutdown_timeout = \"0ms\"\n");
    assert!(e.contains("supervisor.shutdown_timeout"), "{e}");
}

#[test]
fn each_invalid_value_names_its_key() {
    let cases = [
        ("[telegram]\nsend_rate = 0", "telegram.send_rate"),
        ("[telegram]\ncombine_after = 1", "telegram.combine_after"),
        (
            "[telegram]\nmax_pending_per_chat = 0",
            "telegram.max_pending_per_chat",
        ),
        (
            "[telegram]\nmax_pending_per_chat = 2000000",
            "telegram.max_pending_per_chat",
        ),
        (
            "[telegram]\ncombine_window = \"5m\"",
            "telegram.combine_window",
        ),
        (
            "[telegram]\ngroup_per_minute = 0",
            "telegram.group_per_minute",
        ),
        ("[telegram]\nsend_timeout = \"0s\"", "telegram.send_timeout"),
        ("[telegram]\nsend_timeout = \"5m\"", "telegram.send_timeout"),
        ("[telegram]\napi_url = \"ftp://x\"", "telegram.api_url"),
        (
            "[telegram]\nlong_poll_timeout = \"5m\"",
            "telegram.long_poll_timeout",
        ),
        (
            "[etherscan]\nrequests_per_second = 0",
            "etherscan.requests_per_second",
        ),
        (
            "[etherscan]\nmax_connections = 0",
            "etherscan.max_connections",
        ),
        ("[monitor]\nchains = [\"dogechain\"]", "monitor.chains"),
        ("[monitor]\nchains = []", "monitor.chains"),
        ("[monitor]\ntokens = [\"DAI\"]", "monitor.tokens"),
        ("[database]\nworkers = 0", "database.workers"),
        ("[database]\npath = \"\"", "database.path"),
        (
            "[supervisor]\nbackoff_min = \"10s\"\nbackoff_max = \"1s\"",
            "supervisor.backoff_max",
        ),
        ("[log]\nlevel = \"loud!!\"", "log.level"),
        ("[spam]\nthreshold = 101", "spam.threshold"),
        ("[spam]\ndust_below = \"lots\"", "spam.dust_below"),
        ("[http]\nlisten = \"localhost\"", "http.listen"),
    ];
    for (text, key) in cases {
        let e = error_of(text);
        assert!(
            e.contains(key),
            "{text:?} gave {e:?}, expected it to name {key}"
        );
    }
}

#[test]
fn wrong_types_are_errors_naming_the_key() {
    let e = error_of("[telegram]\nadmins = \"me\"\n");
    assert!(e.contains("admins"), "{e}");
    let e = error_of("[log]\nformat = \"xml\"\n");
    assert!(e.contains("format"), "{e}");
}

#[test]
fn chains_resolve_to_the_registry_with_chosen_tokens() {
    let c = parse("[monitor]\nchains = [\"ethereum\", \"bsc\"]\ntokens = [\"usdc\"]\n").unwrap();
    let chains = c.chains();
    assert_eq!(chains.len(), 2);
    assert_eq!(chains[1].id, 56);
    assert!(chains.iter().all(|ch| ch.tokens.len() == 1));
    assert_eq!(chains[1].tokens[0].decimals, 18);
}

#[test]
fn secrets_never_print() {
    let s = Secrets {
        telegram_token: Secret::new("123:tg-secret"),
        etherscan_key: Some(Secret::new("es-secret")),
        tron_key: Some(Secret::new("tron-secret")),
    };
    let shown = format!("{s:?}");
    assert!(
        !shown.contains("tg-secret")
            && !shown.contains("es-secret")
            && !shown.contains("tron-secret"),
        "{shown}"
    );
}

#[test]
fn an_operator_contract_is_added_by_contract_and_validated() {
    let ok = "[monitor]\nchains = [\"ethereum\", \"optimism\"]\n\
              [[monitor.contracts]]\nchain = \"ethereum\"\nsymbol = \"usdt\"\n\
              contract = \"0x1234567890123456789012345678901234567890\"\ndecimals = 6\n";
    let c = parse(ok).unwrap();
    let chains = c.chains();
    let eth = &chains[0];
    assert_eq!(eth.tokens.len(), 3);
    let added = eth
        .token_by_contract(
            &crate::domain::Address::parse("0x1234567890123456789012345678901234567890").unwrap(),
        )
        .unwrap();
    assert_eq!((added.symbol, added.decimals), (TokenSymbol::Usdt, 6));
    assert_eq!(chains[1].tokens.len(), 3, "OP: USDT0, legacy USDT, USDC");

    let entry = |chain: &str, symbol: &str, contract: &str, decimals: u32| {
        format!(
            "[monitor]\nchains = [\"ethereum\"]\ntokens = [\"USDT\"]\n[[monitor.contracts]]\n\
             chain = \"{chain}\"\nsymbol = \"{symbol}\"\ncontract = \"{contract}\"\ndecimals = {decimals}\n"
        )
    };
    let good = "0x1234567890123456789012345678901234567890";
    let cases = [
        (
            entry("dogechain", "USDT", good, 6),
            "monitor.contracts[0].chain",
        ),
        (entry("bsc", "USDT", good, 6), "monitor.contracts[0].chain"),
        (
            entry("ethereum", "DAI", good, 6),
            "monitor.contracts[0].symbol",
        ),
        (
            entry("ethereum", "USDC", good, 6),
            "monitor.contracts[0].symbol",
        ),
        (
            entry("ethereum", "USDT", "0x12", 6),
            "monitor.contracts[0].contract",
        ),
        (
            entry(
                "ethereum",
                "USDT",
                "0xdAC17F958D2ee523a2206206994597C13D831ec7",
                6,
            ),
            "monitor.contracts[0].contract",
        ),
        (
            entry("ethereum", "USDT", good, 77),
            "monitor.contracts[0].decimals",
        ),
        (entry("ethereum", "USDT", good, 300), "decimals"),
    ];
    for (text, key) in cases {
        let e = error_of(&text);
        assert!(
            e.contains(key),
            "{text:?} gave {e:?}, expected it to name {key}"
        );
    }
}

#[test]
fn rescan_depth_overrides_one_chain_and_names_its_key() {
    let c =
        parse("[monitor]\nchains = [\"ethereum\", \"bsc\"]\n[monitor.rescan_depth]\nbsc = 500\n")
            .unwrap();
    let chains = c.chains();
    assert_eq!(
        chains[0].rescan_depth,
        Chain::by_name("ethereum").unwrap().rescan_depth
    );
    assert_eq!(chains[1].rescan_depth, 500);
    let e = error_of("[monitor.rescan_depth]\ndogechain = 5\n");
    assert!(e.contains("monitor.rescan_depth.dogechain"), "{e}");
    let e = error_of("[etherscan]\ndaily_cap_probe_interval = \"0s\"\n");
    assert!(e.contains("etherscan.daily_cap_probe_interval"), "{e}");
}

/// `monitor.chains = ["tron"]` validates; Tron is scanned with USDT only
/// and never handed to the Etherscan scanner; a Tron `[[monitor.contracts]]`
/// entry takes a base58 `T…` contract and refuses hex or a typo by its key.
#[test]
fn tron_is_a_chain_with_base58_contracts_and_is_not_an_etherscan_chain() {
    let c = parse("[monitor]\nchains = [\"tron\"]\n").unwrap();
    let chains = c.chains();
    assert_eq!(chains.len(), 1);
    assert_eq!(chains[0].name, "tron");
    assert_eq!(chains[0].tokens.len(), 1, "USDT only by default");
    assert!(c.evm_chains().is_empty());
    let both = parse("[monitor]\nchains = [\"ethereum\", \"tron\"]\n").unwrap();
    let names: Vec<_> = both.evm_chains().iter().map(|c| c.name).collect();
    assert_eq!(names, ["ethereum"]);

    let entry = |contract: &str| {
        format!(
            "[monitor]\nchains = [\"tron\"]\n[[monitor.contracts]]\nchain = \"tron\"\n\
             symbol = \"USDC\"\ncontract = \"{contract}\"\ndecimals = 6\n"
        )
    };
    let usdc = parse(&entry("TEkxiTehnzSmSe2XqrBj4w32RUN966rdz8")).unwrap();
    let tron = &usdc.chains()[0];
    let added = tron.token(TokenSymbol::Usdc).expect("the operator's USDC");
    assert_eq!(
        added.contract.as_str(),
        "0x3487b63d30b5b2c87fb7ffa8bcfade38eaac1abe"
    );
    for bad in [
        "0x3487b63d30b5b2c87fb7ffa8bcfade38eaac1abe",
        "TEkxiTehnzSmSe2XqrBj4w32RUN966rdz9",
    ] {
        let e = error_of(&entry(bad));
        assert!(e.contains("monitor.contracts[0].contract"), "{e}");
    }
    let e = error_of(&entry("TEkxiTehnzSmSe2XqrBj4w32RUN966rdz9"));
    assert!(e.contains("checksum"), "{e}");
    let e = error_of(&entry("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"));
    assert!(
        e.contains("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t is already registered"),
        "{e}"
    );
}

#[test]
fn http_is_off_by_default_and_takes_an_address() {
    assert_eq!(parse("").unwrap().http.listen_addr(), None);
    let c = parse("[http]\nlisten = \"127.0.0.1:9108\"\n").unwrap();
    assert_eq!(
        c.http.listen_addr(),
        Some("127.0.0.1:9108".parse().unwrap())
    );
    assert!(c.to_toml().contains("listen = \"127.0.0.1:9108\""));
}

#[test]
fn scan_mode_defaults_to_auto_and_an_unknown_one_names_its_key() {
    assert_eq!(parse("").unwrap().monitor.scan_mode, ScanMode::Auto);
    let c = parse("[monitor]\nscan_mode = \"per-address\"\n").unwrap();
    assert_eq!(c.monitor.scan_mode, ScanMode::PerAddress);
    let c = parse("[monitor]\nscan_mode = \"logs\"\n").unwrap();
    assert_eq!(c.monitor.scan_mode, ScanMode::Logs);
    let e = error_of("[monitor]\nscan_mode = \"tokentx\"\n");
    assert!(e.contains("scan_mode"), "{e}");
}

#[test]
fn blockscout_defaults_to_the_public_instances_and_names_its_keys() {
    let c = parse("").unwrap();
    let eth = Chain::by_name("ethereum").unwrap();
    let bsc = Chain::by_name("bsc").unwrap();
    assert_eq!(c.etherscan.daily_limit, 100_000);
    assert_eq!(
        c.blockscout.url(&eth).as_deref(),
        Some("https://eth.blockscout.com/api")
    );
    assert_eq!(c.blockscout.url(&bsc), None, "no public instance for BSC");
    let c = parse(
        "[blockscout.urls]\nethereum = \"http://127.0.0.1:9/api\"\nbsc = \"http://10.0.0.2/api\"\n",
    )
    .unwrap();
    assert_eq!(
        c.blockscout.url(&eth).as_deref(),
        Some("http://127.0.0.1:9/api")
    );
    assert_eq!(
        c.blockscout.url(&bsc).as_deref(),
        Some("http://10.0.0.2/api")
    );
    let c = parse("[blockscout]\nenabled = false\n").unwrap();
    assert_eq!(c.blockscout.url(&eth), None);
    let cases = [
        (
            "[blockscout]\nrequests_per_second = 0",
            "blockscout.requests_per_second",
        ),
        (
            "[blockscout]\nfailure_threshold = 0",
            "blockscout.failure_threshold",
        ),
        (
            "[blockscout]\nprobe_interval = \"0s\"",
            "blockscout.probe_interval",
        ),
        ("[blockscout]\nretries = 3", "retries"),
        (
            "[blockscout.urls]\ndogechain = \"https://x.example/api\"",
            "blockscout.urls.dogechain",
        ),
        (
            "[blockscout.urls]\nethereum = \"eth.blockscout.com\"",
            "blockscout.urls.ethereum",
        ),
        (
            "[blockscout.urls]\nethereum = \"https://x.example/api?apikey=1\"",
            "blockscout.urls.ethereum",
        ),
        ("[etherscan]\ndaily_limit = 0", "etherscan.daily_limit"),
    ];
    for (text, key) in cases {
        let e = error_of(text);
        assert!(
            e.contains(key),
            "{text:?} gave {e:?}, expected it to name {key}"
        );
    }
}

/// Fault kind: a credential in a Blockscout URL (`user:key@host`). It is
/// refused, naming the key and not echoing the credential, instead of being
/// printed by `check-config` (which promises no secret is printed).
#[test]
fn blockscout_url_with_credentials_is_refused() {
    let e = error_of("[blockscout.urls]\nethereum = \"https://u:S3CRET@x.example/api\"");
    assert!(e.contains("blockscout.urls.ethereum"), "{e}");
    assert!(!e.contains("S3CRET"), "{e}");
    // An `@` in the path is no credential.
    let c = parse("[blockscout.urls]\nethereum = \"https://x.example/@v1/api\"").unwrap();
    let eth = Chain::by_name("ethereum").unwrap();
    assert_eq!(
        c.blockscout.url(&eth).as_deref(),
        Some("https://x.example/@v1/api")
    );
}

#[test]
fn registration_defaults_to_open_and_each_mode_is_checked() {
    let c = parse("").unwrap();
    assert_eq!(c.telegram.registration, Registration::Open);
    assert!(c.telegram.allowed.is_empty());
    assert_eq!(c.telegram.max_chats, 10_000);
    assert_eq!(c.monitor.max_subscriptions, 100_000);

    let c = parse("[telegram]\nregistration = \"allowlist\"\nallowed = [42, -1001]\n").unwrap();
    assert_eq!(c.telegram.registration, Registration::Allowlist);
    assert_eq!(c.telegram.allowed, vec![42, -1001]);
    let c = parse("[telegram]\nregistration = \"approval\"\nadmins = [7]\n").unwrap();
    assert_eq!(c.telegram.registration, Registration::Approval);

    let cases = [
        // Nobody could ever use the bot.
        (
            "[telegram]\nregistration = \"allowlist\"",
            "telegram.allowed",
        ),
        // Nobody could approve a chat.
        ("[telegram]\nregistration = \"approval\"", "telegram.admins"),
        // A group's id, or 0, is no person who could press Approve.
        (
            "[telegram]\nregistration = \"approval\"\nadmins = [-1001234567890]",
            "telegram.admins",
        ),
        ("[telegram]\nadmins = [0]", "telegram.admins"),
        // A list that would be silently ignored.
        ("[telegram]\nallowed = [5]", "telegram.allowed"),
        (
            "[telegram]\nregistration = \"allowlist\"\nallowed = [0]",
            "telegram.allowed",
        ),
        ("[telegram]\nregistration = \"invite\"", "registration"),
        ("[telegram]\nmax_chats = 0", "telegram.max_chats"),
        ("[telegram]\nmax_chats = 20000000", "telegram.max_chats"),
        (
            "[monitor]\nmax_addresses_per_user = 60\nmax_subscriptions = 50",
            "monitor.max_subscriptions",
        ),
        (
            "[monitor]\nmax_subscriptions = 200000000",
            "monitor.max_subscriptions",
        ),
    ];
    for (text, key) in cases {
        let e = error_of(text);
        assert!(
            e.contains(key),
            "{text:?} gave {e:?}, expected it to name {key}"
        );
    }
}
