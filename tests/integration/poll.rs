//! The poll frame (`scanner::poll`), the same for every provider, seen from
//! outside: the compiled daemon against the simulated Etherscan and
//! TronGrid, observed through what the simulated Bot API received and the
//! daemon's logs.
//!
//! - the deep pass's floor: a restart within `rescan_depth` blocks of the
//!   first start re-scans no block from before the daemon watched;
//! - the per-token failure rule, one for both providers: a token whose
//!   calls fail (a 5xx for its contract only) ends that poll of its chain,
//!   is scanned last the next time, and never holds the other token's
//!   transfers back; it is delivered once, when its calls work again.

use std::time::{Duration, Instant};

use crate::common::*;
use usdt_monitor::domain::{Address, TokenSymbol};
use usdt_monitor::sim::tron::{self, SimTronGrid};

const ALICE: i64 = 701;
const TRON_KEY: &str = "tron-SECRET-key-9c1d4e";
/// The deep pass's depth in these tests: far more blocks than the first
/// run lasts (the simulated chains make 4 to 5 blocks a second).
const DEPTH: u64 = 200;
/// A USDC contract the operator adds on Tron (the registry has USDT only):
/// a second token there.
const TRON_USDC_DIGIT: char = 'c';

/// Ethereum and Tron (block every 200 ms, solid 3 behind); `more` is
/// appended to the config.
async fn world(more: &str) -> (World, SimTronGrid) {
    tron_world(fast_tron(TRON_KEY), TRON_KEY, more).await
}

/// ALICE watches `eth` on Ethereum and `trx` (base58) on Tron.
async fn watch(w: &World, eth: &Address, trx: &str) {
    w.say(ALICE, "/start").await;
    w.say(ALICE, &format!("/add {eth}")).await;
    let reply = w.say(ALICE, &format!("/add {trx} tron Wallet")).await;
    assert!(reply.contains(trx), "{reply}");
}

/// The block each chain's first cursor was created at, from run 1's log.
fn first_cursors(log: &str) -> Vec<(String, u64)> {
    json_lines(log)
        .into_iter()
        .filter(|l| l["message"] == "new cursor at the safe head (no backfill)")
        .filter_map(|l| Some((l["chain"].as_str()?.to_string(), l["block"].as_u64()?)))
        .collect()
}

