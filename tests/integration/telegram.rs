//! The Telegram actor end to end: the real teloxide-core client against the
//! simulated Bot API, a real supervisor tree (db, etherscan placeholder,
//! telegram, ticker) and a real SQLite file. Every wait is on a condition.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use usdt_monitor::app::{self, Shared};
use usdt_monitor::config::{Config, Secret, Secrets};
use usdt_monitor::db::chats::UpsertChat;
use usdt_monitor::db::poll_result::RecordPollResult;
use usdt_monitor::db::stats::{DbStats, GetStats};
use usdt_monitor::db::subscriptions::{AddSubscription, ListSubscriptions};
use usdt_monitor::db::{DbError, DbRequest};
use usdt_monitor::domain::{Address, Amount, TokenSymbol, Transfer};
use usdt_monitor::sim::botapi::{ChatFault, SentMessage, SimBotApi, SimBotOptions};
use usdt_monitor::supervisor::{
    ChildState, GetStatus, RestartChild, Shutdown, SupervisorHandle, TreeStatus,
};
use usdt_monitor::telegram::updates::OFFSET_KEY;

const ADMIN: i64 = 900;
const WAIT: Duration = Duration::from_secs(15);

/// Checksummed (EIP-55 test vectors).
const A1: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
const A2: &str = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359";
const A3: &str = "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB";
const A1_BAD_CHECKSUM: &str = "0x5AAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";

fn base_config(sim: &SimBotApi, db: &Path) -> Config {
    let mut c = Config::default();
    c.telegram.api_url = sim.api_url();
    c.telegram.admins = vec![ADMIN];
    c.telegram.long_poll_timeout = Duration::from_secs(5);
    c.telegram.send_rate = 100;
    c.telegram.per_chat_interval = Duration::from_millis(20);
    c.telegram.command_limit = 1000;
    c.telegram.command_window = Duration::from_secs(60);
    // These tests follow each notification as its own message; combined
    // bursts are tested in tests/groups.rs.
    c.telegram.combine_after = 0;
    // Nothing to scan in these tests; never reach the real Etherscan.
    c.etherscan.base_url = "http://127.0.0.1:9/v2/api".into();
    c.blockscout.enabled = false;
    c.monitor.poll_interval = Duration::from_secs(3600);
    c.monitor.max_addresses_per_user = 2;
    c.database.path = db.to_path_buf();
    c.supervisor.backoff_min = Duration::from_millis(50);
    c.supervisor.backoff_max = Duration::from_millis(500);
    c.supervisor.max_restarts = 50;
    c.supervisor.shutdown_timeout = Duration::from_secs(5);
    c.supervisor.fault_injection = true;
    c
}

struct World {
    sim: SimBotApi,
    _dir: Option<tempfile::TempDir>,
    db_path: PathBuf,
    shared: Shared,
    tree: SupervisorHandle,
}

fn no_sim_limits() -> SimBotOptions {
    SimBotOptions {
        flood_limits: false,
        ..SimBotOptions::default()
    }
}

impl World {
    async fn start(opts: SimBotOptions, tweak: impl FnOnce(&mut Config)) -> World {
        let sim = SimBotApi::start(opts).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("monitor.db");
        let mut w = World::on(sim, db_path, tweak);
        w._dir = Some(dir);
        w
    }

    /// A tree on an existing simulator and database file.
    fn on(sim: SimBotApi, db_path: PathBuf, tweak: impl FnOnce(&mut Config)) -> World {
        let mut config = base_config(&sim, &db_path);
        tweak(&mut config);
        let secrets = Secrets {
            telegram_token: Secret::new(sim.token()),
            etherscan_key: Some(Secret::new("test-key")),
            tron_key: None,
        };
        let shared = Shared::new(config, secrets).unwrap();
        // Nothing to poll: keep the ticker quiet.
        shared
            .paused
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let tree = app::start(&shared).unwrap();
        World {
            sim,
            _dir: None,
            db_path,
            shared,
            tree,
        }
    }

    async fn stop(self) -> (SimBotApi, PathBuf, Option<tempfile::TempDir>) {
        self.tree.addr.do_send(Shutdown);
        let exit = tokio::time::timeout(WAIT, self.tree.exit).await;
        assert!(matches!(exit, Ok(Ok(_))), "the tree stopped");
        (self.sim, self.db_path, self._dir)
    }

    /// Sends `text` as `user` and returns the bot's next message to them.
    async fn ask(&self, user: i64, text: &str) -> String {
        let before = self.sim.sent_to(user).len();
        self.sim.user_says(user, text);
        let all = self
            .sim
            .wait_for(WAIT, |all| count_to(all, user) > before)
            .await
            .unwrap_or_else(|_| panic!("no reply to {text:?}"));
        let reply: Vec<&SentMessage> = all.iter().filter(|m| m.chat_id == user).collect();
        let m = reply[before];
        assert_eq!(m.parse_mode.as_deref(), Some("HTML"), "HTML replies");
        assert!(m.link_preview_disabled);
        m.text.clone()
    }

    async fn stats(&self) -> DbStats {
        self.shared.db.exec(GetStats).await.unwrap()
    }

    async fn status(&self) -> TreeStatus {
        self.tree.addr.send(GetStatus).await.unwrap()
    }

    async fn subscribe(&self, chat: i64, address: &str, label: Option<&str>) {
        self.shared
            .db
            .exec(UpsertChat {
                chat_id: chat,
                username: None,
                first_name: None,
            })
            .await
            .unwrap();
        self.shared
            .db
            .exec(AddSubscription {
                chat_id: chat,
                chain_id: 1,
                address: Address::parse(address).unwrap(),
                label: label.map(String::from),
                limit: 100,
            })
            .await
            .unwrap();
    }

    async fn record(&self, transfers: Vec<Transfer>) -> usize {
        let r = self
            .shared
            .db
            .exec(RecordPollResult::new(
                1,
                transfers,
                vec![],
                self.shared.spam.clone(),
            ))
            .await
            .unwrap();
        self.shared.outbox_ready.notify_one();
        r.notifications
    }

    /// Waits until every update the simulator holds has been handled
    /// (the bot confirmed it by asking with a higher offset).
    async fn until_updates_handled(&self, last_update: i64) {
        until(WAIT, "updates handled", || async {
            self.sim.confirmed_offset() > last_update
        })
        .await;
    }
}

fn count_to(all: &[SentMessage], chat: i64) -> usize {
    all.iter().filter(|m| m.chat_id == chat).count()
}

