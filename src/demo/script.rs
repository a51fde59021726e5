//! The scripted scenario.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::app;
use crate::db::stats::GetStats;
use crate::domain::{Address, TRON_CHAIN_ID, TokenSymbol};
use crate::sim::botapi::SentMessage;
use crate::supervisor::{EventKind, GetStatus, Shutdown};

use super::show::Out;
use super::world::{ADMIN, ALICE, World};
use super::{DemoArgs, repl};

const WAIT: Duration = Duration::from_secs(45);

type Result<T> = std::result::Result<T, String>;

fn addr(s: &str) -> Address {
    Address::parse(s).expect("the demo's addresses are valid")
}

pub async fn run(args: DemoArgs, out: Out) -> Result<()> {
    let started = Instant::now();
    out.title("usdt-monitor demo — everything below is simulated, nothing leaves this machine");
    let world = World::start(args.pace())
        .await
        .map_err(|e| format!("cannot start the simulators: {e}"))?;
    out.note(&format!(
        "simulated Etherscan API V2: {}",
        world.es.base_url()
    ));
    out.note(&format!("simulated TronGrid: {}", world.tron.base_url()));
    out.note(&format!(
        "simulated Telegram Bot API: {}",
        world.bot.api_url()
    ));
    out.note(&format!(
        "database: {}",
        world.shared.config.database.path.display()
    ));

    let handle = app::start(&world.shared).map_err(|e| e.to_string())?;
    let peaks = Peaks::watch();
    let mut events = handle.subscribe();
    let printer = out;
    actix::spawn(async move {
        while let Ok(e) = events.recv().await {
            match e.kind {
                EventKind::Started => printer.event(&format!("actor {} started", e.actor)),
                EventKind::Crashed { reason } => {
                    printer.event(&format!("actor {} crashed: {reason}", e.actor))
                }
                EventKind::Restarted {
                    restarts, backoff, ..
                } => printer.event(&format!(
                    "actor {} restarted by the supervisor (restart #{restarts}, after {backoff:?})",
                    e.actor
                )),
                EventKind::Stopped => printer.event(&format!("actor {} stopped", e.actor)),
                other => printer.event(&format!("{}: {other:?}", e.actor)),
            }
        }
    });

    let savings = addr("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed");
    let trading = addr("0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359");
    let employer = addr("0xc0ffee254729296a45a3885639AC7E10F9d54979");
    let exchange = addr("0x28C6c06298d514Db089934071355E5743bf21d60");
    // The attacker's address: same first four and last four hex digits as
    // the employer's, everything in between different.
    let lookalike = addr("0xc0ffee0000000000000000000000000000004979");
    let fake_usdt = addr("0x9999999999999999999999999999999999999999");

    out.title("1. A user talks to the bot");
    say(&world, out, ALICE, "alice", "/start").await?;
    say(
        &world,
        out,
        ALICE,
        "alice",
        &format!("/add {} Savings", savings.checksummed()),
    )
    .await?;
    say(
        &world,
        out,
        ALICE,
        "alice",
        &format!("/add {} Trading", trading),
    )
    .await?;

    out.title("2. Transfers arrive on chain");
    let salary = world.transfer(TokenSymbol::Usdt, &employer, &savings, 2_500_000_000);
    out.chain("2,500 USDT from an employer to Savings");
    let swap = world.transfer(TokenSymbol::Usdc, &trading, &exchange, 1_234_567);
    out.chain("1.234567 USDC from Trading to an exchange");
    let fake = world.transfer_of(fake_usdt.clone(), &employer, &savings, 1_000_000_000_000);
    out.chain(&format!(
        "1,000,000 \"USDT\" of a fake token contract {} to Savings",
        fake_usdt.short()
    ));
    for tx in [&salary, &swap] {
        let m = wait_for_tx(&world, out, ALICE, tx).await?;
        out.bot("alice", &m.text);
    }
    if world.sent().iter().any(|m| m.text.contains(&fake)) {
        return Err("the fake token's transfer was reported".into());
    }
    out.ok(
        "the fake token's transfer was ignored: tokens are matched by contract, never by symbol",
    );

    out.title("3. An address-poisoning attempt");
    let poison = world.transfer(TokenSymbol::Usdt, &lookalike, &savings, 0);
    out.chain(&format!(
        "0 USDT from {} — it looks like the employer {}",
        lookalike.checksummed(),
        employer.checksummed()
    ));
    // A payment in a later block proves the poisoning block was scanned.
    world.es.advance(1, 1);
    let later = world.transfer(TokenSymbol::Usdt, &exchange, &trading, 50_000_000);
    out.chain("50 USDT from the exchange to Trading");
    let m = wait_for_tx(&world, out, ALICE, &later).await?;
    out.bot("alice", &m.text);
    if world
        .sent()
        .iter()
        .any(|m| m.text.contains(&poison) && !m.text.contains('⚠'))
    {
        return Err("the poisoning attempt was delivered as an ordinary notification".into());
    }
    out.ok("the look-alike transfer was held back, not notified");

    out.title("4. The same on Tron");
    tron_story(&world, out).await?;
    say(&world, out, ALICE, "alice", "/spam").await?;

    out.title("5. The admin checks on the daemon");
    say(&world, out, ADMIN, "admin", "/status").await?;

    out.title("6. A crash, and the supervisor at work");
    say(&world, out, ADMIN, "admin", "/panic etherscan").await?;
    let after_crash = world.transfer(TokenSymbol::Usdc, &employer, &savings, 99_990_000);
    out.chain("99.99 USDC from the employer to Savings, while the scanner restarts");
    let m = wait_for_tx(&world, out, ALICE, &after_crash).await?;
    out.bot("alice", &m.text);
    out.ok("delivered: the scanner resumed from its stored cursor");

    let stats = world
        .shared
        .db
        .exec(GetStats)
        .await
        .map_err(|e| e.to_string())?;
    let tree = handle
        .addr
        .send(GetStatus)
        .await
        .map_err(|e| e.to_string())?;

    if args.keep_running {
        repl::run(&world, out).await;
    }

    out.title("7. Ordered shutdown");
    handle.addr.do_send(Shutdown);
    let exit = handle
        .exit
        .await
        .map_err(|_| "the supervisor vanished".to_string())?;
    // Let the event printer catch up with the last "stopped" events.
    tokio::time::sleep(Duration::from_millis(100)).await;
    out.ok(&format!("every actor stopped; exit code {}", exit.code()));

    out.title("Summary");
    let restarts: u32 = tree.children.iter().map(|c| c.restarts).sum();
    let delivered = world
        .sent()
        .iter()
        .filter(|m| m.text.contains("/tx/") || m.text.contains("/#/transaction/"))
        .count();
    out.note(&format!("transfers recorded:          {}", stats.transfers));
    out.note(&format!("notifications delivered:     {delivered}"));
    out.note(&format!("actor restarts:              {restarts}"));
    out.note(&format!(
        "Etherscan calls made:        {}",
        world.es.request_count()
    ));
    out.note(&format!(
        "TronGrid calls made:         {}",
        world.tron.requests().len()
    ));
    out.note("this process (the daemon and the three simulators):");
    out.note(&format!(
        "peak open descriptors:       {}",
        peaks.descriptors.load(Ordering::Relaxed)
    ));
    out.note(&format!(
        "peak resident memory:        {:.1} MiB",
        peaks.memory.load(Ordering::Relaxed) as f64 / (1024.0 * 1024.0)
    ));
    out.note(&format!(
        "demo time:                   {:.1} s",
        started.elapsed().as_secs_f64()
    ));
    if exit.code() != 0 {
        return Err(format!("the daemon exited with code {}", exit.code()));
    }
    Ok(())
}

