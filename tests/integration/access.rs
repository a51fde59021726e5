//! Who may use the bot, and how much (issue 20): `telegram.registration`
//! (open, allowlist, approval with the admins' Approve / Deny buttons),
//! the per-user address cap across chats, the global caps
//! `telegram.max_chats` and `monitor.max_subscriptions`, and storage in
//! `/status` and the admins' alert. A real supervisor tree with the real
//! teloxide-core client against the simulated Bot API and a real SQLite
//! file; every wait is on a condition.

use std::time::{Duration, Instant};

use usdt_monitor::app::{self, Shared};
use usdt_monitor::config::{Config, Registration, Secret, Secrets};
use usdt_monitor::db::chats::UpsertChat;
use usdt_monitor::db::poll_result::RecordPollResult;
use usdt_monitor::db::subscriptions::{AddSubscription, ListSubscriptions};
use usdt_monitor::db::{DbError, DbRequest};
use usdt_monitor::domain::{Address, Amount, TokenSymbol, Transfer};
use usdt_monitor::sim::botapi::{CallbackAnswer, SentMessage, SimBotApi, SimBotOptions};
use usdt_monitor::supervisor::{Shutdown, SupervisorHandle};

const WAIT: Duration = Duration::from_secs(20);
const ADMIN: i64 = 1;
const ALICE: i64 = 501;
const BOB: i64 = 502;
const CAROL: i64 = 503;
const SENDER: &str = "0x1111111111111111111111111111111111111111";

/// A deterministic address: `0x` + the hex digit repeated.
fn addr(digit: char) -> String {
    format!("0x{}", digit.to_string().repeat(40))
}

struct World {
    sim: SimBotApi,
    dir: tempfile::TempDir,
    shared: Shared,
    tree: SupervisorHandle,
}

impl World {
    async fn start(tweak: impl FnOnce(&mut Config)) -> World {
        let sim = SimBotApi::start(SimBotOptions::default()).await.unwrap();
        World::start_on(sim, tempfile::tempdir().unwrap(), tweak).await
    }

    /// Starts the tree on `sim` and the database in `dir` (a restart when
    /// they come from [`World::stop_keep`]).
    async fn start_on(
        sim: SimBotApi,
        dir: tempfile::TempDir,
        tweak: impl FnOnce(&mut Config),
    ) -> World {
        let mut c = Config::default();
        c.telegram.api_url = sim.api_url();
        c.telegram.admins = vec![ADMIN];
        c.telegram.long_poll_timeout = Duration::from_secs(5);
        c.telegram.send_rate = 100;
        c.telegram.per_chat_interval = Duration::from_millis(20);
        c.telegram.command_limit = 1000;
        // Nothing to scan in these tests; never reach the real Etherscan.
        c.etherscan.base_url = "http://127.0.0.1:9/v2/api".into();
        c.monitor.poll_interval = Duration::from_secs(3600);
        c.database.path = dir.path().join("monitor.db");
        c.supervisor.shutdown_timeout = Duration::from_secs(5);
        c.blockscout.enabled = false;
        tweak(&mut c);
        let secrets = Secrets {
            telegram_token: Secret::new(sim.token()),
            etherscan_key: Some(Secret::new("test-key")),
            tron_key: None,
        };
        let shared = Shared::new(c, secrets).unwrap();
        shared
            .paused
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let tree = app::start(&shared).unwrap();
        World {
            sim,
            dir,
            shared,
            tree,
        }
    }

    /// Stops the tree, keeping the simulator and the database.
    async fn stop_keep(self) -> (SimBotApi, tempfile::TempDir) {
        self.tree.addr.do_send(Shutdown);
        let exit = tokio::time::timeout(WAIT, self.tree.exit).await;
        assert!(matches!(exit, Ok(Ok(_))), "the tree stopped");
        drop(self.shared);
        (self.sim, self.dir)
    }

    /// Restarts on the same database with `registration = "allowlist"`.
    async fn restart_on_allowlist(self, allowed: Vec<i64>) -> World {
        let (sim, dir) = self.stop_keep().await;
        World::start_on(sim, dir, |c| {
            c.telegram.registration = Registration::Allowlist;
            c.telegram.allowed = allowed;
        })
        .await
    }

    async fn stop(self) {
        let _ = self.stop_keep().await;
    }

    async fn db<R: DbRequest>(&self, request: R) -> R::Output {
        self.shared.db.exec(request).await.unwrap()
    }

    /// `user` says `text` in their private chat; the bot's next message there.
    async fn say(&self, user: i64, text: &str) -> String {
        self.ask(user, user, text).await
    }

    /// `user` says `text` in `chat` (a group when negative); the bot's
    /// next message to that chat.
    async fn ask(&self, chat: i64, user: i64, text: &str) -> String {
        let before = self.sim.sent_to(chat).len();
        if chat < 0 {
            self.sim.group_says(chat, user, text);
        } else {
            self.sim.user_says(user, text);
        }
        self.next_in(chat, before, text).await
    }

    /// An anonymous administrator says `text` in group `chat` (the message
    /// comes from the group itself); the bot's next message there.
    async fn ask_as_group(&self, chat: i64, text: &str) -> String {
        let before = self.sim.sent_to(chat).len();
        self.sim.group_says_as_group(chat, text);
        self.next_in(chat, before, text).await
    }

    /// The `before`-th message to `chat` (waited for).
    async fn next_in(&self, chat: i64, before: usize, text: &str) -> String {
        let all = self
            .sim
            .wait_for(WAIT, |all| count_to(all, chat) > before)
            .await
            .unwrap_or_else(|_| panic!("no reply to {text:?} in {chat}"));
        let replies: Vec<&SentMessage> = all.iter().filter(|m| m.chat_id == chat).collect();
        replies[before].text.clone()
    }

    /// Waits for the `n`-th message to `chat` containing `needle`.
    async fn message(&self, chat: i64, needle: &str, n: usize) -> SentMessage {
        let matching = |all: &[SentMessage]| -> Vec<SentMessage> {
            all.iter()
                .filter(|m| m.chat_id == chat && m.text.contains(needle))
                .cloned()
                .collect()
        };
        match self
            .sim
            .wait_for(WAIT, |all| matching(all).len() >= n)
            .await
        {
            Ok(all) => matching(&all)[n - 1].clone(),
            Err(all) => panic!(
                "{chat} did not get {n} × {needle:?}: {:#?}",
                all.iter().map(|m| (m.chat_id, &m.text)).collect::<Vec<_>>()
            ),
        }
    }

    /// `user` presses `data` under message `message_id` in `chat`; the answer.
    async fn press(&self, user: i64, chat: i64, message_id: i64, data: &str) -> CallbackAnswer {
        let query = self.sim.user_presses(user, chat, message_id, data);
        self.sim
            .wait_for_answer(WAIT, &query)
            .await
            .unwrap_or_else(|| panic!("press {data:?} not answered"))
    }

    /// Records one transfer of `i` USDT from SENDER to `to`; returns how
    /// many notifications it queued.
    async fn record(&self, i: u64, to: &str) -> usize {
        self.record_many(i, 1, to).await
    }

