//! Group chats and combined bursts end to end: the real teloxide-core
//! client against the simulated Bot API (groups, `getChatMember`,
//! `my_chat_member`, supergroup migration, flood limits), a real
//! supervisor tree and a real SQLite file. Every wait is on a condition.

use std::time::{Duration, Instant};

use usdt_monitor::app::{self, Shared};
use usdt_monitor::config::{Config, Secret, Secrets};
use usdt_monitor::db::chats::{ChatKind, RegisterGroup, UpsertChat};
use usdt_monitor::db::poll_result::RecordPollResult;
use usdt_monitor::db::subscriptions::{AddSubscription, ListSubscriptions};
use usdt_monitor::db::{DbError, DbRequest};
use usdt_monitor::domain::{Address, Amount, TokenSymbol, Transfer};
use usdt_monitor::sim::botapi::{SentMessage, SimBotApi, SimBotOptions};
use usdt_monitor::supervisor::{Shutdown, SupervisorHandle};

const WAIT: Duration = Duration::from_secs(20);
const A1: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
const SENDER: &str = "0x1111111111111111111111111111111111111111";
const ADMIN_USER: i64 = 11;
const MEMBER: i64 = 12;

struct World {
    sim: SimBotApi,
    _dir: tempfile::TempDir,
    shared: Shared,
    tree: SupervisorHandle,
}

impl World {
    async fn start(opts: SimBotOptions, tweak: impl FnOnce(&mut Config)) -> World {
        let sim = SimBotApi::start(opts).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut c = Config::default();
        c.telegram.api_url = sim.api_url();
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
            _dir: dir,
            shared,
            tree,
        }
    }

    async fn stop(self) {
        self.tree.addr.do_send(Shutdown);
        let exit = tokio::time::timeout(WAIT, self.tree.exit).await;
        assert!(matches!(exit, Ok(Ok(_))), "the tree stopped");
    }

    async fn db<R: DbRequest>(&self, request: R) -> R::Output {
        self.shared.db.exec(request).await.unwrap()
    }

    /// `chat` (a group when negative) watches A1.
    async fn watch(&self, chat: i64) {
        if chat < 0 {
            self.db(RegisterGroup {
                chat_id: chat,
                kind: ChatKind::Group,
                title: Some("Team".into()),
            })
            .await;
        } else {
            self.db(UpsertChat {
                chat_id: chat,
                username: None,
                first_name: None,
            })
            .await;
        }
        self.db(AddSubscription {
            chat_id: chat,
            chain_id: 1,
            address: Address::parse(A1).unwrap(),
            label: None,
            limit: 100,
        })
        .await;
    }

    /// Records transfers of 1, 2, … `n` USDT (from `first`) to A1.
    async fn record(&self, first: u64, n: u64) -> usize {
        let transfers = (first..first + n).map(transfer).collect();
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

    /// Waits until the bot confirmed every update up to `last`.
    async fn handled(&self, last: i64) {
        until("updates handled", || async {
            self.sim.confirmed_offset() > last
        })
        .await;
    }

    /// The bot's next message to `chat` after `text` from `user` there.
    async fn ask(&self, chat: i64, user: i64, text: &str) -> String {
        let before = self.sim.sent_to(chat).len();
        self.sim.group_says(chat, user, text);
        let all = self
            .sim
            .wait_for(WAIT, |all| count_to(all, chat) > before)
            .await
            .unwrap_or_else(|_| panic!("no reply to {text:?}"));
        let replies: Vec<&SentMessage> = all.iter().filter(|m| m.chat_id == chat).collect();
        replies[before].text.clone()
    }
}

/// A transfer of `i` USDT to A1 (log index `i`).
fn transfer(i: u64) -> Transfer {
    Transfer {
        chain_id: 1,
        tx_hash: "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060".into(),
        log_index: i,
        block: 19_000_000,
        timestamp: 1_764_297_023,
        token: TokenSymbol::Usdt,
        contract: Address::parse("0xdac17f958d2ee523a2206206994597c13d831ec7").unwrap(),
        decimals: 6,
        from: Address::parse(SENDER).unwrap(),
        to: Address::parse(A1).unwrap(),
        amount: Amount::from_u128(u128::from(i) * 1_000_000),
    }
}

fn count_to(all: &[SentMessage], chat: i64) -> usize {
    all.iter().filter(|m| m.chat_id == chat).count()
}

