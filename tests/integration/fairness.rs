//! Fair delivery (issue 20): one chat's burst, backlog or pacing wait never
//! holds up another chat. The real teloxide-core client against the
//! simulated Bot API, a real supervisor tree and a real SQLite file. Every
//! wait is on a condition; the assertions are on order and on what the
//! users see, never on durations.

use std::time::{Duration, Instant};

use usdt_monitor::app::{self, Shared};
use usdt_monitor::config::{Config, Secret, Secrets};
use usdt_monitor::db::chats::UpsertChat;
use usdt_monitor::db::poll_result::RecordPollResult;
use usdt_monitor::db::subscriptions::AddSubscription;
use usdt_monitor::db::{DbError, DbRequest};
use usdt_monitor::domain::{Address, Amount, TokenSymbol, Transfer};
use usdt_monitor::sim::botapi::{ChatFault, SentMessage, SimBotApi, SimBotOptions};
use usdt_monitor::supervisor::{Shutdown, SupervisorHandle};

const WAIT: Duration = Duration::from_secs(20);
const ADMIN: i64 = 900;
/// The flooded chat and the quiet one.
const FLOODED: i64 = 1001;
const QUIET: i64 = 1002;
const A1: &str = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed";
const A2: &str = "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359";
const SENDER: &str = "0x1111111111111111111111111111111111111111";

struct World {
    sim: SimBotApi,
    _dir: tempfile::TempDir,
    shared: Shared,
    tree: SupervisorHandle,
}