    /// Records `n` transfers of `first`, `first + 1`, … USDT to `to`.
    async fn record_many(&self, first: u64, n: u64, to: &str) -> usize {
        let transfers = (first..first + n).map(|i| transfer(i, to)).collect();
        let r = self
            .db(RecordPollResult::new(
                1,
                transfers,
                vec![],
                self.shared.spam.clone(),
            ))
            .await;
        self.shared.outbox_ready.notify_one();
        r.notifications
    }

    async fn watched_by(&self, chat: i64) -> usize {
        self.db(ListSubscriptions { chat_id: chat }).await.len()
    }

    async fn access(&self, chat: i64) -> Option<String> {
        self.db(AccessOf(chat)).await
    }

    /// Waits until the bot confirmed Telegram update `update`.
    async fn handled(&self, update: i64) {
        until("the update is handled", || async {
            self.sim.confirmed_offset() > update
        })
        .await;
    }
}

fn transfer(i: u64, to: &str) -> Transfer {
    Transfer {
        chain_id: 1,
        tx_hash: format!("0x{:064x}", 0xabc000 + i),
        log_index: i,
        block: 19_000_000,
        timestamp: 1_764_297_023,
        token: TokenSymbol::Usdt,
        contract: Address::parse("0xdac17f958d2ee523a2206206994597c13d831ec7").unwrap(),
        decimals: 6,
        from: Address::parse(SENDER).unwrap(),
        to: Address::parse(to).unwrap(),
        amount: Amount::from_u128(u128::from(i) * 1_000_000),
    }
}

fn count_to(all: &[SentMessage], chat: i64) -> usize {
    all.iter().filter(|m| m.chat_id == chat).count()
}

/// Messages to `chat` naming the transfer of `i` USDT.
fn copies_of(all: &[SentMessage], chat: i64, i: u64) -> usize {
    let needle = format!("Incoming {i} USDT</b>");
    all.iter()
        .filter(|m| m.chat_id == chat)
        .map(|m| m.text.matches(&needle).count())
        .sum()
}