/// Polls an async condition (for state that has no change notification,
/// such as a database row) until it holds.
async fn until<F, Fut>(timeout: Duration, what: &str, cond: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn usdt() -> Address {
    Address::parse("0xdac17f958d2ee523a2206206994597c13d831ec7").unwrap()
}

fn transfer(log_index: u64, from: &str, to: &str, raw: u128) -> Transfer {
    Transfer {
        chain_id: 1,
        tx_hash: "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060".into(),
        log_index,
        block: 19_000_000,
        timestamp: 1_764_297_023,
        token: TokenSymbol::Usdt,
        contract: usdt(),
        decimals: 6,
        from: Address::parse(from).unwrap(),
        to: Address::parse(to).unwrap(),
        amount: Amount::from_u128(raw),
    }
}

const SENDER: &str = "0x1111111111111111111111111111111111111111";

/// The exact notification for `transfer(0, SENDER, A1, 1_234_567_890)` to
/// a chat that watches A1 as "Savings <b>".
const SNAPSHOT: &str = "⬇️ <b>Incoming 1,234.56789 USDT</b> on Ethereum\n\
    To: <b>Savings &lt;b&gt;</b> (0x5aae…eaed)\n\
    From: <code>0x1111111111111111111111111111111111111111</code>\n\
    Time: 2025-11-28 02:30:23 UTC\n\
    <a href=\"https://etherscan.io/tx/0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060\">View transaction</a>";

async fn subscriptions(w: &World, chat: i64) -> Vec<(u64, String, Option<String>)> {
    w.shared
        .db
        .exec(ListSubscriptions { chat_id: chat })
        .await
        .unwrap()
        .into_iter()
        .map(|s| (s.chain_id, s.address.as_str().to_string(), s.label))
        .collect()
}

#[actix_rt::test]
async fn user_commands_answer_success_and_errors_and_store_nothing_on_rejection() {
    let w = World::start(no_sim_limits(), |_| {}).await;
    let u = 1001;

    let r = w.ask(u, "/start").await;
    assert!(r.contains("Welcome!") && r.contains("USDT"), "{r}");
    let r = w.ask(u, "/start").await;
    assert!(r.contains("Welcome back"), "{r}");
    let r = w.ask(u, "/help").await;
    assert!(
        r.contains("/add") && r.contains("/remove") && !r.contains("/status"),
        "{r}"
    );
    let menu: Vec<String> = w.sim.my_commands().into_iter().map(|c| c.0).collect();
    assert_eq!(
        menu,
        [
            "start", "help", "add", "remove", "list", "spam", "set", "mute", "unmute"
        ]
    );
    assert!(w.sim.calls("deleteWebhook") >= 1);

    // Unknown things get the hint.
    for text in ["hello there", "/foo", "/addd x"] {
        let r = w.ask(u, text).await;
        assert!(
            r.contains("/help") && r.contains("did not understand"),
            "{text}: {r}"
        );
    }

    // Malformed /add: what was wrong, and the usage.
    let usage = "Usage: <code>/add &lt;address&gt; [chain] [label]</code>";
    let r = w.ask(u, "/add").await;
    assert!(r.contains("address is missing") && r.contains(usage), "{r}");
    let r = w.ask(u, "/add 0x1234").await;
    assert!(r.contains("40 hex digits") && r.contains(usage), "{r}");
    let r = w.ask(u, &format!("/add {A1_BAD_CHECKSUM}")).await;
    assert!(r.contains("checksum") && r.contains(usage), "{r}");
    let r = w.ask(u, "/add 0x<b>zz</b>").await;
    assert!(r.contains("0x&lt;b&gt;zz&lt;/b&gt;"), "{r}");
    let r = w.ask(u, &format!("/add {A1} {}", "x".repeat(33))).await;
    assert!(r.contains("at most 32"), "{r}");
    let r = w.ask(u, &format!("/add {A1} polygon")).await;
    assert!(
        r.contains("does not watch polygon") && r.contains("ethereum"),
        "{r}"
    );
    assert!(
        subscriptions(&w, u).await.is_empty(),
        "nothing stored on rejection"
    );

    // Success, with a label that looks like HTML: shown literally.
    let r = w.ask(u, &format!("/add {A1} <b>Savings</b> & co")).await;
    assert!(r.contains("Now watching"), "{r}");
    assert!(r.contains("&lt;b&gt;Savings&lt;/b&gt; &amp; co"), "{r}");
    assert!(r.contains(A1) && r.contains("Ethereum"), "{r}");
    let r = w.ask(u, &format!("/add {}", A1.to_lowercase())).await;
    assert!(r.contains("already watching"), "{r}");
    let r = w.ask(u, &format!("/add@sim_bot {A2} ethereum")).await;
    assert!(r.contains("Now watching") && r.contains(A2), "{r}");
    let r = w.ask(u, &format!("/add {A3} third")).await;
    assert!(
        r.contains("2 addresses") && r.contains("most allowed"),
        "{r}"
    );

    let stored = subscriptions(&w, u).await;
    assert_eq!(
        stored,
        vec![
            (1, A1.to_lowercase(), Some("<b>Savings</b> & co".into())),
            (1, A2.to_lowercase(), None)
        ]
    );

    let r = w.ask(u, "/list").await;
    assert!(r.contains("(2 of 2)"), "{r}");
    assert!(
        r.contains("<b>&lt;b&gt;Savings&lt;/b&gt; &amp; co</b>"),
        "{r}"
    );
    assert!(r.contains(A2) && r.contains("Ethereum"), "{r}");

    let r = w.ask(u, "/remove").await;
    assert!(
        r.contains("address (or label) is missing") && r.contains("/remove &lt;address|label&gt;"),
        "{r}"
    );
    let r = w.ask(u, &format!("/remove {A2}")).await;
    assert!(r.contains("Stopped watching") && r.contains(A2), "{r}");
    let r = w.ask(u, &format!("/remove {A2}")).await;
    assert!(r.contains("not watching"), "{r}");
    assert_eq!(subscriptions(&w, u).await.len(), 1);

    let r = w.ask(u, "/spam").await;
    assert!(r.contains("Nothing flagged"), "{r}");

    // Admin commands from a non-admin: the same hint as unknown ones.
    for text in [
        "/status",
        "/stats",
        "/pause",
        "/restart db",
        "/restart",
        "/panic db",
    ] {
        let r = w.ask(u, text).await;
        assert!(r.contains("did not understand"), "{text}: {r}");
    }
    assert!(
        w.shared.paused.load(std::sync::atomic::Ordering::SeqCst),
        "a non-admin's /resume changed nothing"
    );

    // A group command for another bot is ignored (groups: tests/groups.rs).
    let last = w.sim.group_says(-5, u, "/start@OtherBot");
    w.until_updates_handled(last).await;
    assert!(w.sim.sent_to(-5).is_empty());

    // The offset is stored.
    let stored = w
        .shared
        .db
        .exec(usdt_monitor::db::meta::GetMeta(OFFSET_KEY))
        .await
        .unwrap();
    assert_eq!(stored, Some((last + 1).to_string()));
    w.stop().await;
}

/// The kind `tron_address`: with Tron configured, `/add T…` is told apart
/// by its form and checked (a typo is told, nothing stored), watched on
/// Tron only and shown in base58 by `/add`, `/list` and `/remove`; a `0x…`
/// address stays on the EVM chains and is refused on Tron.
#[actix_rt::test]
async fn tron_addresses_are_checked_and_shown_in_base58() {
    const TRON: &str = "TEkxiTehnzSmSe2XqrBj4w32RUN966rdz8";
    const TRON_HEX: &str = "0x3487b63d30b5b2c87fb7ffa8bcfade38eaac1abe";
    let w = World::start(no_sim_limits(), |c| {
        c.monitor.chains = vec!["ethereum".into(), "tron".into()];
    })
    .await;
    let u = 1003;
    w.ask(u, "/start").await;

    let r = w
        .ask(u, "/add TEkxiTehnzSmSe2XqrBj4w32RUN966rdz9 Shop")
        .await;
    assert!(r.contains("checksum does not match"), "{r}");
    let r = w.ask(u, &format!("/add {A1} tron")).await;
    assert!(r.contains("T… form"), "{r}");
    assert!(subscriptions(&w, u).await.is_empty(), "nothing stored");

    let r = w.ask(u, &format!("/add {TRON} Shop")).await;
    assert!(r.contains("Now watching") && r.contains(TRON), "{r}");
    assert!(r.contains("Tron") && !r.contains("Ethereum"), "{r}");
    assert!(r.contains("every USDT transfer"), "{r}");
    let r = w.ask(u, &format!("/add {A1}")).await;
    assert!(r.contains("Ethereum") && !r.contains("Tron"), "{r}");
    assert_eq!(
        subscriptions(&w, u).await,
        vec![
            (728_126_428, TRON_HEX.into(), Some("Shop".into())),
            (1, A1.to_lowercase(), None),
        ]
    );

    let r = w.ask(u, "/list").await;
    assert!(r.contains(&format!("<code>{TRON}</code> — Tron")), "{r}");
    assert!(r.contains(A1) && !r.contains(TRON_HEX), "{r}");

    let r = w.ask(u, &format!("/remove {TRON}")).await;
    assert!(r.contains("Stopped watching") && r.contains(TRON), "{r}");
    assert_eq!(
        subscriptions(&w, u).await,
        vec![(1, A1.to_lowercase(), None)]
    );
    w.stop().await;
}

#[actix_rt::test]
async fn the_command_limit_refuses_politely_once_per_window() {
    let w = World::start(no_sim_limits(), |c| c.telegram.command_limit = 3).await;
    let u = 1002;
    let mut last = 0;
    for _ in 0..7 {
        last = w.sim.user_says(u, "/help");
    }
    w.until_updates_handled(last).await;
    // Replies go out after their commands are handled (see `outgoing`).
    let _ = w.sim.wait_for(WAIT, |all| count_to(all, u) >= 4).await;
    let sent = w.sim.sent_to(u);
    assert_eq!(sent.len(), 4, "three answers and one refusal");
    assert!(
        sent[3].text.contains("at most 3 commands per 1m"),
        "{}",
        sent[3].text
    );
    // Admins are not limited.
    for _ in 0..5 {
        last = w.sim.user_says(ADMIN, "/help");
    }
    w.until_updates_handled(last).await;
    let _ = w.sim.wait_for(WAIT, |all| count_to(all, ADMIN) >= 5).await;
    assert_eq!(w.sim.sent_to(ADMIN).len(), 5);
    assert_eq!(w.sim.sent_to(u).len(), 4, "no more than one refusal");
    w.stop().await;
}

#[actix_rt::test]
async fn admin_commands_and_status_during_a_restart() {
    let w = World::start(no_sim_limits(), |c| {
        // Keep a crashed actor down long enough to see it restarting.
        c.supervisor.backoff_min = Duration::from_secs(3);
        c.supervisor.backoff_max = Duration::from_secs(3);
    })
    .await;
    let r = w.ask(ADMIN, "/status").await;
    for needle in [
        "db: running",
        "etherscan: running",
        "telegram: running",
        "ticker: running",
        "Outbox</b>: 0 pending",
        "Ticker</b>: paused",
        "open descriptors",
        "MiB resident",
    ] {
        assert!(r.contains(needle), "{needle} in {r}");
    }
    let r = w.ask(ADMIN, "/resume").await;
    assert!(r.contains("resumed"), "{r}");
    assert!(!w.shared.paused.load(std::sync::atomic::Ordering::SeqCst));
    let r = w.ask(ADMIN, "/pause").await;
    assert!(r.contains("paused"), "{r}");
    assert!(w.shared.paused.load(std::sync::atomic::Ordering::SeqCst));

    let r = w.ask(ADMIN, "/stats").await;
    assert!(
        r.contains("Chats:") && r.contains("Etherscan: 0 calls"),
        "{r}"
    );
    let r = w.ask(ADMIN, "/restart kernel").await;
    assert!(
        r.contains("no actor named") && r.contains("/restart &lt;db|"),
        "{r}"
    );

    // The scanner crashes and stays down for its 3 s backoff: /status
    // answers meanwhile, and says so.
    let r = w.ask(ADMIN, "/panic etherscan").await;
    assert!(r.contains("Panic injected into etherscan"), "{r}");
    let asked = Instant::now();
    let r = w.ask(ADMIN, "/status").await;
    assert!(asked.elapsed() < Duration::from_secs(3), "answered at once");
    assert!(r.contains("etherscan: restarting, restarts 1"), "{r}");
    assert!(r.contains("fault injection"), "{r}");

    // The database pool down too: /status still answers within the call
    // timeout (the outbox depth then reads "unavailable").
    let r = w.ask(ADMIN, "/panic db").await;
    assert!(r.contains("Panic injected into db"), "{r}");
    let asked = Instant::now();
    let r = w.ask(ADMIN, "/status").await;
    assert!(asked.elapsed() < Duration::from_secs(5), "bounded");
    assert!(r.contains("db: restarting"), "{r}");
    // Either the surviving worker answered or the call gave up in time.
    assert!(r.contains("Outbox</b>: "), "{r}");

    let r = w.ask(ADMIN, "/restart ticker").await;
    assert!(r.contains("Restarting ticker"), "{r}");
    until(WAIT, "every actor running", || async {
        w.status()
            .await
            .children
            .iter()
            .all(|c| c.state == ChildState::Running)
    })
    .await;
    w.stop().await;
}

#[actix_rt::test]
async fn panic_is_refused_without_fault_injection() {
    let w = World::start(no_sim_limits(), |c| c.supervisor.fault_injection = false).await;
    for actor in ["db", "telegram"] {
        let r = w.ask(ADMIN, &format!("/panic {actor}")).await;
        assert!(r.contains("Refused: fault injection is disabled"), "{r}");
    }
    assert!(w.status().await.children.iter().all(|c| c.restarts == 0));
    w.stop().await;
}

#[actix_rt::test]
async fn a_panic_of_each_actor_is_followed_by_a_delivered_notification() {
    let w = World::start(no_sim_limits(), |_| {}).await;
    let chat = 2001;
    w.subscribe(chat, A1, None).await;
    for (i, actor) in ["db", "etherscan", "ticker", "telegram"]
        .into_iter()
        .enumerate()
    {
        let r = w.ask(ADMIN, &format!("/panic {actor}")).await;
        assert!(r.contains("anic"), "{r}");
        until(WAIT, "restarted", || async {
            let s = w.status().await;
            let c = s.children.iter().find(|c| c.name == actor).unwrap();
            c.restarts == 1 && c.state == ChildState::Running
        })
        .await;
        assert_eq!(
            w.record(vec![transfer(i as u64, SENDER, A1, 1_000_000)])
                .await,
            1
        );
        w.sim
            .wait_for(WAIT, |all| count_to(all, chat) == i + 1)
            .await
            .unwrap_or_else(|_| panic!("notification after /panic {actor}"));
    }
    // The /panic telegram command was not replayed after the restart.
    let s = w.status().await;
    let tg = s.children.iter().find(|c| c.name == "telegram").unwrap();
    assert_eq!(tg.restarts, 1);
    until(WAIT, "all marked", || async {
        w.stats().await.notifications_pending == 0
    })
    .await;
    w.stop().await;
}

#[actix_rt::test]
async fn notifications_exactly_once_across_actor_and_daemon_restarts() {
    let w = World::start(no_sim_limits(), |_| {}).await;
    let (a, b) = (3001, 3002);
    w.subscribe(a, A1, Some("Savings <b>")).await;
    w.subscribe(b, SENDER, None).await;

    assert_eq!(
        w.record(vec![transfer(0, SENDER, A1, 1_234_567_890)]).await,
        2
    );
    let all = w
        .sim
        .wait_for(WAIT, |all| count_to(all, a) == 1 && count_to(all, b) == 1)
        .await
        .expect("both subscribers notified");
    let to_a = all.iter().find(|m| m.chat_id == a).unwrap();
    assert_eq!(to_a.text, SNAPSHOT);
    assert_eq!(to_a.parse_mode.as_deref(), Some("HTML"));
    assert!(to_a.link_preview_disabled);
    let to_b = all.iter().find(|m| m.chat_id == b).unwrap();
    assert!(
        to_b.text.starts_with("⬆️ <b>Outgoing 1,234.56789 USDT</b>"),
        "{}",
        to_b.text
    );

    // Restart the TelegramActor alone.
    w.tree
        .addr
        .send(RestartChild("telegram".into()))
        .await
        .unwrap()
        .unwrap();
    until(WAIT, "telegram restarted", || async {
        let s = w.status().await;
        let c = s.children.iter().find(|c| c.name == "telegram").unwrap();
        c.restarts == 1 && c.state == ChildState::Running
    })
    .await;
    w.record(vec![transfer(1, SENDER, A1, 2_000_000)]).await;
    w.sim
        .wait_for(WAIT, |all| count_to(all, a) == 2 && count_to(all, b) == 2)
        .await
        .expect("delivered after the actor's restart");
    // A command before the daemon restart is answered once, never again.
    let r = w.ask(a, "/list").await;
    assert!(r.contains("Savings &lt;b&gt;"), "{r}");

    // Stop the whole daemon; queue a transfer while it is down (straight
    // into the file), and start a new daemon on the same file.
    let (sim, db_path, dir) = w.stop().await;
    let settings = usdt_monitor::db::DbSettings {
        path: db_path.clone(),
        busy_timeout: Duration::from_secs(5),
        max_size: None,
    };
    let queued = usdt_monitor::db::connection::with_transaction(&settings, true, |tx| {
        RecordPollResult::without_spam_checks(1, vec![transfer(2, SENDER, A1, 3_000_000)], vec![])
            .run(tx)
    })
    .unwrap();
    assert_eq!(queued.notifications, 2);
    let mut w = World::on(sim, db_path, |_| {});
    w._dir = dir;
    w.sim
        .wait_for(WAIT, |all| count_to(all, a) == 4 && count_to(all, b) == 3)
        .await
        .expect("queued while down, delivered after the start");
    w.record(vec![transfer(3, SENDER, A1, 4_000_000)]).await;
    let all = w
        .sim
        .wait_for(WAIT, |all| count_to(all, a) == 5 && count_to(all, b) == 4)
        .await
        .expect("delivered by the new daemon");

    // Exactly once: no text twice to a chat; the /list was not replayed.
    for chat in [a, b] {
        let texts: Vec<&str> = all
            .iter()
            .filter(|m| m.chat_id == chat)
            .map(|m| m.text.as_str())
            .collect();
        let mut unique = texts.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), texts.len(), "{texts:?}");
    }
    let last = w.sim.user_says(a, "/spam");
    w.until_updates_handled(last).await;
    w.sim
        .wait_for(WAIT, |all| count_to(all, a) == 6)
        .await
        .unwrap();
    let s = w.stats().await;
    assert_eq!((s.notifications_sent, s.notifications_pending), (8, 0));
    w.stop().await;
}

