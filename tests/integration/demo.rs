//! `usdt-monitor demo --fast`: the front door works on a machine with no
//! network and no secrets, and tells the story it promises.

use std::process::Command;

#[test]
fn the_demo_runs_the_whole_scenario_and_exits_zero() {
    let out = Command::new(env!("CARGO_BIN_EXE_usdt-monitor"))
        .args(["demo", "--fast", "--no-color"])
        .env_remove("TELEGRAM_BOT_TOKEN")
        .env_remove("ETHERSCAN_API_KEY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    for expected in [
        "Incoming 2,500 USDT",
        "Outgoing 1.234567 USDC",
        "the fake token's transfer was ignored",
        "the look-alike transfer was held back",
        "zero value, look-alike",
        "etherscan: running",
        "actor etherscan restarted by the supervisor",
        "Incoming 99.99 USDC",
        "Incoming 1,250 USDT on Tron",
        "TTZhLMv1kSJesPkYcZexxSZQdCufc6XemR",
        "https://tronscan.org/#/transaction/",
        "the Tron look-alike transfer was held back",
        "tron: running",
        "every actor stopped; exit code 0",
        "notifications delivered:     7",
    ] {
        assert!(
            stdout.contains(expected),
            "the demo did not show {expected:?}:\n{stdout}"
        );
    }
    // The shutdown is shown actor by actor, in order.
    let order: Vec<usize> = ["ticker", "etherscan", "tron", "telegram", "db"]
        .iter()
        .map(|a| {
            stdout
                .find(&format!("actor {a} stopped"))
                .expect("each actor stops")
        })
        .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{stdout}");
}