/// Alice watches a Tron wallet: a payment is notified in base58 with a
/// Tronscan link; a zero-value transfer from a vanity address with the
/// payer's base58 first five and last five characters is held back.
async fn tron_story(world: &World, out: Out) -> Result<()> {
    // Found offline by a birthday search over addresses starting `TTZhL`.
    let cold = "TQf6PDMi7er8c9Jw2SiQwDYq691ZhQtzi4";
    let client = "TTZhLMv1kSJesPkYcZexxSZQdCufc6XemR";
    let vanity = "TTZhLDNKtCG3BJpfR1ZCe88Qb3XTf6XemR";
    say(
        world,
        out,
        ALICE,
        "alice",
        &format!("/add {cold} tron Cold"),
    )
    .await?;
    let paid = world.tron.inject(client, cold, 1_250_000_000);
    out.chain("1,250 USDT (TRC-20) from a client to Cold");
    let m = wait_for_tx(world, out, ALICE, &paid.txid).await?;
    out.bot("alice", &m.text);

    let poison = world.tron.inject_poisoning(vanity, cold);
    out.chain(&format!(
        "0 USDT from {vanity} — it looks like the client {client}"
    ));
    // A payment in a later block proves the poisoning block was scanned.
    world.tron.advance(1);
    let later = world.tron.inject(client, cold, 10_000_000);
    out.chain("10 USDT from the client to Cold");
    let m = wait_for_tx(world, out, ALICE, &later.txid).await?;
    out.bot("alice", &m.text);
    if world
        .sent()
        .iter()
        .any(|m| m.text.contains(&poison.txid) && !m.text.contains('⚠'))
    {
        return Err("the Tron poisoning attempt was delivered as an ordinary notification".into());
    }
    out.ok("the Tron look-alike transfer was held back, not notified");
    Ok(())
}

