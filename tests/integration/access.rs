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
    let (sim, dir) = w.stop_keep().await;
    let w = World::start_on(sim, dir, |c| {
        c.telegram.registration = Registration::Allowlist;
        c.telegram.allowed = vec![BOB];
    })
    .await;
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