#[actix_rt::test]
async fn a_429_pauses_sending_for_retry_after_and_the_message_is_resent() {
    let opts = SimBotOptions {
        per_chat_per_sec: 1.0,
        global_per_sec: 0.0,
        retry_after_secs: 2,
        ..SimBotOptions::default()
    };
    // Our own per-chat spacing is short on purpose, to provoke the 429.
    let w = World::start(opts, |_| {}).await;
    let chat = 4001;
    w.subscribe(chat, A1, None).await;
    let transfers = (0..6)
        .map(|i| transfer(i, SENDER, A1, 1 + i as u128))
        .collect();
    assert_eq!(w.record(transfers).await, 6);
    let all = w
        .sim
        .wait_for(Duration::from_secs(30), |all| count_to(all, chat) == 6)
        .await
        .expect("all six delivered");
    assert!(w.sim.rejected_429() >= 1);
    let counter = &w.shared.counters.telegram_429;
    assert_eq!(
        usdt_monitor::metrics::Counters::get(counter),
        w.sim.rejected_429()
    );
    // The burst of 3 passed; the 4th was refused right after the 3rd and
    // not sent again before retry_after (2 s) had passed.
    let gap = all[3].at.duration_since(all[2].at);
    assert!(gap >= Duration::from_secs(2), "resent after {gap:?}");
    let amounts: Vec<&str> = all.iter().map(|m| m.text.lines().next().unwrap()).collect();
    assert!(
        amounts[0].contains("0.000001") && amounts[5].contains("0.000006"),
        "{amounts:?}"
    );
    until(WAIT, "all marked sent", || async {
        w.stats().await.notifications_sent == 6
    })
    .await;
    w.stop().await;
}