async fn until<F, Fut>(what: &str, cond: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + WAIT;
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A chat's stored access (`None`: no row).
struct AccessOf(i64);

impl DbRequest for AccessOf {
    type Output = Option<String>;
    const WRITES: bool = false;
    fn run(self, tx: &rusqlite::Transaction<'_>) -> Result<Self::Output, DbError> {
        let mut stmt = tx.prepare("SELECT access FROM chats WHERE chat_id = ?1")?;
        let mut rows = stmt.query_map([self.0], |r| r.get(0))?;
        Ok(rows.next().transpose()?)
    }
}

/// Rows of a table that name a chat (subscriptions, outbox).
struct RowsOf(&'static str, i64);

impl DbRequest for RowsOf {
    type Output = i64;
    const WRITES: bool = false;
    fn run(self, tx: &rusqlite::Transaction<'_>) -> Result<i64, DbError> {
        Ok(tx.query_row(
            &format!("SELECT count(*) FROM {} WHERE chat_id = ?1", self.0),
            [self.1],
            |r| r.get(0),
        )?)
    }
}

fn text(a: &CallbackAnswer) -> &str {
    a.text.as_deref().unwrap_or("")
}

#[actix_rt::test]
async fn allowlist_refuses_a_stranger_once_per_message_and_stores_nothing() {
    let w = World::start(|c| {
        c.telegram.registration = Registration::Allowlist;
        c.telegram.allowed = vec![ALICE];
    })
    .await;
    for command in ["/start", &format!("/add {}", addr('a')), "/list", "hello"] {
        let r = w.say(BOB, command).await;
        assert!(r.contains("This bot is private"), "{command}: {r}");
    }
    assert_eq!(w.access(BOB).await, None, "no chat row");
    assert_eq!(w.db(RowsOf("subscriptions", BOB)).await, 0);
    // A group the stranger adds the bot to: told once, not stored.
    let group = -7001;
    let id = w.sim.bot_in_group(group, BOB, "left", "member");
    w.message(group, "This bot is private", 1).await;
    until("the update is handled", || async {
        w.sim.confirmed_offset() > id
    })
    .await;
    assert_eq!(w.access(group).await, None, "no group row");
    // Nor a side door: blocking and unblocking the bot stores nothing.
    w.sim.chat_member(BOB, "kicked");
    let id = w.sim.chat_member(BOB, "member");
    until("the updates are handled", || async {
        w.sim.confirmed_offset() > id
    })
    .await;
    assert_eq!(w.access(BOB).await, None, "still no chat row");

    // The listed user is served as always.
    let r = w.say(ALICE, "/start").await;
    assert!(r.contains("Welcome"), "{r}");
    let r = w.say(ALICE, &format!("/add {} Main", addr('a'))).await;
    assert!(r.contains("Main"), "{r}");
    assert_eq!(w.record(1, &addr('a')).await, 1, "only the listed user");
    w.message(ALICE, "Incoming 1 USDT", 1).await;
    // The admin is always allowed.
    let r = w.say(ADMIN, "/start").await;
    assert!(r.contains("Welcome"), "{r}");
    w.stop().await;
}

#[actix_rt::test]
async fn approval_approve_lets_the_user_in_and_notifies_them() {
    let w = World::start(|c| c.telegram.registration = Registration::Approval).await;
    // Before asking, nothing is stored.
    let r = w.say(ALICE, "/list").await;
    assert!(r.contains("Send /start to ask"), "{r}");
    assert_eq!(w.access(ALICE).await, None);

    let r = w.say(ALICE, "/start").await;
    assert!(r.contains("request has been sent"), "{r}");
    let request = w.message(ADMIN, "Access request", 1).await;
    assert!(
        request.text.contains(&ALICE.to_string()),
        "{}",
        request.text
    );
    assert_eq!(
        request.callback_data(),
        vec![format!("ok1:{ALICE}"), format!("no1:{ALICE}")]
    );
    assert_eq!(w.access(ALICE).await.as_deref(), Some("pending"));

    // Waiting: told so, nothing stored; /help still answers.
    let r = w.say(ALICE, &format!("/add {}", addr('a'))).await;
    assert!(r.contains("waiting for approval"), "{r}");
    assert_eq!(w.watched_by(ALICE).await, 0);
    let r = w.say(ALICE, "/help").await;
    assert!(r.contains("/add"), "{r}");
    let r = w.say(ALICE, "/start").await;
    assert!(r.contains("waiting for approval"), "{r}");
    assert_eq!(
        count_to(&w.sim.sent(), ADMIN),
        1,
        "asked once, not per /start"
    );

    let answer = w
        .press(ADMIN, ADMIN, request.message_id, &format!("ok1:{ALICE}"))
        .await;
    assert_eq!(text(&answer), "Approved.");
    let notice = w.message(ALICE, "approved", 1).await;
    assert!(notice.text.contains("/add"), "{}", notice.text);
    until("the request is edited", || async {
        w.sim
            .edited()
            .iter()
            .any(|e| e.chat_id == ADMIN && e.text.contains("approved"))
    })
    .await;
    assert_eq!(w.access(ALICE).await.as_deref(), Some("approved"));

    let r = w.say(ALICE, &format!("/add {} Main", addr('a'))).await;
    assert!(r.contains("Main"), "{r}");
    assert_eq!(w.record(1, &addr('a')).await, 1);
    w.message(ALICE, "Incoming 1 USDT", 1).await;
    w.stop().await;
}

#[actix_rt::test]
async fn approval_deny_tells_the_user_and_sends_them_nothing() {
    let w = World::start(|c| c.telegram.registration = Registration::Approval).await;
    // A group: the member who adds the bot asks.
    let group = -8001;
    w.sim.bot_in_group(group, BOB, "left", "member");
    w.message(group, "request has been sent", 1).await;
    let request = w.message(ADMIN, "Access request", 1).await;
    assert!(request.text.contains(&BOB.to_string()), "{}", request.text);
    assert!(
        request.text.contains(&group.to_string()),
        "{}",
        request.text
    );

    let answer = w
        .press(ADMIN, ADMIN, request.message_id, &format!("no1:{group}"))
        .await;
    assert_eq!(text(&answer), "Denied.");
    w.message(group, "denied", 1).await;
    assert_eq!(w.access(group).await.as_deref(), Some("denied"));
    let r = w.ask(group, BOB, &format!("/add {}", addr('b'))).await;
    assert!(r.contains("denied access"), "{r}");
    assert_eq!(w.watched_by(group).await, 0);

    // Even a subscription stored behind the bot's back notifies nothing:
    // an approved chat watching the same address gets the transfer, the
    // denied one does not.
    w.db(AddSubscription {
        chat_id: group,
        chain_id: 1,
        address: Address::parse(&addr('b')).unwrap(),
        label: None,
        limit: 100,
    })
    .await;
    w.db(UpsertChat {
        chat_id: CAROL,
        username: None,
        first_name: None,
    })
    .await;
    w.db(AddSubscription {
        chat_id: CAROL,
        chain_id: 1,
        address: Address::parse(&addr('b')).unwrap(),
        label: None,
        limit: 100,
    })
    .await;
    assert_eq!(w.record(7, &addr('b')).await, 1, "queued for CAROL only");
    let all = w
        .sim
        .wait_for(WAIT, |all| copies_of(all, CAROL, 7) == 1)
        .await
        .expect("delivered to the approved chat");
    assert_eq!(copies_of(&all, group, 7), 0);
    assert_eq!(w.db(RowsOf("outbox", group)).await, 1, "the notice only");
    w.stop().await;
}

#[actix_rt::test]
async fn hostile_or_foreign_decisions_change_nothing() {
    let w = World::start(|c| c.telegram.registration = Registration::Approval).await;
    w.say(ALICE, "/start").await;
    let request = w.message(ADMIN, "Access request", 1).await;
    let id = request.message_id;

    // A non-admin pressing Approve (forged, in their own chat).
    let a = w.press(BOB, BOB, id, &format!("ok1:{ALICE}")).await;
    assert!(text(&a).contains("Nothing was changed"), "{a:?}");
    assert!(a.show_alert);
    // The requester approving themselves.
    let a = w.press(ALICE, ALICE, id, &format!("ok1:{ALICE}")).await;
    assert!(text(&a).contains("Nothing was changed"), "{a:?}");
    // An admin's press arriving from a group, not their private chat.
    let a = w.press(ADMIN, -9001, id, &format!("ok1:{ALICE}")).await;
    assert!(text(&a).contains("Nothing was changed"), "{a:?}");
    // A chat that never asked, garbled and oversized data.
    let a = w.press(ADMIN, ADMIN, id, "ok1:999999").await;
    assert!(text(&a).contains("Nothing was changed"), "{a:?}");
    for data in [
        "ok1:--501",
        "ok1:0501",
        "ok1:501:x",
        "ok1:",
        "ok9:501",
        "ok1:5\u{200B}01",
        "ok1:99999999999999999999999",
        &"ok1:1".repeat(30),
        "",
    ] {
        let a = w.press(ADMIN, ADMIN, id, data).await;
        assert!(text(&a).contains("Nothing was changed"), "{data:?}: {a:?}");
    }
    assert_eq!(w.access(ALICE).await.as_deref(), Some("pending"));
    assert_eq!(w.access(999_999).await, None, "nothing stored for it");
    let r = w.say(ALICE, &format!("/add {}", addr('a'))).await;
    assert!(r.contains("waiting for approval"), "{r}");

    // Decided once: a second press (another admin's copy) changes nothing.
    let a = w.press(ADMIN, ADMIN, id, &format!("no1:{ALICE}")).await;
    assert_eq!(text(&a), "Denied.");
    let a = w.press(ADMIN, ADMIN, id, &format!("ok1:{ALICE}")).await;
    assert!(text(&a).contains("already denied"), "{a:?}");
    assert_eq!(w.access(ALICE).await.as_deref(), Some("denied"));
    // Still serving.
    let r = w.say(ADMIN, "/status").await;
    assert!(r.contains("Storage"), "{r}");
    w.stop().await;
}

#[actix_rt::test]
async fn the_address_cap_counts_per_user_across_private_chat_and_groups() {
    let w = World::start(|c| c.monitor.max_addresses_per_user = 2).await;
    let (g1, g2) = (-6001, -6002);
    w.sim.set_member(g1, ALICE, "creator");
    w.sim.set_member(g2, ALICE, "administrator");
    w.sim.set_member(g2, BOB, "administrator");

    let r = w.say(ALICE, &format!("/add {}", addr('a'))).await;
    assert!(!r.contains("🚫"), "{r}");
    let r = w.ask(g1, ALICE, &format!("/add {}", addr('b'))).await;
    assert!(!r.contains("🚫"), "{r}");
    // Her third address, in a new group: refused, nothing stored.
    let r = w.ask(g2, ALICE, &format!("/add {}", addr('c'))).await;
    assert!(r.contains("most allowed per user"), "{r}");
    assert_eq!(w.watched_by(g2).await, 0);
    // Nor in her private chat, whose /list counts what she watches in
    // all her chats, not the one address watched there.
    let r = w.say(ALICE, &format!("/add {}", addr('c'))).await;
    assert!(r.contains("most allowed per user"), "{r}");
    let r = w.say(ALICE, "/list").await;
    assert!(r.contains("(2 of 2)"), "{r}");
    // An address she watches already takes no new slot.
    let r = w.ask(g2, ALICE, &format!("/add {}", addr('a'))).await;
    assert!(!r.contains("🚫"), "{r}");
    assert_eq!(w.watched_by(g2).await, 1);
    // Another user has his own count (the group's own address counts).
    let r = w.ask(g2, BOB, &format!("/add {}", addr('d'))).await;
    assert!(!r.contains("🚫"), "{r}");
    let r = w.ask(g2, BOB, &format!("/add {}", addr('e'))).await;
    assert!(r.contains("most allowed per user"), "{r}");
    w.stop().await;
}

#[actix_rt::test]
async fn max_chats_and_max_subscriptions_refuse_clearly_and_store_nothing() {
    let w = World::start(|c| {
        c.telegram.max_chats = 2;
        c.monitor.max_addresses_per_user = 2;
        c.monitor.max_subscriptions = 3;
    })
    .await;
    assert!(w.say(ALICE, "/start").await.contains("Welcome"));
    assert!(w.say(BOB, "/start").await.contains("Welcome"));
    let r = w.say(CAROL, "/start").await;
    assert!(r.contains("as many chats as its operator allows"), "{r}");
    assert_eq!(w.access(CAROL).await, None, "no chat row");
    let r = w.say(CAROL, &format!("/add {}", addr('c'))).await;
    assert!(r.contains("as many chats"), "{r}");
    assert_eq!(w.db(RowsOf("subscriptions", CAROL)).await, 0);
    // Known chats are served as always.
    assert!(w.say(ALICE, "/start").await.contains("Welcome back"));

    for a in ['a', 'b'] {
        let r = w.say(ALICE, &format!("/add {}", addr(a))).await;
        assert!(!r.contains("🚫"), "{r}");
    }
    let r = w.say(BOB, &format!("/add {}", addr('d'))).await;
    assert!(!r.contains("🚫"), "{r}");
    let r = w.say(BOB, &format!("/add {}", addr('e'))).await;
    assert!(
        r.contains("as many addresses as its operator allows"),
        "{r}"
    );
    assert_eq!(w.watched_by(BOB).await, 1, "nothing added");
    w.stop().await;
}

#[actix_rt::test]
async fn status_shows_the_database_size_and_the_fastest_growing_chats() {
    let w = World::start(|_| {}).await;
    for (chat, a) in [(ALICE, 'a'), (BOB, 'b')] {
        w.say(chat, &format!("/add {}", addr(a))).await;
    }
    assert_eq!(w.record_many(1, 3, &addr('a')).await, 3);
    assert_eq!(w.record(10, &addr('b')).await, 1);
    let r = w.say(ADMIN, "/status").await;
    assert!(r.contains("<b>Storage</b>: database"), "{r}");
    assert!(r.contains(" MiB on disk"), "{r}");
    assert!(r.contains("4 notification rows in the last 24 h"), "{r}");
    let alice = r.find(&format!("<code>{ALICE}</code>: 3 (75 %)"));
    let bob = r.find(&format!("<code>{BOB}</code>: 1 (25 %)"));
    assert!(alice.is_some() && bob.is_some() && alice < bob, "{r}");
    w.stop().await;
}

#[actix_rt::test]
async fn admins_are_told_when_one_chat_dominates_the_growth() {
    let w = World::start(|c| {
        c.database.prune_interval = Duration::from_millis(200);
        c.telegram.max_pending_per_chat = 100_000;
        c.telegram.combine_after = 2;
    })
    .await;
    w.say(ALICE, &format!("/add {}", addr('a'))).await;
    w.say(BOB, &format!("/add {}", addr('b'))).await;
    assert_eq!(w.record_many(1, 5, &addr('b')).await, 5);
    assert_eq!(w.record_many(100, 1000, &addr('a')).await, 1000);
    let alert = w.message(ADMIN, "makes most of the database", 1).await;
    assert!(alert.text.contains(&ALICE.to_string()), "{}", alert.text);
    assert!(!alert.text.contains(&BOB.to_string()), "{}", alert.text);
    // That every later check while the chat still dominates tells nothing
    // new is `storage::tests::a_dominating_chat_is_told_once_per_incident`
    // (no waiting on the loop's rounds here).
    w.stop().await;
}

/// Regression (issue 20 break test): `/help` in a group the bot never
/// registered (its join was missed, or refused while the bot was full) went
/// down the command path, which stores the group — approved, by the
/// column's default — so the group could `/add` and be notified without an
/// admin's word. Now `/help` is answered at the gate and nothing is stored.
#[actix_rt::test]
async fn help_in_an_unknown_group_stores_nothing_under_approval() {
    let w = World::start(|c| c.telegram.registration = Registration::Approval).await;
    let group = -8802;
    w.sim.set_member(group, CAROL, "creator");
    let r = w.ask(group, CAROL, "/help").await;
    assert!(r.contains("/add"), "{r}");
    assert_eq!(w.access(group).await, None);
    let r = w.ask(group, CAROL, &format!("/add {}", addr('c'))).await;
    assert!(!r.contains("Now watching"), "{r}");
    assert_eq!(w.watched_by(group).await, 0);
    w.stop().await;
}

/// Regression (issue 20 break test): a stranger refused because the bot is
/// full blocked and unblocked it; the `my_chat_member` update stored the
/// chat (approved by the column's default), and from then on the gate took
/// it for a known chat: `telegram.max_chats` was passed by two taps. Now
/// only a chat the gate admitted has a row whose state such updates change.
#[actix_rt::test]
async fn blocking_and_unblocking_the_bot_does_not_get_past_max_chats() {
    let w = World::start(|c| c.telegram.max_chats = 2).await;
    w.say(ALICE, "/start").await;
    w.say(BOB, "/start").await;
    let r = w.say(CAROL, "/start").await;
    assert!(r.contains("as many chats"), "{r}");
    w.sim.chat_member(CAROL, "kicked");
    let update = w.sim.chat_member(CAROL, "member");
    until("the update is handled", || async {
        w.sim.confirmed_offset() > update
    })
    .await;
    assert_eq!(w.access(CAROL).await, None);
    let r = w.say(CAROL, &format!("/add {}", addr('c'))).await;
    assert!(r.contains("as many chats"), "{r}");
    assert_eq!(w.watched_by(CAROL).await, 0);
    w.stop().await;
}

/// Regression (issue 20 break test, F3): a group asked for approval, then
/// became a supergroup (a new id); the admin's Approve, whose button names
/// the old id, answered "Approved." but left the supergroup waiting for
/// ever. The decision now follows the migration.
#[actix_rt::test]
async fn a_decision_under_the_old_id_decides_the_supergroup_it_became() {
    let w = World::start(|c| c.telegram.registration = Registration::Approval).await;
    let (old, new) = (-8803, -1_000_000_008_803);
    w.sim.set_member(old, BOB, "creator");
    w.sim.set_member(new, BOB, "creator");
    w.sim.bot_in_group(old, BOB, "left", "member");
    let request = w.message(ADMIN, "Access request", 1).await;
    let id = w.sim.migrate_group(old, new, true).unwrap();
    w.handled(id).await;
    assert_eq!(w.access(new).await.as_deref(), Some("pending"));
    let a = w
        .press(ADMIN, ADMIN, request.message_id, &format!("ok1:{old}"))
        .await;
    assert_eq!(text(&a), "Approved.");
    assert_eq!(w.access(new).await.as_deref(), Some("approved"));
    // The supergroup is told, and served.
    w.message(new, "approved", 1).await;
    let r = w.ask(new, BOB, &format!("/add {}", addr('d'))).await;
    assert!(r.contains("Now watching"), "{r}");
    // A second press under the old id says it was decided.
    let a = w
        .press(ADMIN, ADMIN, request.message_id, &format!("no1:{old}"))
        .await;
    assert!(text(&a).contains("already approved"), "{a:?}");
    w.stop().await;
}

/// Regression (issue 20 break test, F4): an anonymous administrator
/// writes as the group; their `/add` was counted for the group's id, so a
/// user got a fresh `max_addresses_per_user` in every group they own. It
/// counts for the group's owner now.
#[actix_rt::test]
async fn an_anonymous_admin_is_counted_as_the_groups_owner() {
    let w = World::start(|c| {
        c.telegram.registration = Registration::Approval;
        c.monitor.max_addresses_per_user = 1;
    })
    .await;
    w.say(ALICE, "/start").await;
    let req = w.message(ADMIN, "Access request", 1).await;
    w.press(ADMIN, ADMIN, req.message_id, &format!("ok1:{ALICE}"))
        .await;
    let (g1, g2) = (-8811, -8812);
    for g in [g1, g2] {
        w.sim.set_member(g, ALICE, "creator");
        w.sim.bot_in_group(g, ALICE, "left", "member");
        let req = w.message(ADMIN, &g.to_string(), 1).await;
        let a = w
            .press(ADMIN, ADMIN, req.message_id, &format!("ok1:{g}"))
            .await;
        assert_eq!(text(&a), "Approved.");
    }
    let r = w.say(ALICE, &format!("/add {}", addr('a'))).await;
    assert!(r.contains("Now watching"), "{r}");
    let r1 = w.ask_as_group(g1, &format!("/add {}", addr('b'))).await;
    let r2 = w.ask_as_group(g2, &format!("/add {}", addr('c'))).await;
    assert!(r1.contains("most allowed per user"), "{r1}");
    assert!(r2.contains("most allowed per user"), "{r2}");
    // The address ALICE already watches may be added to her group, as
    // herself or anonymously: it uses no new slot.
    let r = w.ask_as_group(g1, &format!("/add {}", addr('a'))).await;
    assert!(r.contains("Now watching"), "{r}");
    let total = w.watched_by(ALICE).await + w.watched_by(g1).await + w.watched_by(g2).await;
    assert_eq!(total, 2, "ALICE's chats watch one address between them");
    w.stop().await;
}

/// Regression (issue 20 break test, F5): a chat approved under "open",
/// then the operator switches to "allowlist" without listing it: its
/// commands are refused (it cannot even `/remove`), yet it was still sent
/// every notification. Now it is sent none while the allowlist is in force
/// (a listed user's chat still is), and switching back restores it.
#[actix_rt::test]
async fn switching_to_the_allowlist_stops_notifying_unlisted_chats() {
    let w = World::start(|_| {}).await;
    for user in [ALICE, BOB] {
        let r = w.say(user, &format!("/add {}", addr('a'))).await;
        assert!(r.contains("Now watching"), "{r}");
    }
    let w = w.restart_on_allowlist(vec![BOB]).await;
    let r = w.say(ALICE, &format!("/remove {}", addr('a'))).await;
    assert!(r.contains("private"), "{r}");
    assert_eq!(w.record(5, &addr('a')).await, 1, "queued for BOB only");
    w.sim
        .wait_for(WAIT, |all| copies_of(all, BOB, 5) == 1)
        .await
        .expect("the listed user is notified");
    let (sim, dir) = w.stop_keep().await;
    assert_eq!(
        copies_of(&sim.sent(), ALICE, 5),
        0,
        "the unlisted chat is not"
    );
    // Open again: ALICE's notifications resume (the next transfer).
    let w = World::start_on(sim, dir, |_| {}).await;
    assert_eq!(w.record(6, &addr('a')).await, 2);
    w.sim
        .wait_for(WAIT, |all| copies_of(all, ALICE, 6) == 1)
        .await
        .expect("notified again once the allowlist is gone");
    w.stop().await;
}

/// Regression (issue 20 break test, F7): one account could ask for any
/// number of groups, each waiting counted against `telegram.max_chats`,
/// and nobody was told when new chats were refused. Now a user may have
/// three requests waiting, and the admins are told once when the bot is
/// full.
#[actix_rt::test]
async fn one_user_cannot_fill_the_bot_with_requests_and_the_admins_hear_of_a_full_bot() {
    let w = World::start(|c| {
        c.telegram.registration = Registration::Approval;
        c.telegram.max_chats = 5;
    })
    .await;
    let groups = [-8901, -8902, -8903, -8904];
    for (i, g) in groups.iter().enumerate() {
        w.sim.set_member(*g, CAROL, "creator");
        let r = w.ask(*g, CAROL, "/start").await;
        if i < 3 {
            assert!(r.contains("request has been sent"), "{g}: {r}");
        } else {
            assert!(r.contains("3 requests waiting"), "{g}: {r}");
        }
    }
    assert_eq!(w.access(groups[3]).await, None, "nothing stored");
    for g in &groups[..3] {
        assert_eq!(w.access(*g).await.as_deref(), Some("pending"));
    }
    // Others still get in, up to max_chats (the admin's own chat is one).
    w.say(ALICE, "/start").await;
    let r = w.say(BOB, "/start").await;
    assert!(r.contains("as many chats"), "{r}");
    let r = w.ask(groups[3], CAROL, "/start").await;
    assert!(r.contains("as many chats"), "{r}");
    let alert = w.message(ADMIN, "New chats are being refused", 1).await;
    assert!(alert.text.contains("max_chats"), "{}", alert.text);
    w.stop().await;
}

// ---------------------------------------------------------------- round 2

/// Rows of `chats` matching a SQL condition.
struct ChatsWhere(&'static str);

impl DbRequest for ChatsWhere {
    type Output = i64;
    const WRITES: bool = false;
    fn run(self, tx: &rusqlite::Transaction<'_>) -> Result<i64, DbError> {
        Ok(tx.query_row(
            &format!("SELECT count(*) FROM chats WHERE {}", self.0),
            [],
            |r| r.get(0),
        )?)
    }
}

const CHANNEL_BOT: i64 = 136_817_688;

/// A member of group `chat` says `text` as their channel `channel`
/// (`sender_chat` a channel, `from` Telegram's Channel_Bot).
fn as_channel(w: &World, msg_id: i64, chat: i64, channel: i64, text: &str) -> i64 {
    let chat_v = if chat <= -1_000_000_000_000 {
        serde_json::json!({ "id": chat, "type": "supergroup", "title": format!("G{chat}") })
    } else {
        serde_json::json!({ "id": chat, "type": "group", "title": format!("G{chat}") })
    };
    let command = text.split(char::is_whitespace).next().unwrap_or_default();
    w.sim.push_raw_update(serde_json::json!({ "message": {
        "message_id": msg_id,
        "date": 1_764_297_023,
        "chat": chat_v,
        "from": { "id": CHANNEL_BOT, "is_bot": true, "first_name": "Channel", "username": "Channel_Bot" },
        "sender_chat": { "id": channel, "type": "channel", "title": format!("C{channel}") },
        "text": text,
        "entities": [{ "type": "bot_command", "offset": 0, "length": command.encode_utf16().count() }],
    }}))
}

/// Regression (issue 20 break test, round 2, B1): a group waiting for approval becomes a supergroup and is approved
/// under its old id. The old id's row must not stay "pending" for ever,
/// using one of its requester's 3 waiting requests.
#[actix_rt::test]
async fn a_migrated_request_does_not_use_a_waiting_slot_for_ever() {
    let w = World::start(|c| c.telegram.registration = Registration::Approval).await;
    let (old, new) = (-9101, -1_000_000_009_101);
    w.sim.set_member(old, CAROL, "creator");
    w.sim.set_member(new, CAROL, "creator");
    w.sim.bot_in_group(old, CAROL, "left", "member");
    let request = w.message(ADMIN, "Access request", 1).await;
    let id = w.sim.migrate_group(old, new, true).unwrap();
    w.handled(id).await;
    let a = w
        .press(ADMIN, ADMIN, request.message_id, &format!("ok1:{old}"))
        .await;
    assert_eq!(text(&a), "Approved.");
    let pending = w.db(ChatsWhere("access = 'pending'")).await;
    // CAROL has nothing waiting now: three new requests must be accepted.
    let mut replies = vec![];
    for g in [-9102, -9103, -9104] {
        w.sim.set_member(g, CAROL, "creator");
        replies.push(w.ask(g, CAROL, "/start").await);
    }
    assert!(
        replies.iter().all(|r| r.contains("request has been sent")),
        "pending rows after the decision: {pending}; old id's access: {:?}; replies: {replies:#?}",
        w.access(old).await
    );
    w.stop().await;
}

/// Regression (issue 20 break test, round 2, B2): a group that became a supergroup is one chat the bot keeps, not
/// two, against `telegram.max_chats`.
#[actix_rt::test]
async fn a_migrated_group_counts_once_against_max_chats() {
    let w = World::start(|c| c.telegram.max_chats = 3).await;
    let (old, new) = (-9201, -1_000_000_009_201);
    w.sim.set_member(old, ALICE, "creator");
    w.sim.set_member(new, ALICE, "creator");
    let r = w.ask(old, ALICE, &format!("/add {}", addr('a'))).await;
    assert!(r.contains("Now watching"), "{r}");
    let id = w.sim.migrate_group(old, new, true).unwrap();
    w.handled(id).await;
    let r = w.say(ALICE, "/start").await;
    assert!(r.contains("Welcome"), "{r}");
    // Kept: ALICE's private chat and the supergroup: room for one more.
    let r = w.say(BOB, "/start").await;
    let rows = w.db(ChatsWhere("access <> 'denied'")).await;
    assert!(
        r.contains("Welcome"),
        "BOB refused ({rows} non-denied chat rows): {r}"
    );
    w.stop().await;
}

/// Regression (issue 20 break test, round 2, B3): under the allowlist, a listed user adds an address in a group
/// (not listed) whose first address was added by someone not listed (in
/// the open era). The bot answers "Now watching": the transfer must reach
/// the group, or the /add must say it will not.
#[actix_rt::test]
async fn a_listed_users_add_in_a_strangers_group_is_notified() {
    let w = World::start(|_| {}).await;
    let g = -9301;
    w.sim.set_member(g, BOB, "creator");
    w.sim.set_member(g, ALICE, "administrator");
    let r = w.ask(g, BOB, &format!("/add {}", addr('a'))).await;
    assert!(r.contains("Now watching"), "{r}");
    let w = w.restart_on_allowlist(vec![ALICE]).await;
    let r = w.ask(g, ALICE, &format!("/add {} Alices", addr('b'))).await;
    assert!(r.contains("Now watching"), "{r}");
    let queued = w.record(7, &addr('b')).await;
    let got = w
        .sim
        .wait_for(Duration::from_secs(5), |all| copies_of(all, g, 7) == 1)
        .await
        .is_ok();
    assert!(
        got,
        "ALICE (listed) was told 'Now watching' in group {g}, but the transfer was queued {queued} times and not delivered there"
    );
    w.stop().await;
}

/// Regression (issue 20 break test, round 2, B4): the operator lists a group by its id; it upgrades itself to a
/// supergroup (a new id, as Telegram does). It must keep being served
/// (or the admins be told), not silently lose every notification.
#[actix_rt::test]
async fn a_listed_group_keeps_its_notifications_after_becoming_a_supergroup() {
    let (old, new) = (-9401, -1_000_000_009_401);
    let w = World::start(|c| {
        c.telegram.registration = Registration::Allowlist;
        c.telegram.allowed = vec![old];
    })
    .await;
    w.sim.set_member(old, BOB, "creator");
    w.sim.set_member(new, BOB, "creator");
    let r = w.ask(old, BOB, &format!("/add {}", addr('c'))).await;
    assert!(r.contains("Now watching"), "{r}");
    let id = w.sim.migrate_group(old, new, true).unwrap();
    w.handled(id).await;
    let queued = w.record(8, &addr('c')).await;
    let delivered = w
        .sim
        .wait_for(Duration::from_secs(5), |all| copies_of(all, new, 8) == 1)
        .await
        .is_ok();
    let admin_told = w
        .sim
        .sent_to(ADMIN)
        .iter()
        .any(|m| m.text.contains(&new.to_string()));
    let r = w.ask(new, BOB, "/list").await;
    assert!(
        delivered || admin_told,
        "listed group {old} became {new}: queued {queued}, not delivered, admins not told; /list there answers {r:?}"
    );
    w.stop().await;
}

/// Regression (issue 20 break test, round 2, B5): approval mode, ALICE asks and waits; the operator switches to the
/// allowlist and lists ALICE. A listed user may use the bot anywhere.
#[actix_rt::test]
async fn a_waiting_user_listed_later_is_served_under_the_allowlist() {
    let w = World::start(|c| c.telegram.registration = Registration::Approval).await;
    let r = w.say(ALICE, "/start").await;
    assert!(r.contains("request has been sent"), "{r}");
    let w = w.restart_on_allowlist(vec![ALICE]).await;
    let r = w.say(ALICE, &format!("/add {}", addr('d'))).await;
    assert!(
        r.contains("Now watching"),
        "listed ALICE under the allowlist: {r}"
    );
    w.stop().await;
}

/// Regression (issue 20 break test, round 2, B6): approval mode, ALICE asks and waits; the operator switches to
/// "open" (anyone). A stranger gets in at once; ALICE must too.
#[actix_rt::test]
async fn a_waiting_user_is_served_once_the_bot_is_open() {
    let w = World::start(|c| c.telegram.registration = Registration::Approval).await;
    let r = w.say(ALICE, "/start").await;
    assert!(r.contains("request has been sent"), "{r}");
    let (sim, dir) = w.stop_keep().await;
    let w = World::start_on(sim, dir, |_| {}).await;
    let r = w.say(BOB, &format!("/add {}", addr('e'))).await;
    assert!(r.contains("Now watching"), "stranger: {r}");
    let r = w.say(ALICE, &format!("/add {}", addr('e'))).await;
    assert!(
        r.contains("Now watching"),
        "ALICE, who asked first, under open: {r}"
    );
    w.stop().await;
}

/// Regression (issue 20 break test, round 2, B7): members posting as their channels are different people; they all
/// come as Telegram's Channel_Bot (136817688). Four different channels
/// asking for four different groups must not share one user's 3 slots.
#[actix_rt::test]
async fn people_posting_as_channels_do_not_share_one_users_slots() {
    let w = World::start(|c| c.telegram.registration = Registration::Approval).await;
    let mut replies = vec![];
    for (i, g) in [-9701i64, -9702, -9703, -9704].into_iter().enumerate() {
        let channel = -1_000_000_097_000 - i as i64;
        let before = w.sim.sent_to(g).len();
        as_channel(&w, 90_000 + i as i64, g, channel, "/start");
        replies.push(w.next_in(g, before, "/start as channel").await);
    }
    let owners = w.db(ChatsWhere("owner = 136817688")).await;
    assert!(
        !replies[3].contains("3 requests waiting"),
        "4th channel refused as one user ({owners} chats owned by Channel_Bot): {replies:#?}"
    );
    w.stop().await;
}

/// Regression (issue 20 break test, round 2, B9): `telegram.max_chats` under a burst: many strangers' /start in one
/// batch must not register more chats than the cap.
#[actix_rt::test]
async fn a_burst_of_new_chats_stays_within_max_chats() {
    let w = World::start(|c| c.telegram.max_chats = 3).await;
    let users: Vec<i64> = (0..12).map(|i| 600 + i).collect();
    for u in &users {
        w.sim.user_says(*u, "/start");
    }
    w.sim
        .wait_for(WAIT, |all| users.iter().all(|u| count_to(all, *u) >= 1))
        .await
        .expect("every user answered");
    let rows = w.db(ChatsWhere("access <> 'denied'")).await;
    let welcomed = users
        .iter()
        .filter(|u| {
            w.sim
                .sent_to(**u)
                .iter()
                .any(|m| m.text.contains("Welcome"))
        })
        .count();
    assert!(
        rows <= 3,
        "max_chats = 3, but {rows} chats kept ({welcomed} welcomed)"
    );
    w.stop().await;
}

/// Regression (issue 20 break test, round 2, B10): max_chats refusals: the admins are told once, however many refusals.
#[actix_rt::test]
async fn the_full_alert_is_one_incident() {
    let w = World::start(|c| c.telegram.max_chats = 1).await;
    let r = w.say(ALICE, "/start").await;
    assert!(r.contains("Welcome"), "{r}");
    for u in [BOB, CAROL, 504, 505] {
        let r = w.say(u, "/start").await;
        assert!(r.contains("as many chats"), "{r}");
    }
    w.message(ADMIN, "New chats are being refused", 1).await;
    // Raised at each refusal, told once: an active alert is not raised
    // again (`metrics::alerts::tests`); one incident, one key.
    let active = w.shared.alerts.active_alerts();
    assert_eq!(
        active.iter().filter(|a| a.key == "access:full").count(),
        1,
        "{active:?}"
    );
    // The admin's own chat is never refused, full or not.
    let r = w.say(ADMIN, "/list").await;
    assert!(!r.contains("as many chats"), "{r}");
    w.stop().await;
}

/// Regression (issue 20 break test, round 2, B11): forged decision data: huge, negative zero, garbage, someone else's.
#[actix_rt::test]
async fn forged_decisions_answer_and_change_nothing() {
    let w = World::start(|c| c.telegram.registration = Registration::Approval).await;
    w.say(ALICE, "/start").await;
    let req = w.message(ADMIN, "Access request", 1).await;
    for data in [
        "ok1:99999999999999999999",
        "ok1:-0",
        "ok1:",
        "ok1:+501",
        "ok1: 501",
        "ok1:501:x",
        "ok2:501",
        "ok1:0501",
    ] {
        let query = w.sim.user_presses(ADMIN, ADMIN, req.message_id, data);
        let a = w.sim.wait_for_answer(WAIT, &query).await;
        assert!(a.is_some(), "{data}: not answered");
        assert_eq!(
            w.access(ALICE).await.as_deref(),
            Some("pending"),
            "{data} ({a:?}) decided ALICE"
        );
    }
    // ALICE presses her own request data from her chat.
    let a = w
        .press(ALICE, ALICE, req.message_id, &format!("ok1:{ALICE}"))
        .await;
    assert!(text(&a).contains("Nothing was changed"), "{a:?}");
    assert_eq!(w.access(ALICE).await.as_deref(), Some("pending"));
    w.stop().await;
}

/// Regression (issue 20 break test, round 2, B12): /start repeated by a denied chat, /help, and the admin's copy:
/// a denied chat stays denied and gets one denial per message, no new request.
#[actix_rt::test]
async fn a_denied_user_cannot_ask_again() {
    let w = World::start(|c| c.telegram.registration = Registration::Approval).await;
    w.say(ALICE, "/start").await;
    let req = w.message(ADMIN, "Access request", 1).await;
    w.press(ADMIN, ADMIN, req.message_id, &format!("no1:{ALICE}"))
        .await;
    w.message(ALICE, "denied", 1).await;
    for _ in 0..3 {
        let r = w.say(ALICE, "/start").await;
        assert!(r.contains("denied"), "{r}");
    }
    let r = w.say(ALICE, "/help").await;
    assert!(r.contains("/add"), "{r}");
    // The request is edited once decided: count every message to the admin.
    let requests = w.sim.sent_to(ADMIN).len();
    assert_eq!(requests, 1, "{:#?}", w.sim.sent_to(ADMIN));
    w.stop().await;
}

/// Regression (issue 20 break test, round 2, B13): a pending group's member keeps adding the bot back: no new request.
/// And a group migrating while *denied* stays denied in its new id.
#[actix_rt::test]
async fn a_denied_group_stays_denied_after_becoming_a_supergroup() {
    let w = World::start(|c| c.telegram.registration = Registration::Approval).await;
    let (old, new) = (-9131, -1_000_000_009_131);
    w.sim.set_member(old, BOB, "creator");
    w.sim.set_member(new, BOB, "creator");
    w.sim.bot_in_group(old, BOB, "left", "member");
    let req = w.message(ADMIN, "Access request", 1).await;
    w.sim.bot_in_group(old, BOB, "member", "left");
    let id = w.sim.bot_in_group(old, BOB, "left", "member");
    w.handled(id).await;
    w.press(ADMIN, ADMIN, req.message_id, &format!("no1:{old}"))
        .await;
    let id = w.sim.migrate_group(old, new, true).unwrap();
    w.handled(id).await;
    let r = w.ask(new, BOB, "/start").await;
    assert!(r.contains("denied"), "{r}");
    // The request is edited once decided: count every message to the admin.
    let requests = w.sim.sent_to(ADMIN).len();
    assert_eq!(requests, 1, "{:#?}", w.sim.sent_to(ADMIN));
    w.stop().await;
}

/// Regression (issue 20 break test, round 2, B14): open mode (the default): ALICE adds the bot to two groups she
/// created and posts anonymously there. The per-user cap must not be
/// multiplied by the groups she creates (issue 20: "a user multiplies it
/// by creating groups").
#[actix_rt::test]
async fn anonymous_posting_in_groups_one_added_does_not_multiply_the_cap() {
    let w = World::start(|c| c.monitor.max_addresses_per_user = 1).await;
    let r = w.say(ALICE, &format!("/add {}", addr('a'))).await;
    assert!(r.contains("Now watching"), "{r}");
    let mut replies = vec![];
    for (g, d) in [(-9141i64, 'b'), (-9142, 'c')] {
        w.sim.set_member(g, ALICE, "creator");
        let id = w.sim.bot_in_group(g, ALICE, "left", "member");
        w.handled(id).await;
        replies.push(w.ask_as_group(g, &format!("/add {}", addr(d))).await);
    }
    let total = w.watched_by(ALICE).await + w.watched_by(-9141).await + w.watched_by(-9142).await;
    assert!(
        replies.iter().all(|r| r.contains("most allowed per user")),
        "ALICE (cap 1) watches {total} addresses through the groups she added the bot to: {replies:#?}"
    );
    w.stop().await;
}

/// Regression (issue 20 break test, round 2, B15): approval mode: two unrelated groups, each asked for by a
/// different person posting as their channel, both approved. Each
/// group's anonymous admin must have its own cap, not one shared by every
/// group whose request came from a channel.
#[actix_rt::test]
async fn unrelated_groups_asked_for_by_channels_do_not_share_one_cap() {
    let w = World::start(|c| {
        c.telegram.registration = Registration::Approval;
        c.monitor.max_addresses_per_user = 1;
    })
    .await;
    let (g1, g2) = (-9151i64, -9152);
    for (i, g) in [g1, g2].into_iter().enumerate() {
        let before = w.sim.sent_to(g).len();
        as_channel(
            &w,
            95_000 + i as i64,
            g,
            -1_000_000_095_000 - i as i64,
            "/start",
        );
        w.next_in(g, before, "/start").await;
        let req = w.message(ADMIN, &g.to_string(), 1).await;
        let a = w
            .press(ADMIN, ADMIN, req.message_id, &format!("ok1:{g}"))
            .await;
        assert_eq!(text(&a), "Approved.");
    }
    let r1 = w.ask_as_group(g1, &format!("/add {}", addr('a'))).await;
    assert!(r1.contains("Now watching"), "{r1}");
    let r2 = w.ask_as_group(g2, &format!("/add {}", addr('b'))).await;
    assert!(
        r2.contains("Now watching"),
        "group {g2}'s admin hit the cap of unrelated group {g1}: {r2}"
    );
    w.stop().await;
}

/// Regression (issue 20 break test, round 2, B16): under the allowlist, an admin presses Approve on a request left
/// from the approval era for a chat not listed: the chat is told it is
/// approved, and then refused as "private" — two contradicting answers.
#[actix_rt::test]
async fn an_approval_under_the_allowlist_does_not_tell_a_refused_chat_it_is_in() {
    let w = World::start(|c| c.telegram.registration = Registration::Approval).await;
    w.say(BOB, "/start").await;
    let req = w.message(ADMIN, "Access request", 1).await;
    let w = w.restart_on_allowlist(vec![ALICE]).await;
    let a = w
        .press(ADMIN, ADMIN, req.message_id, &format!("ok1:{BOB}"))
        .await;
    let told_in = w
        .sim
        .wait_for(Duration::from_secs(3), |all| {
            all.iter()
                .any(|m| m.chat_id == BOB && m.text.contains("approved"))
        })
        .await
        .is_ok();
    let r = w.say(BOB, &format!("/add {}", addr('a'))).await;
    assert!(
        !(told_in && r.contains("private")),
        "press answered {a:?}; BOB told approved, then: {r}"
    );
    w.stop().await;
}

/// Regression (issue 20 break test, round 2, B17): a group whose first address an admin added (open era) keeps
/// its notifications under the allowlist (admins are always allowed).
#[actix_rt::test]
async fn an_admins_group_is_notified_under_the_allowlist() {
    let w = World::start(|_| {}).await;
    let g = -9171;
    w.sim.set_member(g, ADMIN, "creator");
    let r = w.ask(g, ADMIN, &format!("/add {}", addr('f'))).await;
    assert!(r.contains("Now watching"), "{r}");
    let w = w.restart_on_allowlist(vec![ALICE]).await;
    assert_eq!(w.record(17, &addr('f')).await, 1);
    w.sim
        .wait_for(WAIT, |all| copies_of(all, g, 17) == 1)
        .await
        .expect("the admin's group is notified");
    w.stop().await;
}

/// Regression (issue 20 break test, round 2, B18): an unlisted chat that has data stored (open era) is told
/// "Nothing was stored about you" under the allowlist.
#[actix_rt::test]
async fn the_private_reply_does_not_deny_data_that_is_stored() {
    let w = World::start(|_| {}).await;
    let r = w.say(BOB, &format!("/add {}", addr('a'))).await;
    assert!(r.contains("Now watching"), "{r}");
    let w = w.restart_on_allowlist(vec![ALICE]).await;
    let r = w.say(BOB, "/list").await;
    let kept = w.watched_by(BOB).await;
    assert!(
        !(kept > 0 && r.contains("Nothing was stored about you")),
        "BOB has {kept} subscriptions kept, and is told: {r}"
    );
    w.stop().await;
}

/// Regression (issue 20 break test, round 2, B19): odd updates from outside: no panic, the bot keeps answering.
#[actix_rt::test]
async fn odd_updates_do_not_stop_the_bot() {
    let w = World::start(|c| c.telegram.registration = Registration::Approval).await;
    let odd = [
        // A private chat with a sender_chat (a channel).
        serde_json::json!({ "message": { "message_id": 1, "date": 1, "chat": { "id": 701, "type": "private", "first_name": "x" },
            "from": { "id": 701, "is_bot": false, "first_name": "x" }, "sender_chat": { "id": -1000000000701i64, "type": "channel", "title": "c" },
            "text": "/start", "entities": [{ "type": "bot_command", "offset": 0, "length": 6 }] } }),
        // A group message from a user id past i64.
        serde_json::json!({ "message": { "message_id": 2, "date": 1, "chat": { "id": -702, "type": "group", "title": "g" },
            "from": { "id": 18446744073709551615u64, "is_bot": false, "first_name": "x" },
            "text": "/start", "entities": [{ "type": "bot_command", "offset": 0, "length": 6 }] } }),
        // A callback without a message (inline), approve data.
        serde_json::json!({ "callback_query": { "id": "q1", "from": { "id": ADMIN, "is_bot": false, "first_name": "a" },
            "chat_instance": "1", "inline_message_id": "abc", "data": "ok1:701" } }),
        // The bot added to a group by a user past i64.
        serde_json::json!({ "my_chat_member": { "chat": { "id": -703, "type": "group", "title": "g" },
            "from": { "id": 18446744073709551615u64, "is_bot": false, "first_name": "x" }, "date": 1,
            "old_chat_member": { "status": "left", "user": { "id": 42, "is_bot": true, "first_name": "b" } },
            "new_chat_member": { "status": "member", "user": { "id": 42, "is_bot": true, "first_name": "b" } } } }),
        // A migration to itself and to a positive id.
        serde_json::json!({ "message": { "message_id": 3, "date": 1, "chat": { "id": -704, "type": "group", "title": "g" },
            "from": { "id": 5, "is_bot": false, "first_name": "x" }, "migrate_to_chat_id": -704 } }),
        serde_json::json!({ "message": { "message_id": 4, "date": 1, "chat": { "id": -705, "type": "group", "title": "g" },
            "from": { "id": 5, "is_bot": false, "first_name": "x" }, "migrate_to_chat_id": 705 } }),
    ];
    let mut last = 0;
    for u in odd {
        last = w.sim.push_raw_update(u);
    }
    w.handled(last).await;
    let r = w.say(ALICE, "/start").await;
    assert!(r.contains("request has been sent"), "{r}");
    // (-703, added by a user id past i64, is stored as asked for by the
    // group itself: the `by` fallback; Telegram never sends such ids.)
    for chat in [-702i64, 705, -705] {
        assert_eq!(w.access(chat).await, None, "{chat} stored");
    }
    w.stop().await;
}