/// How many times the transfer of `i` USDT appears in `messages`.
fn copies_of(messages: &[SentMessage], i: u64) -> usize {
    let needle = format!("Incoming {i} USDT</b>");
    messages
        .iter()
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

/// A chat row as a test reads it: (active, kind, title).
struct ChatRow(i64);

impl DbRequest for ChatRow {
    type Output = Option<(bool, Option<String>, Option<String>)>;
    const WRITES: bool = false;
    fn run(self, tx: &rusqlite::Transaction<'_>) -> Result<Self::Output, DbError> {
        let mut stmt = tx.prepare("SELECT active, kind, title FROM chats WHERE chat_id = ?1")?;
        let mut rows = stmt.query_map([self.0], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.next().transpose()?)
    }
}

/// The outbox states of one chat's rows, oldest first.
struct States(i64);

impl DbRequest for States {
    type Output = Vec<String>;
    const WRITES: bool = false;
    fn run(self, tx: &rusqlite::Transaction<'_>) -> Result<Vec<String>, DbError> {
        let mut stmt = tx.prepare("SELECT state FROM outbox WHERE chat_id = ?1 ORDER BY id")?;
        let rows = stmt.query_map([self.0], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[actix_rt::test]
async fn a_group_registers_refuses_a_non_admin_and_receives_alerts() {
    let w = World::start(SimBotOptions::default(), |_| {}).await;
    let group = -4242;
    w.sim.set_member(group, ADMIN_USER, "administrator");
    w.sim.set_member(group, MEMBER, "member");

    // Addressed to another bot: ignored, nothing stored, no reply.
    let id = w.sim.group_says(group, MEMBER, "/list@OtherBot");
    w.handled(id).await;
    assert_eq!(count_to(&w.sim.sent(), group), 0);
    assert_eq!(w.db(ChatRow(group)).await, None, "not registered");

    let r = w.ask(group, MEMBER, "/start@sim_bot").await;
    assert!(r.contains("Welcome"), "{r}");
    assert_eq!(
        w.db(ChatRow(group)).await,
        Some((true, Some("group".into()), Some(format!("Group{group}"))))
    );

    // A member may not change what the group watches, and is told why.
    let r = w.ask(group, MEMBER, &format!("/add {A1} Treasury")).await;
    assert!(r.contains("Only this group's administrators"), "{r}");
    assert_eq!(w.watched_by(group).await, 0, "nothing stored");

    // An administrator may, with or without the bot's name.
    let r = w
        .ask(group, ADMIN_USER, &format!("/add@sim_bot {A1} Treasury"))
        .await;
    assert!(r.contains("Treasury"), "{r}");
    assert_eq!(w.watched_by(group).await, 1);
    // So may an anonymous administrator (writing as the group).
    let before = count_to(&w.sim.sent(), group);
    w.sim.group_says_as_group(group, &format!("/remove {A1}"));
    w.sim
        .wait_for(WAIT, |all| count_to(all, group) > before)
        .await
        .expect("a reply to the anonymous admin");
    assert_eq!(w.watched_by(group).await, 0);
    w.ask(group, ADMIN_USER, &format!("/add {A1}")).await;
    // Everyone sees /list.
    let r = w.ask(group, MEMBER, "/list").await;
    assert!(r.to_lowercase().contains("0x5aae"), "{r}");

    // The group receives alerts.
    assert_eq!(w.record(1, 1).await, 1);
    let all = w
        .sim
        .wait_for(WAIT, |all| copies_of(all, 1) == 1)
        .await
        .expect("the alert reached the group");
    assert!(
        all.iter()
            .any(|m| m.chat_id == group && m.text.contains("Incoming 1 USDT"))
    );
    // One getChatMember per user: answers are cached.
    assert_eq!(w.sim.calls("getChatMember"), 2);
    w.stop().await;
}

/// The kind `migrated`: the group becomes a supergroup while its outbox
/// holds rows; Telegram answers 400 with `parameters.migrate_to_chat_id`.
#[actix_rt::test]
async fn migration_mid_outbox_loses_nothing_and_sends_nothing_twice() {
    let w = World::start(SimBotOptions::default(), |c| c.telegram.combine_after = 0).await;
    let (group, supergroup) = (-5151, -1_000_000_005_151);
    w.watch(group).await;
    assert_eq!(w.record(1, 2).await, 2);
    w.sim
        .wait_for(WAIT, |all| count_to(all, group) == 2)
        .await
        .expect("delivered before the migration");
    // A description Telegram never used: only the parameter counts.
    w.sim.migrate_group(group, supergroup, false);
    assert_eq!(w.record(3, 5).await, 5);
    let all = w
        .sim
        .wait_for(WAIT, |all| count_to(all, supergroup) == 5)
        .await
        .expect("delivered to the supergroup");
    for i in 1..=7 {
        assert_eq!(copies_of(&all, i), 1, "transfer {i}");
    }
    // The chat's history moved with it.
    until("all rows sent", || async {
        w.db(States(supergroup)).await == vec!["sent"; 7]
    })
    .await;
    assert!(w.db(States(group)).await.is_empty());
    assert_eq!(w.watched_by(supergroup).await, 1);
    assert_eq!(w.watched_by(group).await, 0);
    let row = w.db(ChatRow(supergroup)).await;
    assert_eq!(
        row.map(|r| (r.0, r.1)),
        Some((true, Some("supergroup".into())))
    );
    assert_eq!(w.stats_failed().await, 0, "not a failure");
    // Later transfers go to the new id only.
    w.record(8, 1).await;
    w.sim
        .wait_for(WAIT, |all| copies_of(all, 8) == 1)
        .await
        .expect("delivered");
    assert_eq!(count_to(&w.sim.sent(), group), 2);
    w.stop().await;
}

/// The kind `migrated`, announced by the service message (before any send
/// meets the 400).
#[actix_rt::test]
async fn a_migration_message_moves_the_group_before_anything_is_sent() {
    let w = World::start(SimBotOptions::default(), |_| {}).await;
    let (group, supergroup) = (-6161, -1_000_000_006_161);
    w.watch(group).await;
    let last = w.sim.migrate_group(group, supergroup, true).unwrap();
    w.handled(last).await;
    until("moved", || async { w.watched_by(supergroup).await == 1 }).await;
    w.record(1, 1).await;
    w.sim
        .wait_for(WAIT, |all| copies_of(all, 1) == 1)
        .await
        .expect("delivered to the supergroup");
    assert_eq!(w.sim.sent_to(supergroup).len(), 1);
    assert_eq!(w.sim.calls("sendMessage"), 1, "the old id was never tried");
    w.stop().await;
}

/// The kind `my_chat_member`: removed, the group is inactive and keeps its
/// subscriptions; added back, it is active and gets what waited.
#[actix_rt::test]
async fn a_kicked_group_is_inactive_and_delivers_once_added_back() {
    let w = World::start(SimBotOptions::default(), |_| {}).await;
    let group = -7171;
    w.watch(group).await;
    let id = w.sim.bot_in_group(group, ADMIN_USER, "member", "kicked");
    w.handled(id).await;
    until("inactive", || async {
        w.db(ChatRow(group)).await.is_some_and(|r| !r.0)
    })
    .await;
    assert_eq!(w.watched_by(group).await, 1, "subscriptions kept");
    assert_eq!(w.record(1, 1).await, 0, "nothing queued while out");
    let id = w
        .sim
        .bot_in_group(group, ADMIN_USER, "left", "administrator");
    w.handled(id).await;
    until("active", || async {
        w.db(ChatRow(group)).await.is_some_and(|r| r.0)
    })
    .await;
    assert_eq!(w.record(2, 1).await, 1);
    let all = w
        .sim
        .wait_for(WAIT, |all| copies_of(all, 2) == 1)
        .await
        .expect("delivered after coming back");
    assert_eq!(count_to(&all, group), 1);
    assert_eq!(w.sim.calls("sendMessage"), 1, "nothing tried while out");
    w.stop().await;
}

/// The kind `burst`: 200 transfers to one watched address within 10 s,
/// with Telegram's flood limits on and production pacing.
#[actix_rt::test]
async fn a_burst_of_200_arrives_combined_each_transfer_once_without_a_429() {
    let w = World::start(SimBotOptions::default(), |c| {
        c.telegram.send_rate = 25;
        c.telegram.per_chat_interval = Duration::from_secs(1);
    })
    .await;
    let chat = 8181;
    w.watch(chat).await;
    for round in 0..20 {
        assert_eq!(w.record(round * 10 + 1, 10).await, 10);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let all = w
        .sim
        .wait_for(Duration::from_secs(60), |all| {
            (1..=200).all(|i| copies_of(all, i) >= 1)
        })
        .await
        .expect("every transfer delivered");
    for i in 1..=200 {
        assert_eq!(copies_of(&all, i), 1, "transfer {i}");
    }
    let messages = count_to(&all, chat);
    assert!(messages < 40, "combined: {messages} messages");
    assert!(
        all.iter()
            .any(|m| m.text.contains("transfers</b> (newest last)"))
    );
    assert!(all.iter().all(|m| m.text.encode_utf16().count() <= 4096));
    assert_eq!(w.sim.rejected_429(), 0, "no 429");
    until("all rows sent", || async {
        w.db(States(chat)).await == vec!["sent"; 200]
    })
    .await;
    w.stop().await;
}

impl World {
    async fn stats_failed(&self) -> u64 {
        self.db(usdt_monitor::db::stats::GetStats)
            .await
            .notifications_failed
    }
}

/// The kind `ambiguous_send`, for a combined message: its answer lost
/// twice, it is sent at most twice and then all its rows are uncertain.
#[actix_rt::test]
async fn a_combined_message_whose_answer_is_lost_is_sent_twice_at_most() {
    let w = World::start(SimBotOptions::default(), |c| {
        c.telegram.send_timeout = Duration::from_millis(500);
    })
    .await;
    let chat = 9191;
    w.watch(chat).await;
    w.sim.set_answer_after_timeout(4, Duration::from_secs(3));
    assert_eq!(w.record(1, 3).await, 3);
    until("all rows uncertain", || async {
        w.db(States(chat)).await == vec!["uncertain"; 3]
    })
    .await;
    let all = w.sim.sent();
    assert_eq!(count_to(&all, chat), 2, "sent once more, then held");
    for i in 1..=3 {
        assert_eq!(copies_of(&all, i), 2, "transfer {i}");
    }
    assert!(all.iter().all(|m| m.text.contains("3 transfers")));
    w.stop().await;
}