#[actix_rt::test]
async fn blocked_chats_are_skipped_until_they_come_back() {
    let w = World::start(no_sim_limits(), |_| {}).await;
    let (c, d, e) = (5001, 5002, 5003);
    w.subscribe(c, A1, None).await;
    w.subscribe(d, A2, None).await;
    w.subscribe(e, A3, None).await;

    // 403: the chat is marked inactive; the notification stays pending.
    w.sim.block_chat(c, true);
    assert_eq!(w.record(vec![transfer(0, SENDER, A1, 5)]).await, 1);
    until(WAIT, "chat inactive", || async {
        w.stats().await.chats_inactive == 1
    })
    .await;
    let s = w.stats().await;
    assert_eq!((s.notifications_pending, s.notifications_sent), (1, 0));
    // Nothing is tried while it is inactive.
    let attempts = w.sim.calls("sendMessage");
    w.record(vec![transfer(1, SENDER, A2, 6)]).await;
    w.sim
        .wait_for(WAIT, |all| count_to(all, d) == 1)
        .await
        .unwrap();
    assert_eq!(w.sim.calls("sendMessage"), attempts + 1);
    assert!(w.sim.sent_to(c).is_empty());

    // /start reactivates; the pending notification then arrives.
    w.sim.block_chat(c, false);
    w.sim.user_says(c, "/start");
    let all = w
        .sim
        .wait_for(WAIT, |all| count_to(all, c) == 2)
        .await
        .expect("greeting and the held notification");
    let texts: Vec<&str> = all
        .iter()
        .filter(|m| m.chat_id == c)
        .map(|m| m.text.as_str())
        .collect();
    assert!(
        texts.iter().any(|t| t.contains("Welcome back")),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t.contains("0.000005 USDT")),
        "{texts:?}"
    );

    // my_chat_member: kicked → inactive, member → active again.
    let last = w.sim.chat_member(d, "kicked");
    w.until_updates_handled(last).await;
    until(WAIT, "kicked", || async {
        w.stats().await.chats_inactive == 1
    })
    .await;
    let last = w.sim.chat_member(d, "member");
    w.until_updates_handled(last).await;
    until(WAIT, "member", || async {
        w.stats().await.chats_inactive == 0
    })
    .await;

    // A 400 about the message itself ("too long"): failed with the
    // reason, never retried unchanged.
    w.sim.fail_chat(e, Some("Bad Request: message is too long"));
    w.record(vec![transfer(2, SENDER, A3, 7)]).await;
    until(WAIT, "failed", || async {
        w.stats().await.notifications_failed == 1
    })
    .await;
    let attempts = w.sim.calls("sendMessage");
    w.record(vec![transfer(3, SENDER, A2, 8)]).await;
    w.sim
        .wait_for(WAIT, |all| count_to(all, d) == 2)
        .await
        .unwrap();
    assert_eq!(
        w.sim.calls("sendMessage"),
        attempts + 1,
        "the failed one is not retried"
    );
    assert_eq!(
        usdt_monitor::metrics::Counters::get(&w.shared.counters.notifications_failed),
        1
    );
    w.stop().await;
}