/// Waits until run `n`'s log shows a deep pass of `chain` that reached
/// `block` (every block up to it was scanned a second time).
async fn wait_deep_pass(w: &World, n: u32, chain: &str, block: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let reached = json_lines(&w.logs(n)).into_iter().any(|l| {
            l["message"] == "deep pass"
                && l["chain"] == chain
                && l["to_block"].as_u64().is_some_and(|b| b >= block)
        });
        if reached {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "no deep pass of {chain} reached block {block}; log:\n{}",
            w.logs(n)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// No message to ALICE names `tx`.
fn never_delivered(w: &World, tx: &str) {
    let n = w
        .bot
        .sent_to(ALICE)
        .iter()
        .filter(|m| m.text.contains(tx))
        .count();
    assert_eq!(
        n, 0,
        "transfer {tx}, made before the first start, delivered {n} times"
    );
}

/// Issue 17: against a real node, a restart within `rescan_depth` blocks
/// of the first start delivered transfers made before the daemon ever
/// watched (the deep pass started at the stored cursor − `rescan_depth`,
/// below the first cursor). The first cursor is the floor, stored.
#[actix_rt::test]
async fn a_restart_soon_after_the_first_start_delivers_nothing_from_before_it() {
    let (mut w, tron) = world(&format!(
        "[monitor.rescan_depth]\nethereum = {DEPTH}\ntron = {DEPTH}\n"
    ))
    .await;
    let (wallet, payer) = (addr('a'), addr('1'));
    let (twallet, tpayer) = (addr('a').to_tron(), addr('1').to_tron());

    // Before the first start: transfers to the wallet, made final.
    let before = [
        w.transfer(TokenSymbol::Usdt, &payer, &wallet, 11_000_000),
        w.transfer(TokenSymbol::Usdc, &payer, &wallet, 12_000_000),
    ];
    let tron_before = tron.inject(&tpayer, &twallet, 13_000_000).txid;
    w.es.advance(1, 10);
    tron.advance(10);

    w.start_daemon();
    watch(&w, &wallet, &twallet).await;
    let after = [
        w.transfer(TokenSymbol::Usdt, &payer, &wallet, 21_000_000),
        tron.inject(&tpayer, &twallet, 22_000_000).txid,
    ];
    for tx in &after {
        w.wait_messages(ALICE, tx, 1).await;
    }
    let first = first_cursors(&w.logs(1));
    for chain in ["ethereum", "tron"] {
        assert!(
            first.iter().any(|(c, _)| c == chain),
            "{chain}: no first cursor logged: {first:?}"
        );
    }

    // The app restarts on the same database, well within `DEPTH` blocks.
    w.signal("TERM");
    assert!(w.wait_exit(WAIT).await.success());
    let while_down = [
        w.transfer(TokenSymbol::Usdc, &payer, &wallet, 31_000_000),
        tron.inject(&tpayer, &twallet, 32_000_000).txid,
    ];
    w.start_daemon();
    for tx in &while_down {
        w.wait_messages(ALICE, tx, 1).await;
    }
    // The chains move on until the deep pass has read every block up to the
    // first cursor again: without a floor, that is where it would find the
    // transfers from before the first start.
    w.es.advance(1, DEPTH + 20);
    tron.advance(DEPTH + 20);
    for (chain, block) in &first {
        wait_deep_pass(&w, 2, chain, *block).await;
    }
    // Anything found by then has been recorded; a transfer made now and
    // delivered comes after it in the outbox.
    let marker = [
        w.transfer(TokenSymbol::Usdt, &payer, &wallet, 41_000_000),
        tron.inject(&tpayer, &twallet, 42_000_000).txid,
    ];
    for tx in &marker {
        w.wait_messages(ALICE, tx, 1).await;
    }

    for tx in before.iter().chain([&tron_before]) {
        never_delivered(&w, tx);
    }
    w.assert_delivered_once(ALICE, after.iter().chain(&while_down).chain(&marker));
}

/// The log says a token's failure ended its chain's poll.
fn failure_ended_the_poll(log: &str, chain: &str, token: &str) -> bool {
    json_lines(log).into_iter().any(|l| {
        l["message"] == "token scan incomplete; the cursor stays before the gap"
            && l["chain"] == chain
            && l["token"] == token
            && l["chain_poll_ends"] == true
    })
}

/// Etherscan: USDT's calls fail (HTTP 500 for its contract only, retries
/// exhausted every poll); USDC's transfers are still delivered, and USDT's
/// once its calls work again.
#[actix_rt::test]
async fn a_failing_token_holds_only_itself_on_etherscan() {
    let mut w = World::new(Tweaks::default()).await;
    w.start_daemon();
    let (wallet, payer) = (addr('b'), addr('2'));
    w.say(ALICE, "/start").await;
    w.say(ALICE, &format!("/add {wallet}")).await;
    let warm = w.transfer(TokenSymbol::Usdt, &payer, &wallet, 1_000_000);
    w.wait_messages(ALICE, &warm, 1).await;

    let usdt = usdt_monitor::domain::Chain::by_name("ethereum")
        .unwrap()
        .token(TokenSymbol::Usdt)
        .unwrap()
        .contract
        .clone();
    w.es.fail_contract(Some((&usdt, 500)));
    let held = w.transfer(TokenSymbol::Usdt, &payer, &wallet, 2_000_000);
    let other = w.transfer(TokenSymbol::Usdc, &payer, &wallet, 3_000_000);
    w.wait_messages(ALICE, &other, 1).await;
    assert!(
        w.bot.sent_to(ALICE).iter().all(|m| !m.text.contains(&held)),
        "USDT delivered while its calls fail"
    );
    assert!(
        failure_ended_the_poll(&w.logs(1), "ethereum", "USDT"),
        "{}",
        w.logs(1)
    );

    w.es.fail_contract(None);
    w.wait_messages(ALICE, &held, 1).await;
    w.assert_delivered_once(ALICE, [&warm, &held, &other]);
}

/// Tron, the same rule: USDT's events calls fail (HTTP 500 for its
/// contract only); the operator's second token on Tron is still delivered,
/// and USDT once its calls work again.
#[actix_rt::test]
async fn a_failing_token_holds_only_itself_on_tron() {
    let usdc = addr(TRON_USDC_DIGIT).to_tron();
    let (mut w, tron) = world(&format!(
        "[[monitor.contracts]]\nchain = \"tron\"\nsymbol = \"USDC\"\ncontract = \"{usdc}\"\ndecimals = 6\n"
    ))
    .await;
    w.start_daemon();
    let (wallet, payer) = (addr('d').to_tron(), addr('4').to_tron());
    w.say(ALICE, "/start").await;
    let reply = w.say(ALICE, &format!("/add {wallet} tron Wallet")).await;
    assert!(reply.contains(&wallet), "{reply}");
    let warm = tron.inject(&payer, &wallet, 1_000_000).txid;
    w.wait_messages(ALICE, &warm, 1).await;

    tron.fail_contract(Some((&tron::to_base58(&tron::USDT_CONTRACT), 500)));
    let held = tron.inject(&payer, &wallet, 2_000_000).txid;
    let other = tron
        .inject_tx(
            None,
            &[tron::Transfer {
                contract: tron::parse_address(&usdc).unwrap(),
                from: tron::parse_address(&payer).unwrap(),
                to: tron::parse_address(&wallet).unwrap(),
                value: 3_000_000,
            }],
        )
        .remove(0)
        .txid;
    w.wait_messages(ALICE, &other, 1).await;
    assert!(
        w.bot.sent_to(ALICE).iter().all(|m| !m.text.contains(&held)),
        "USDT delivered while its calls fail"
    );
    assert!(
        failure_ended_the_poll(&w.logs(1), "tron", "USDT"),
        "{}",
        w.logs(1)
    );

    tron.fail_contract(None);
    w.wait_messages(ALICE, &held, 1).await;
    w.assert_delivered_once(ALICE, [&warm, &held, &other]);
}