/// A user says something; prints it and the bot's reply.
async fn say(world: &World, out: Out, user: i64, name: &str, text: &str) -> Result<()> {
    out.user(name, text);
    let before = world.bot.sent_to(user).len();
    world.bot.user_says(user, text);
    let sent = world
        .bot
        .wait_for(WAIT, |all| {
            all.iter().filter(|m| m.chat_id == user).count() > before
        })
        .await
        .map_err(|_| format!("the bot did not answer {text:?}"))?;
    if let Some(reply) = sent.iter().filter(|m| m.chat_id == user).nth(before) {
        out.bot(name, &reply.text);
    }
    Ok(())
}

/// Waits for the notification of transaction `tx`, with a progress line.
async fn wait_for_tx(world: &World, out: Out, user: i64, tx: &str) -> Result<SentMessage> {
    let deadline = Instant::now() + WAIT;
    loop {
        let found = world
            .bot
            .wait_for(Duration::from_millis(250), |all| {
                all.iter().any(|m| m.chat_id == user && m.text.contains(tx))
            })
            .await;
        if let Ok(all) = found
            && let Some(m) = all
                .into_iter()
                .find(|m| m.chat_id == user && m.text.contains(tx))
        {
            return Ok(m);
        }
        if Instant::now() > deadline {
            return Err(format!("no notification for {tx} within {WAIT:?}"));
        }
        let cursor = |chain: u64| {
            world
                .shared
                .health
                .chains()
                .into_iter()
                .find(|(id, _)| *id == chain)
                .and_then(|(_, h)| h.cursor)
                .map_or("-".to_string(), |c| c.to_string())
        };
        out.progress(&format!(
            "waiting for the block to be safe: Ethereum head {}, scanned up to {}, {} confirmations; \
             Tron solid head {}, scanned up to {}",
            world.es.head(1),
            cursor(1),
            world.shared.config.monitor.confirmations,
            world.tron.solid_head(),
            cursor(TRON_CHAIN_ID),
        ));
    }
}

/// Peak descriptors and memory, sampled every 100 ms.
struct Peaks {
    descriptors: Arc<AtomicUsize>,
    memory: Arc<AtomicU64>,
}

impl Peaks {
    fn watch() -> Peaks {
        let peaks = Peaks {
            descriptors: Arc::new(AtomicUsize::new(0)),
            memory: Arc::new(AtomicU64::new(0)),
        };
        let (d, m) = (peaks.descriptors.clone(), peaks.memory.clone());
        actix::spawn(async move {
            loop {
                if let Some(n) = crate::metrics::open_descriptors() {
                    d.fetch_max(n, Ordering::Relaxed);
                }
                if let Some(b) = crate::metrics::resident_bytes() {
                    m.fetch_max(b, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        peaks
    }
}