#[actix_rt::test]
async fn admins_hear_of_an_alert_once() {
    let w = World::start(no_sim_limits(), |_| {}).await;
    w.ask(ADMIN, "/start").await;
    w.shared
        .alerts
        .raise("test:key", "The <API key> was rejected");
    w.shared
        .alerts
        .raise("test:key", "The <API key> was rejected");
    let all = w
        .sim
        .wait_for(WAIT, |all| count_to(all, ADMIN) == 2)
        .await
        .expect("alert delivered");
    let alert = &all.iter().rfind(|m| m.chat_id == ADMIN).unwrap().text;
    assert!(
        alert.contains("The &lt;API key&gt; was rejected"),
        "{alert}"
    );
    let r = w.ask(ADMIN, "/help").await;
    assert!(r.contains("/status"), "{r}");
    assert_eq!(count_to(&w.sim.sent(), ADMIN), 3, "the alert came once");
    w.stop().await;
}

/// 2 000 notifications to 200 chats at send_rate 25 with Telegram-like
/// limits on: no 429 at all, and the time send_rate allows (80 s) ±10 %.
#[actix_rt::test]
async fn flood_limits_2000_notifications_to_200_chats_without_a_429() {
    let w = World::start(SimBotOptions::default(), |c| {
        c.telegram.send_rate = 25;
        c.telegram.per_chat_interval = Duration::from_secs(1);
    })
    .await;
    let chats: Vec<i64> = (0..200).map(|i| 10_000 + i).collect();
    let address = |i: usize| format!("0x{:040x}", 0xabc000 + i);
    for (i, chat) in chats.iter().enumerate() {
        w.subscribe(*chat, &address(i), None).await;
    }
    let mut transfers = Vec::new();
    for round in 0..10u64 {
        for i in 0..200 {
            transfers.push(transfer(
                round * 1000 + i as u64,
                SENDER,
                &address(i),
                1 + round as u128,
            ));
        }
    }
    let started = Instant::now();
    assert_eq!(w.record(transfers).await, 2000);
    let all = w
        .sim
        .wait_for(Duration::from_secs(120), |all| all.len() >= 2000)
        .await
        .expect("all delivered");
    let elapsed = started.elapsed();
    assert_eq!(w.sim.rejected_429(), 0, "no 429");
    for chat in &chats {
        assert_eq!(count_to(&all, *chat), 10);
    }
    let ideal = Duration::from_secs(80);
    eprintln!("2000 notifications in {elapsed:?} (ideal {ideal:?})");
    assert!(
        elapsed >= ideal.mul_f64(0.9) && elapsed <= ideal.mul_f64(1.1),
        "{elapsed:?}"
    );
    w.stop().await;
}

/// One outbox row as a test reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    id: i64,
    state: String,
    attempts: i64,
    lost_answers: i64,
    /// Seconds from now until the next attempt is due (negative: due).
    due_in: i64,
}

/// The outbox rows of one chat, oldest first.
struct OutboxOf(i64);