impl World {
    async fn start(tweak: impl FnOnce(&mut Config)) -> World {
        let opts = SimBotOptions {
            flood_limits: false,
            ..SimBotOptions::default()
        };
        let sim = SimBotApi::start(opts).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut c = Config::default();
        c.telegram.api_url = sim.api_url();
        c.telegram.admins = vec![ADMIN];
        c.telegram.long_poll_timeout = Duration::from_secs(5);
        c.telegram.send_rate = 100;
        c.telegram.per_chat_interval = Duration::from_millis(20);
        c.telegram.command_limit = 1000;
        // Every notification its own message: the order is what is tested.
        c.telegram.combine_after = 0;
        c.etherscan.base_url = "http://127.0.0.1:9/v2/api".into();
        c.blockscout.enabled = false;
        c.monitor.poll_interval = Duration::from_secs(3600);
        c.database.path = dir.path().join("monitor.db");
        c.supervisor.shutdown_timeout = Duration::from_secs(5);
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

    /// `chat` (private) watches `address`.
    async fn watch(&self, chat: i64, address: &str) {
        self.db(UpsertChat {
            chat_id: chat,
            username: None,
            first_name: None,
        })
        .await;
        self.db(AddSubscription {
            chat_id: chat,
            chain_id: 1,
            address: Address::parse(address).unwrap(),
            label: None,
            limit: 100,
        })
        .await;
    }

    /// Records transfers of `first`, … `first + n - 1` USDT to `to`, in
    /// one poll write; returns the notifications queued.
    async fn record(&self, to: &str, first: u64, n: u64) -> usize {
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

    /// Waits until the bot confirmed every update up to `last` (it asked
    /// for the next ones: the batch holding `last` was handled).
    async fn handled(&self, last: i64) {
        until("updates handled", || async {
            self.sim.confirmed_offset() > last
        })
        .await;
    }

    /// The bot's next message to `chat` after `text` from it (from user
    /// 11 in a group).
    async fn ask(&self, chat: i64, text: &str) -> String {
        let before = self.sim.sent_to(chat).len();
        if chat < 0 {
            self.sim.group_says(chat, 11, text);
        } else {
            self.sim.user_says(chat, text);
        }
        let all = self
            .sim
            .wait_for(WAIT, |all| count_to(all, chat) > before)
            .await
            .unwrap_or_else(|_| panic!("no reply to {text:?}"));
        let replies: Vec<&SentMessage> = all.iter().filter(|m| m.chat_id == chat).collect();
        replies[before].text.clone()
    }
}

/// A transfer of `i` USDT to `to` (log index `i`, in a transaction of
/// its own per recipient).
fn transfer(i: u64, to: &str) -> Transfer {
    let tx = if to == A1 { '5' } else { '6' };
    Transfer {
        chain_id: 1,
        tx_hash: format!("0x{}", tx.to_string().repeat(64)),
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

fn is_transfer(m: &SentMessage) -> bool {
    m.text.contains("USDT</b>")
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

/// The outbox of one chat: (state, folded into a fold row) per row.
struct Rows(i64);

impl DbRequest for Rows {
    type Output = Vec<(String, bool)>;
    const WRITES: bool = false;
    fn run(self, tx: &rusqlite::Transaction<'_>) -> Result<Self::Output, DbError> {
        let mut stmt = tx.prepare(
            "SELECT state, folded_into IS NOT NULL FROM outbox
             WHERE chat_id = ?1 AND transfer_id IS NOT NULL ORDER BY id",
        )?;
        let rows = stmt.query_map([self.0], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

/// A quiet chat's notification goes out while another chat's burst of
/// 1 500 is still being sent: before the fix, the fetch took the 500
/// oldest rows of all chats and the quiet chat waited behind hundreds.
#[actix_rt::test]
async fn a_quiet_chats_notification_is_not_held_behind_another_chats_burst() {
    let w = World::start(|c| {
        c.telegram.max_pending_per_chat = 100_000;
        c.telegram.send_rate = 200;
        c.telegram.per_chat_interval = Duration::from_millis(5);
    })
    .await;
    w.watch(FLOODED, A1).await;
    w.watch(QUIET, A2).await;
    assert_eq!(w.record(A1, 1, 1500).await, 1500);
    assert_eq!(w.record(A2, 7, 1).await, 1);

    let all = w
        .sim
        .wait_for(WAIT, |all| count_to(all, QUIET) >= 1)
        .await
        .expect("the quiet chat is notified");
    let quiet = all.iter().find(|m| m.chat_id == QUIET).unwrap();
    assert!(quiet.text.contains("Incoming 7 USDT"), "{}", quiet.text);
    let flooded_before = all
        .iter()
        .filter(|m| m.chat_id == FLOODED && m.seq < quiet.seq)
        .count();
    assert!(
        flooded_before < 100,
        "the quiet chat waited behind {flooded_before} of the burst's messages"
    );
    // The burst itself is sent whole, in order.
    let all = w
        .sim
        .wait_for(Duration::from_secs(60), |all| {
            count_to(all, FLOODED) >= 1500
        })
        .await
        .expect("the whole burst is sent");
    let amounts: Vec<u64> = all
        .iter()
        .filter(|m| m.chat_id == FLOODED)
        .map(|m| {
            let rest = m.text.split("Incoming ").nth(1).unwrap();
            let amount = rest.split(' ').next().unwrap().replace(',', "");
            amount.parse().unwrap()
        })
        .collect();
    assert_eq!(
        amounts,
        (1..=1500).collect::<Vec<u64>>(),
        "in order, once each"
    );
    w.stop().await;
}

/// An admin alert goes before the admin's own waiting notifications.
#[actix_rt::test]
async fn an_admin_alert_goes_before_waiting_notifications() {
    let w = World::start(|c| c.telegram.max_pending_per_chat = 100_000).await;
    w.watch(ADMIN, A1).await;
    w.shared.alerts.raise(
        "test:fairness",
        "Something only a human can fix (raised during a burst).",
    );
    // The alert is queued within the alert loop's round (2 s): 100 of the
    // burst may go first; without priority it went after all 1 000.
    assert_eq!(w.record(A1, 1, 1000).await, 1000);
    let all = w
        .sim
        .wait_for(WAIT, |all| {
            all.iter()
                .any(|m| m.chat_id == ADMIN && m.text.contains("Needs attention"))
        })
        .await
        .expect("the alert is sent");
    let alert = all
        .iter()
        .find(|m| m.text.contains("Needs attention"))
        .unwrap();
    let before = all
        .iter()
        .filter(|m| m.chat_id == ADMIN && is_transfer(m) && m.seq < alert.seq)
        .count();
    assert!(
        before < 500,
        "the alert waited behind {before} of the 1 000 notifications"
    );
    w.stop().await;
}

/// Past `telegram.max_pending_per_chat`, a chat's waiting rows are folded
/// into one message that counts them; every row is accounted for (sent
/// one by one or counted in that message, and marked sent), the fold is
/// counted in `/metrics` and `/status`, and another chat is not affected.
#[actix_rt::test]
async fn a_chats_backlog_is_folded_into_one_counted_message() {
    let w = World::start(|c| c.telegram.max_pending_per_chat = 10).await;
    w.watch(FLOODED, A1).await;
    w.watch(QUIET, A2).await;
    assert_eq!(w.record(A1, 1, 100).await, 100);
    assert_eq!(w.record(A2, 1, 3).await, 3);

    let all = w
        .sim
        .wait_for(WAIT, |all| {
            all.iter()
                .any(|m| m.chat_id == FLOODED && m.text.contains("more transfers"))
        })
        .await
        .expect("the folded message is sent");
    let fold = all
        .iter()
        .find(|m| m.chat_id == FLOODED && m.text.contains("more transfers"))
        .unwrap();
    let folded: u64 = {
        let rest = fold.text.split("And ").nth(1).unwrap();
        rest.split(' ').next().unwrap().parse().unwrap()
    };
    assert!(fold.text.contains("/list"), "{}", fold.text);
    assert!(
        fold.text.contains("since 2025-11-28 02:30:23 UTC"),
        "{}",
        fold.text
    );
    let single = all
        .iter()
        .filter(|m| m.chat_id == FLOODED && is_transfer(m))
        .count() as u64;
    assert!(
        single <= 60 && folded >= 40,
        "{single} sent one by one, {folded} folded"
    );
    assert_eq!(single + folded, 100, "every transfer accounted for");
    // Every row is marked: sent one by one, or sent as part of the fold.
    until("every row marked", || async {
        let rows = w.db(Rows(FLOODED)).await;
        rows.iter().all(|(state, _)| state == "sent")
    })
    .await;
    let rows = w.db(Rows(FLOODED)).await;
    assert_eq!(rows.len(), 100, "nothing deleted");
    assert_eq!(rows.iter().filter(|(_, f)| *f).count() as u64, folded);
    assert_eq!(w.shared.instruments.notifications_folded.get(), folded);
    // The quiet chat gets its three, none folded (paced one a second, they
    // may still be on their way when the flooded chat's are all marked).
    until("the quiet chat's rows sent", || async {
        let rows = w.db(Rows(QUIET)).await;
        rows.len() == 3 && rows.iter().all(|(state, _)| state == "sent")
    })
    .await;
    assert!(w.db(Rows(QUIET)).await.iter().all(|(_, folded)| !*folded));
    assert!(w.sim.sent_to(QUIET).iter().any(is_transfer));
    let status = w.ask(ADMIN, "/status").await;
    assert!(
        status.contains(&format!("{folded} folded since start")),
        "{status}"
    );
    w.stop().await;
}

/// A reply waiting for its group's per-minute budget holds neither the
/// update loop nor another chat's reply.
#[actix_rt::test]
async fn a_group_waiting_for_its_budget_does_not_hold_another_chats_reply() {
    let w = World::start(|c| c.telegram.group_per_minute = 1).await;
    let group = -4242;
    assert!(w.ask(group, "/help").await.contains("/add"));
    // The group's budget (one a minute) is used: this reply must wait.
    let id = w.sim.group_says(group, 11, "/help");
    w.handled(id).await;
    let reply = w.ask(QUIET, "/help").await;
    assert!(reply.contains("/add"), "{reply}");
    assert_eq!(
        w.sim.sent_to(group).len(),
        1,
        "the group's second reply still waits for its budget"
    );
    w.stop().await;
}

/// A button press is answered while another chat is in a flood wait
/// (429 `retry_after`), and a command of a third chat is handled: before
/// the fix, the update loop waited for the flooded chat's reply.
#[actix_rt::test]
async fn a_button_press_is_answered_during_another_chats_flood_wait() {
    let w = World::start(|_| {}).await;
    w.watch(QUIET, A2).await;
    assert_eq!(w.record(A2, 5, 1).await, 1);
    let all = w
        .sim
        .wait_for(WAIT, |all| count_to(all, QUIET) >= 1)
        .await
        .expect("notified");
    let notification = all.iter().find(|m| m.chat_id == QUIET).unwrap().clone();
    let mute = notification.callback_data()[0].clone();

    // Every send to the flooded chat answers 429, retry after 30 s.
    w.sim
        .fail_chat_with(FLOODED, Some(ChatFault::too_many_requests(30)));
    let sends = w.sim.calls("sendMessage");
    let id = w.sim.user_says(FLOODED, "/help");
    until("the flooded chat's reply refused", || async {
        w.sim.calls("sendMessage") > sends
    })
    .await;
    w.handled(id).await;

    let query = w
        .sim
        .user_presses(QUIET, QUIET, notification.message_id, &mute);
    let answer = w
        .sim
        .wait_for_answer(WAIT, &query)
        .await
        .expect("the press is answered during the flood wait");
    assert!(
        answer.text.as_deref().unwrap_or("").contains("muted"),
        "{answer:?}"
    );
    assert_eq!(
        w.sim.calls("sendMessage"),
        sends + 1,
        "answered before the flooded chat's reply was tried again (after its retry_after)"
    );
    w.stop().await;
}