impl DbRequest for OutboxOf {
    type Output = Vec<Row>;
    const WRITES: bool = false;
    fn run(self, tx: &rusqlite::Transaction<'_>) -> Result<Vec<Row>, DbError> {
        let now = usdt_monitor::db::now_secs();
        let mut stmt = tx.prepare(
            "SELECT id, state, attempts, lost_answers, next_attempt_at - ?2 FROM outbox
             WHERE chat_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([self.0, now], |r| {
            Ok(Row {
                id: r.get(0)?,
                state: r.get(1)?,
                attempts: r.get(2)?,
                lost_answers: r.get(3)?,
                due_in: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// Makes every pending row of a chat due now (instead of waiting out a
/// backoff of minutes).
struct DueNow(i64);

impl DbRequest for DueNow {
    type Output = ();
    fn run(self, tx: &rusqlite::Transaction<'_>) -> Result<(), DbError> {
        tx.execute(
            "UPDATE outbox SET next_attempt_at = 0 WHERE chat_id = ?1 AND state = 'pending'",
            [self.0],
        )?;
        Ok(())
    }
}

impl World {
    async fn outbox(&self, chat: i64) -> Vec<Row> {
        self.shared.db.exec(OutboxOf(chat)).await.unwrap()
    }

    /// Waits for an admin alert containing `needle`; returns its text.
    async fn wait_alert(&self, needle: &str) -> String {
        let all = self
            .sim
            .wait_for(WAIT, |all| {
                all.iter()
                    .any(|m| m.chat_id == ADMIN && m.text.contains(needle))
            })
            .await
            .unwrap_or_else(|_| panic!("no alert about {needle:?}"));
        all.into_iter()
            .find(|m| m.chat_id == ADMIN && m.text.contains(needle))
            .map(|m| m.text)
            .unwrap_or_default()
    }

    async fn due_now(&self, chat: i64) {
        self.shared.db.exec(DueNow(chat)).await.unwrap();
        self.shared.outbox_ready.notify_one();
    }
}

/// The kind `ambiguous_send`: Telegram stores every `sendMessage` but its
/// answer comes after the client's timeout, four times in a row. The
/// subscriber gets at most two copies; the row is then held as uncertain,
/// never sent again, and `/status` and `/stats` say so.
#[actix_rt::test]
async fn ambiguous_send_is_retried_once_then_held_as_uncertain() {
    let w = World::start(no_sim_limits(), |c| {
        c.telegram.send_timeout = Duration::from_millis(500);
    })
    .await;
    let chat = 6001;
    w.subscribe(chat, A1, None).await;
    w.sim.set_answer_after_timeout(4, Duration::from_secs(60));
    assert_eq!(w.record(vec![transfer(0, SENDER, A1, 1_000_000)]).await, 1);
    until(WAIT, "held as uncertain", || async {
        w.stats().await.notifications_uncertain == 1
    })
    .await;
    let rows = w.outbox(chat).await;
    assert_eq!(
        (
            rows[0].state.as_str(),
            rows[0].attempts,
            rows[0].lost_answers
        ),
        ("uncertain", 2, 2),
        "{rows:?}"
    );
    let copies = w
        .sim
        .sent_to(chat)
        .iter()
        .filter(|m| m.text.contains("1 USDT"))
        .count();
    assert_eq!(copies, 2, "at most two copies");

    // Shown to the admin (the two replies below may meet the last two
    // late answers: they are recorded all the same).
    let r = w.ask(ADMIN, "/status").await;
    assert!(r.contains("Outbox</b>: 0 pending, 1 uncertain"), "{r}");
    let r = w.ask(ADMIN, "/stats").await;
    assert!(r.contains("0 pending, 1 uncertain"), "{r}");

    // The late answers used up, the next notification goes once.
    until(WAIT, "late answers used up", || async {
        w.sim.calls("sendMessage") >= 4
    })
    .await;
    w.record(vec![transfer(1, SENDER, A1, 2_000_000)]).await;
    w.sim
        .wait_for(WAIT, |all| {
            all.iter()
                .any(|m| m.chat_id == chat && m.text.contains("2 USDT"))
        })
        .await
        .expect("delivered");
    until(WAIT, "marked sent", || async {
        w.stats().await.notifications_sent == 1
    })
    .await;
    assert_eq!(w.stats().await.notifications_uncertain, 1);
    w.stop().await;
}

/// The kind `4xx_classification`, chat-level answers: 400 "chat not
/// found" (or any 403, or a migrated group) deactivates the chat once; its
/// other rows are not tried and not failed, and wait for `/start`, which
/// finds the subscriptions still there. Another chat is not held up.
#[actix_rt::test]
async fn chat_level_4xx_deactivates_the_chat_once_and_its_rows_wait() {
    let w = World::start(no_sim_limits(), |_| {}).await;
    let (bad, good, gone) = (7001, 7002, 7003);
    w.subscribe(bad, A1, None).await;
    w.subscribe(good, A2, None).await;
    w.subscribe(gone, A3, None).await;
    w.sim.fail_chat_with(bad, Some(ChatFault::chat_not_found()));
    w.sim
        .fail_chat_with(gone, Some(ChatFault::user_deactivated()));
    let transfers = (0..3)
        .flat_map(|i| {
            [
                transfer(i * 3, SENDER, A1, 1 + i as u128),
                transfer(i * 3 + 1, SENDER, A2, 1 + i as u128),
                transfer(i * 3 + 2, SENDER, A3, 1 + i as u128),
            ]
        })
        .collect();
    assert_eq!(w.record(transfers).await, 9);
    w.sim
        .wait_for(WAIT, |all| count_to(all, good) == 3)
        .await
        .expect("the good chat is not held up");
    until(WAIT, "both chats inactive", || async {
        w.stats().await.chats_inactive == 2
    })
    .await;
    for chat in [bad, gone] {
        let rows = w.outbox(chat).await;
        let attempts: Vec<i64> = rows.iter().map(|r| r.attempts).collect();
        // The one try per chat (counted below) left its row untouched: a
        // chat-level answer uses up none of the row's retry limits.
        assert_eq!(attempts, [0, 0, 0], "{rows:?}");
        assert!(rows.iter().all(|r| r.state == "pending"), "{rows:?}");
    }
    assert_eq!(w.sim.calls("sendMessage"), 3 + 2, "nothing else was tried");
    until(WAIT, "the good chat's rows marked", || async {
        w.stats().await.notifications_sent == 3
    })
    .await;
    let s = w.stats().await;
    assert_eq!((s.notifications_failed, s.notifications_pending), (0, 6));

    // The user comes back: subscriptions kept, the three arrive in order.
    w.sim.fail_chat(bad, None);
    let r = w.ask(bad, "/start").await;
    assert!(r.contains("Welcome back"), "{r}");
    let all = w
        .sim
        .wait_for(WAIT, |all| count_to(all, bad) == 4)
        .await
        .expect("the waiting rows delivered");
    let amounts: Vec<&str> = all
        .iter()
        .filter(|m| m.chat_id == bad && m.text.contains("Incoming"))
        .map(|m| m.text.lines().next().unwrap())
        .collect();
    assert_eq!(amounts.len(), 3);
    assert!(amounts[0].contains("0.000001") && amounts[2].contains("0.000003"));
    assert_eq!(subscriptions(&w, bad).await.len(), 1);
    w.stop().await;
}

/// The kind `4xx_classification`, a rights problem: 400 "not enough
/// rights to send text messages" postpones the chat's rows with a long
/// backoff (one call, not one per row), tells the admins, and never fails
/// the row at the first answer; once Telegram accepts again, all arrive.
#[actix_rt::test]
async fn rights_problem_is_retried_later_and_reported() {
    let w = World::start(no_sim_limits(), |_| {}).await;
    w.ask(ADMIN, "/start").await;
    let (chat, other) = (8001, 8002);
    w.subscribe(chat, A1, None).await;
    w.subscribe(other, A2, None).await;
    w.sim
        .fail_chat_with(chat, Some(ChatFault::not_enough_rights()));
    let calls = w.sim.calls("sendMessage");
    w.record(vec![
        transfer(0, SENDER, A1, 1),
        transfer(1, SENDER, A1, 2),
        transfer(2, SENDER, A2, 3),
    ])
    .await;
    let alert = w.wait_alert("not enough rights").await;
    assert!(alert.contains(&chat.to_string()), "{alert}");
    w.sim
        .wait_for(WAIT, |all| count_to(all, other) == 1)
        .await
        .expect("the other chat is not held up");
    let rows = w.outbox(chat).await;
    assert!(rows.iter().all(|r| r.state == "pending"), "{rows:?}");
    assert!(
        rows.iter().all(|r| r.due_in >= 500),
        "long backoff: {rows:?}"
    );
    // One call for the chat, one for the other, one for the alert.
    assert_eq!(w.sim.calls("sendMessage"), calls + 3);
    let r = w.ask(ADMIN, "/status").await;
    assert!(r.contains("not enough rights"), "{r}");

    // Rights back; the backoff passes (made due here): both arrive, in
    // order, and the alert is over.
    w.sim.fail_chat(chat, None);
    w.due_now(chat).await;
    let all = w
        .sim
        .wait_for(WAIT, |all| count_to(all, chat) == 2)
        .await
        .expect("delivered after the backoff");
    let texts: Vec<&str> = all
        .iter()
        .filter(|m| m.chat_id == chat)
        .map(|m| m.text.as_str())
        .collect();
    assert!(texts[0].contains("0.000001") && texts[1].contains("0.000002"));
    until(WAIT, "alert resolved", || async {
        w.shared.alerts.active_alerts().is_empty()
    })
    .await;
    w.stop().await;
}

/// The kind `4xx_classification`, an unknown 400: tried a bounded number
/// of times, then dead-lettered (failed), without touching the chat.
#[actix_rt::test]
async fn unknown_400_is_dead_lettered_after_bounded_tries() {
    let w = World::start(no_sim_limits(), |_| {}).await;
    let chat = 9001;
    w.subscribe(chat, A1, None).await;
    w.sim
        .fail_chat(chat, Some("Bad Request: something nobody has seen before"));
    w.record(vec![transfer(0, SENDER, A1, 1)]).await;
    let mut tries = 0;
    loop {
        tries += 1;
        until(WAIT, "tried", || async {
            w.outbox(chat).await[0].attempts == tries
        })
        .await;
        let row = w.outbox(chat).await.remove(0);
        if row.state != "pending" {
            assert_eq!(row.state, "failed", "{row:?}");
            break;
        }
        assert!(tries < 10, "bounded: {row:?}");
        w.due_now(chat).await;
    }
    assert_eq!(tries, 3);
    let s = w.stats().await;
    assert_eq!((s.notifications_failed, s.chats_inactive), (1, 0));
    w.stop().await;
}

/// The kind `shared_retry_counter`: each retry limit counts only its own
/// kind of failure. A row that already failed many times for passing
/// reasons (5xx, connect errors: set here as its history) is not
/// dead-lettered at its first "not enough rights" answer, nor at its
/// first unknown 400.
#[actix_rt::test]
async fn earlier_transient_failures_do_not_use_up_the_refusal_limits() {
    let w = World::start(no_sim_limits(), |_| {}).await;
    let chat = 9051;
    w.subscribe(chat, A1, None).await;
    w.sim
        .fail_chat_with(chat, Some(ChatFault::not_enough_rights()));
    w.record(vec![transfer(0, SENDER, A1, 1)]).await;
    until(WAIT, "tried once", || async {
        w.outbox(chat).await[0].attempts == 1
    })
    .await;
    // As if the row had failed 40 times on 5xx and connect errors.
    w.shared.db.exec(AddAttempts(chat, 40)).await.unwrap();
    // Each answer in turn: the row is tried once more and stays pending.
    let unknown_400 = ChatFault::bad_request("Bad Request: something nobody has seen before");
    for (attempts, fault) in [(42, ChatFault::not_enough_rights()), (43, unknown_400)] {
        w.sim.fail_chat_with(chat, Some(fault));
        w.due_now(chat).await;
        until(WAIT, "tried again", || async {
            w.outbox(chat).await[0].attempts == attempts
        })
        .await;
        let row = w.outbox(chat).await.remove(0);
        assert_eq!(row.state, "pending", "not dead-lettered: {row:?}");
    }
    assert_eq!(w.stats().await.notifications_failed, 0);

    w.sim.fail_chat(chat, None);
    w.due_now(chat).await;
    w.sim
        .wait_for(WAIT, |all| count_to(all, chat) == 1)
        .await
        .expect("delivered once Telegram accepts it");
    w.stop().await;
}

/// Adds passing failures to the history of a chat's pending rows.
struct AddAttempts(i64, i64);

impl DbRequest for AddAttempts {
    type Output = ();
    fn run(self, tx: &rusqlite::Transaction<'_>) -> Result<(), DbError> {
        tx.execute(
            "UPDATE outbox SET attempts = attempts + ?2 WHERE chat_id = ?1 AND state = 'pending'",
            [self.0, self.1],
        )?;
        Ok(())
    }
}

/// The kind `long_reply`: `/list` of 50 addresses with 32-character
/// labels is longer than one message; it arrives whole, in parts, each
/// under Telegram's limit (the simulator refuses longer ones like the real
/// Bot API).
#[actix_rt::test]
async fn long_reply_list_of_50_arrives_whole_in_parts() {
    let w = World::start(no_sim_limits(), |c| {
        c.monitor.max_addresses_per_user = 50;
    })
    .await;
    let chat = 9101;
    let address = |i: usize| format!("0x{:040x}", 0xfeed_0000 + i);
    let label = |i: usize| format!("Label {i:02} {}", "x".repeat(23));
    assert_eq!(label(7).chars().count(), 32);
    for i in 0..50 {
        w.subscribe(chat, &address(i), Some(&label(i))).await;
    }
    w.sim.user_says(chat, "/list");
    let complete = |all: &[SentMessage]| {
        let text: String = all
            .iter()
            .filter(|m| m.chat_id == chat)
            .map(|m| m.text.as_str())
            .collect();
        (0..50).all(|i| text.contains(&label(i)))
    };
    let all = w
        .sim
        .wait_for(WAIT, complete)
        .await
        .expect("every address listed");
    let parts: Vec<&SentMessage> = all.iter().filter(|m| m.chat_id == chat).collect();
    assert!(parts.len() >= 2, "in parts");
    assert!(
        parts[0]
            .text
            .starts_with("<b>Watched addresses</b> (50 of 50)")
    );
    for p in &parts {
        assert!(p.text.encode_utf16().count() <= 4096);
        assert_eq!(p.parse_mode.as_deref(), Some("HTML"));
    }
    // Remove and Mute buttons for every address, under the last part.
    let (last, rest) = parts.split_last().unwrap();
    assert_eq!(last.callback_data().len(), 100);
    assert!(rest.iter().all(|p| p.reply_markup.is_none()));
    for i in 0..50 {
        let checksummed = Address::parse(&address(i)).unwrap().checksummed();
        let n = parts
            .iter()
            .filter(|p| p.text.contains(&checksummed))
            .count();
        assert_eq!(n, 1, "address {i} once");
    }
    w.stop().await;
}

/// The kind `long_reply`, and `lookalike_display`: `/spam 50` lists all
/// fifty held-back look-alike transfers, in parts, each showing the
/// look-alike and the address it imitates in full with the difference
/// marked.
#[actix_rt::test]
async fn long_reply_spam_50_arrives_whole_in_parts_with_marked_lookalikes() {
    let w = World::start(no_sim_limits(), |_| {}).await;
    let chat = 9201;
    w.subscribe(chat, A1, None).await;
    // A real payment makes SENDER a known counterparty ...
    w.record(vec![transfer(0, SENDER, A1, 5_000_000)]).await;
    // ... and fifty zero-value transfers from its look-alike are held.
    const FAKE: &str = "0x1111000000000000000000000000000000001111";
    let poison = (1..=50).map(|i| transfer(i, FAKE, A1, 0)).collect();
    assert_eq!(w.record(poison).await, 0, "all held back");
    w.sim.user_says(chat, "/spam 50");
    let complete = |all: &[SentMessage]| {
        all.iter()
            .any(|m| m.chat_id == chat && m.text.contains("50 flagged"))
    };
    let all = w.sim.wait_for(WAIT, complete).await.expect("listed");
    let parts: Vec<&str> = all
        .iter()
        .filter(|m| m.chat_id == chat && !m.text.contains("Incoming"))
        .map(|m| m.text.as_str())
        .collect();
    assert!(parts.len() >= 2, "in parts: {parts:?}");
    assert!(parts[0].starts_with("🛡 <b>Flagged transfers</b>"));
    let text = parts.join("\n");
    for i in 1..=50 {
        assert!(text.contains(&format!("\n{i}. <b>0 USDT</b>")), "row {i}");
    }
    let fake = "0x1111<b><u>00000000000000000000000000000000</u></b>1111";
    let real = "0x1111<b><u>11111111111111111111111111111111</u></b>1111";
    assert_eq!(
        text.matches(&format!("From: {fake} (look-alike)")).count(),
        50
    );
    assert_eq!(text.matches(&format!("Imitates: {real}")).count(), 50);
    assert!(!text.contains("0x1111…1111 →"), "never abbreviated");
}

/// Issue 9 fault 4 / issue 13: a paused provider is one `/status` line
/// saying until when and why (the pause itself is tested against the
/// simulated Etherscan in tests/etherscan.rs).
#[actix_rt::test]
async fn status_shows_a_paused_provider() {
    let w = World::start(no_sim_limits(), |_| {}).await;
    let now = std::time::SystemTime::now();
    w.shared.pauses.pause(usdt_monitor::metrics::ProviderPause {
        provider: "Etherscan",
        reason: "daily cap reached".into(),
        until: Some(usdt_monitor::metrics::next_utc_midnight(now)),
        next_probe: now + Duration::from_secs(600),
        alert_key: "etherscan:daily-cap".into(),
    });
    let r = w.ask(ADMIN, "/status").await;
    assert!(
        r.contains("Etherscan paused: daily cap reached, resumes ~00:00 UTC; next probe in"),
        "{r}"
    );
    w.shared.pauses.lift("Etherscan");
    let r = w.ask(ADMIN, "/status").await;
    assert!(!r.contains("paused: daily cap"), "{r}");
    w.stop().await;
}

/// The kind `connect_error`: nothing listens at the Bot API address
/// (connection refused), so nothing was sent: the row is retried as often
/// as it takes, never counted as a lost answer, never held as uncertain,
/// and delivered once when the Bot API is back.
#[actix_rt::test]
async fn connect_error_is_retried_freely_never_uncertain() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let w = World::start(no_sim_limits(), |c| c.telegram.api_url = url).await;
    let chat = 6101;
    w.subscribe(chat, A1, None).await;
    w.record(vec![transfer(0, SENDER, A1, 1_000_000)]).await;
    for tries in 1..=4 {
        until(WAIT, "tried", || async {
            w.outbox(chat).await[0].attempts >= tries
        })
        .await;
        w.due_now(chat).await;
    }
    let row = w.outbox(chat).await.remove(0);
    assert_eq!(
        (row.state.as_str(), row.lost_answers),
        ("pending", 0),
        "{row:?}"
    );
    assert_eq!(w.stats().await.notifications_uncertain, 0);

    let back = SimBotApi::start_on(no_sim_limits(), port).await.unwrap();
    w.due_now(chat).await;
    until(WAIT, "marked sent", || async {
        w.stats().await.notifications_sent == 1
    })
    .await;
    assert_eq!(back.sent_to(chat).len(), 1, "delivered once");
    w.stop().await;
    back.stop().await;
}

/// The kind `ambiguous_send` meeting a flood limit: a 429 during the one
/// retry after a lost answer sent nothing, so the retry stays owed, and
/// the lost answer stays counted: a second lost answer makes the row
/// uncertain with two copies at most.
#[actix_rt::test]
async fn a_429_during_the_retry_of_an_ambiguous_send_keeps_the_bound() {
    let w = World::start(no_sim_limits(), |c| {
        c.telegram.send_timeout = Duration::from_millis(500);
    })
    .await;
    let chat = 6201;
    w.subscribe(chat, A1, None).await;
    w.sim.set_answer_after_timeout(1, Duration::from_secs(60));
    w.record(vec![transfer(0, SENDER, A1, 1_000_000)]).await;
    until(WAIT, "first answer lost", || async {
        w.outbox(chat).await[0].lost_answers == 1
    })
    .await;
    w.sim
        .fail_chat_with(chat, Some(ChatFault::too_many_requests(1)));
    w.due_now(chat).await;
    until(WAIT, "the retry met 429s", || async {
        w.outbox(chat).await[0].attempts == 2
    })
    .await;
    let row = w.outbox(chat).await.remove(0);
    assert_eq!(
        (row.state.as_str(), row.lost_answers),
        ("pending", 1),
        "{row:?}"
    );
    assert_eq!(w.sim.sent_to(chat).len(), 1);

    w.sim.fail_chat_with(chat, None);
    w.sim.set_answer_after_timeout(1, Duration::from_secs(60));
    w.due_now(chat).await;
    until(WAIT, "held as uncertain", || async {
        w.outbox(chat).await[0].state == "uncertain"
    })
    .await;
    assert_eq!(w.sim.sent_to(chat).len(), 2, "two copies at most");
    let r = w.ask(ADMIN, "/stats").await;
    assert!(
        r.contains("0 sent, 0 failed, 0 pending, 1 uncertain"),
        "{r}"
    );
    w.stop().await;
}

/// The kind `4xx_classification`, 403 variants: blocked, kicked, can't
/// initiate, user deactivated and a wording never seen: each chat is
/// deactivated after one try, nothing is failed, and when the blocked user
/// comes back both ways at once (unblock update and `/start`), the rows
/// that waited arrive once each, in order.
#[actix_rt::test]
async fn every_403_deactivates_the_chat_and_a_comeback_delivers_once() {
    let w = World::start(no_sim_limits(), |_| {}).await;
    let chats = [6301, 6302, 6303, 6304, 6305];
    let addresses = [A1, A2, A3, A1, A2];
    for (chat, address) in chats.iter().zip(addresses) {
        w.subscribe(*chat, address, None).await;
    }
    w.sim.block_chat(chats[0], true);
    w.sim.fail_chat_with(chats[1], Some(ChatFault::kicked()));
    w.sim
        .fail_chat_with(chats[2], Some(ChatFault::cant_initiate()));
    w.sim
        .fail_chat_with(chats[3], Some(ChatFault::user_deactivated()));
    w.sim.fail_chat_with(
        chats[4],
        Some(ChatFault::forbidden("Forbidden: something new")),
    );
    let transfers = (0..3)
        .flat_map(|i| {
            [A1, A2, A3]
                .into_iter()
                .enumerate()
                .map(move |(k, to)| transfer(i * 3 + k as u64, SENDER, to, 1 + i as u128))
        })
        .collect();
    w.record(transfers).await;
    until(WAIT, "all five inactive", || async {
        w.stats().await.chats_inactive == 5
    })
    .await;
    for chat in chats {
        let rows = w.outbox(chat).await;
        let attempts: Vec<i64> = rows.iter().map(|r| r.attempts).collect();
        // A chat-level answer leaves the row untouched.
        assert_eq!(attempts, [0, 0, 0], "chat {chat}: {rows:?}");
    }
    assert_eq!(w.sim.calls("sendMessage"), 5, "one try per chat");
    assert_eq!(w.stats().await.notifications_failed, 0);
    // The operator sees why nothing moves.
    let r = w.ask(ADMIN, "/status").await;
    assert!(
        r.contains("Outbox</b>: 15 pending (15 wait for inactive chats), 0 uncertain"),
        "{r}"
    );
    let r = w.ask(ADMIN, "/stats").await;
    assert!(
        r.contains("Chats: 0 active, 5 inactive (blocked or gone)"),
        "{r}"
    );

    let blocked = chats[0];
    w.sim.block_chat(blocked, false);
    w.sim.chat_member(blocked, "member");
    // The unblock alone may bring the rows out before the reply to /start.
    w.sim.user_says(blocked, "/start");
    w.sim
        .wait_for(WAIT, |all| {
            all.iter()
                .any(|m| m.chat_id == blocked && m.text.contains("Welcome back"))
        })
        .await
        .expect("welcomed back");
    until(WAIT, "the three marked sent", || async {
        w.stats().await.notifications_sent == 3
    })
    .await;
    // A later reply as a barrier: nothing else was sent meanwhile.
    w.ask(blocked, "/list").await;
    let incoming: Vec<String> = w
        .sim
        .sent_to(blocked)
        .into_iter()
        .filter(|m| m.text.contains("Incoming"))
        .map(|m| m.text.lines().next().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(incoming.len(), 3, "{incoming:?}");
    assert!(incoming[0].contains("0.000001") && incoming[2].contains("0.000003"));
    w.stop().await;
}

/// The kind `ambiguous_send` across a stop: the daemon is stopped while a
/// send is on the wire and its answer late. The send is counted as a lost
/// answer before the actor stops, so after the restart the one retry is
/// all that remains: a second lost answer holds the row as uncertain with
/// two copies, not three.
#[actix_rt::test]
async fn a_send_cut_off_by_a_stop_counts_as_a_lost_answer() {
    let tweak = |c: &mut Config| {
        c.telegram.send_timeout = Duration::from_secs(5);
        c.supervisor.shutdown_timeout = Duration::from_secs(2);
    };
    let w = World::start(no_sim_limits(), tweak).await;
    let chat = 6401;
    w.subscribe(chat, A1, None).await;
    w.sim.set_answer_after_timeout(1, Duration::from_secs(60));
    w.record(vec![transfer(0, SENDER, A1, 1_000_000)]).await;
    w.sim
        .wait_for(WAIT, |all| count_to(all, chat) == 1)
        .await
        .expect("on the wire");
    let (sim, db_path, dir) = w.stop().await;

    let mut w = World::on(sim, db_path, tweak);
    w._dir = dir;
    let row = w.outbox(chat).await.remove(0);
    assert_eq!(
        (row.state.as_str(), row.lost_answers),
        ("pending", 1),
        "{row:?}"
    );
    w.sim.set_answer_after_timeout(1, Duration::from_secs(60));
    w.due_now(chat).await;
    until(WAIT, "held as uncertain", || async {
        w.outbox(chat).await[0].state == "uncertain"
    })
    .await;
    assert_eq!(w.sim.sent_to(chat).len(), 2, "two copies at most");
    w.stop().await;
}
