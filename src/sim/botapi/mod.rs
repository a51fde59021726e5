//! The simulated Telegram Bot API: a real HTTP server on 127.0.0.1 that
//! speaks the Bot API shapes, for tests, benchmarks and the demo.
//!
//! The daemon talks to it with its real client (teloxide-core) pointed at
//! [`SimBotApi::api_url`], so everything between the bot's logic and the
//! wire is exercised: serialization, error mapping (429 → `RetryAfter`,
//! 403 → `BotBlocked`), long polling and offset handling. Tests play the
//! users' side through this handle: inject messages and membership changes,
//! make chats block the bot or fail, inject server errors, and inspect what
//! the bot sent. Nothing here is a mock: wrong requests fail as on Telegram.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use usdt_monitor::sim::botapi::{SimBotApi, SimBotOptions};
//! let sim = SimBotApi::start(SimBotOptions::default()).await?;
//! let bot = teloxide_core::Bot::new("123456:sim-token")
//!     .set_api_url(sim.api_url().parse().expect("valid url"));
//! sim.user_says(42, "/start");
//! // ... run the bot, then:
//! let sent = sim
//!     .wait_for(std::time::Duration::from_secs(5), |s| !s.is_empty())
//!     .await;
//! # drop((bot, sent)); Ok(()) }
//! ```

mod callbacks;
mod flood;
mod html;
mod server;
mod state;
mod updates;

#[cfg(test)]
mod tests;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer, web};
use serde_json::json;

pub use callbacks::{CallbackAnswer, EditedMessage};
use state::Shared;

/// How the simulator behaves; `Default` is what most tests want.
#[derive(Debug, Clone)]
pub struct SimBotOptions {
    /// The only token accepted; requests with another well-formed
    /// `<bot id>:<secret>` token get 401, with a malformed one 404.
    pub token: String,
    /// Enforce Telegram-like flood limits on `sendMessage`.
    pub flood_limits: bool,
    /// Sustained messages per second into one chat (burst of 3 on top).
    /// A non-positive or non-finite value disables this limit.
    pub per_chat_per_sec: f64,
    /// Sustained messages per second across all chats (burst of about one
    /// second's worth). A non-positive or non-finite value disables it.
    pub global_per_sec: f64,
    /// Sustained messages per minute into one group (negative chat id),
    /// as a bucket of that many refilling over a minute (Telegram: about
    /// 20). A non-positive or non-finite value disables this limit.
    pub group_per_min: f64,
    /// The `parameters.retry_after` put in every 429.
    pub retry_after_secs: u32,
}

impl Default for SimBotOptions {
    fn default() -> Self {
        Self {
            token: "123456:sim-token".to_owned(),
            flood_limits: true,
            per_chat_per_sec: 1.0,
            global_per_sec: 30.0,
            group_per_min: 20.0,
            retry_after_secs: 1,
        }
    }
}

/// One accepted `sendMessage`.
#[derive(Clone, Debug)]
pub struct SentMessage {
    /// 1-based position among all accepted messages.
    pub seq: u64,
    /// When the simulator accepted it (for pacing assertions).
    pub at: Instant,
    pub chat_id: i64,
    /// The text exactly as the bot sent it (HTML tags and entities intact).
    pub text: String,
    pub parse_mode: Option<String>,
    /// `link_preview_options.is_disabled` or the deprecated
    /// `disable_web_page_preview`.
    pub link_preview_disabled: bool,
    pub message_id: i64,
    /// The `reply_markup` sent with it (an inline keyboard), as JSON;
    /// replaced by `editMessageText`.
    pub reply_markup: Option<serde_json::Value>,
}

impl SentMessage {
    /// The `callback_data` of every button of its inline keyboard, in order.
    pub fn callback_data(&self) -> Vec<String> {
        self.buttons("callback_data")
    }

    /// The `url` of every URL button of its inline keyboard, in order.
    pub fn button_urls(&self) -> Vec<String> {
        self.buttons("url")
    }

    fn buttons(&self, field: &str) -> Vec<String> {
        let rows = self
            .reply_markup
            .as_ref()
            .and_then(|m| m.get("inline_keyboard"))
            .and_then(serde_json::Value::as_array);
        rows.into_iter()
            .flatten()
            .filter_map(serde_json::Value::as_array)
            .flatten()
            .filter_map(|b| b.get(field).and_then(serde_json::Value::as_str))
            .map(str::to_owned)
            .collect()
    }
}

/// How `sendMessage` to one chat fails: an error answer as the Bot API
/// gives it. The constructors give the real wordings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatFault {
    /// `error_code`, also the HTTP status.
    pub error_code: u16,
    pub description: String,
    /// `parameters.migrate_to_chat_id`, if any.
    pub migrate_to_chat_id: Option<i64>,
    /// `parameters.retry_after` (seconds), if any.
    pub retry_after: Option<u32>,
}

impl ChatFault {
    /// 400 with this description.
    pub fn bad_request(description: &str) -> Self {
        ChatFault {
            error_code: 400,
            description: description.to_owned(),
            migrate_to_chat_id: None,
            retry_after: None,
        }
    }

    /// 403 with this description.
    pub fn forbidden(description: &str) -> Self {
        ChatFault {
            error_code: 403,
            description: description.to_owned(),
            migrate_to_chat_id: None,
            retry_after: None,
        }
    }

    /// 400 "Bad Request: chat not found".
    pub fn chat_not_found() -> Self {
        Self::bad_request("Bad Request: chat not found")
    }

    /// 403 "Forbidden: user is deactivated".
    pub fn user_deactivated() -> Self {
        Self::forbidden("Forbidden: user is deactivated")
    }

    /// 403 "Forbidden: bot was kicked from the group chat".
    pub fn kicked() -> Self {
        Self::forbidden("Forbidden: bot was kicked from the group chat")
    }

    /// 403 "Forbidden: bot can't initiate conversation with a user".
    pub fn cant_initiate() -> Self {
        Self::forbidden("Forbidden: bot can't initiate conversation with a user")
    }

    /// 400 "not enough rights to send text messages to the chat", seen
    /// as a transient fault of the Bot API.
    pub fn not_enough_rights() -> Self {
        Self::bad_request("Bad Request: not enough rights to send text messages to the chat")
    }

    /// 400 with `parameters.migrate_to_chat_id`: the group became a
    /// supergroup with id `to`.
    pub fn migrated(to: i64) -> Self {
        ChatFault {
            migrate_to_chat_id: Some(to),
            ..Self::bad_request("Bad Request: group chat was upgraded to a supergroup chat")
        }
    }

    /// 429 "Too Many Requests: retry after N" with `parameters.retry_after`
    /// = `secs`, as the flood limit answers (here for every send to the
    /// chat, until cleared).
    pub fn too_many_requests(secs: u32) -> Self {
        ChatFault {
            error_code: 429,
            description: format!("Too Many Requests: retry after {secs}"),
            migrate_to_chat_id: None,
            retry_after: Some(secs),
        }
    }
}

/// Stops the server when the last handle goes away, so a test that forgets
/// [`SimBotApi::stop`] does not leave a worker thread behind.
struct ServerGuard {
    handle: Mutex<Option<ServerHandle>>,
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        let handle = self
            .handle
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(handle) = handle {
            // The stop command is sent synchronously; completion is not awaited.
            drop(handle.stop(false));
        }
    }
}

/// Handle to a running simulator; cheap to clone, usable from any thread.
#[derive(Clone)]
pub struct SimBotApi {
    shared: Arc<Shared>,
    guard: Arc<ServerGuard>,
    url: String,
}

impl std::fmt::Debug for SimBotApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimBotApi").field("url", &self.url).finish()
    }
}

impl SimBotApi {
    /// Binds 127.0.0.1 on a free port and starts serving (one worker,
    /// signals disabled). Needs a Tokio runtime (an actix `System`,
    /// `#[actix_rt::test]` or plain Tokio all work).
    pub async fn start(opts: SimBotOptions) -> std::io::Result<SimBotApi> {
        Self::start_on(opts, 0).await
    }

    /// Like [`SimBotApi::start`], on 127.0.0.1:`port` (0: any free port),
    /// e.g. to bring the Bot API back where a client found nothing
    /// listening.
    pub async fn start_on(opts: SimBotOptions, port: u16) -> std::io::Result<SimBotApi> {
        let shared = Arc::new(Shared::new(&opts));
        let data = web::Data::from(Arc::clone(&shared));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(server::dispatch))
        })
        .workers(1)
        // Like a real API front end: idle keep-alive connections live for
        // a while (actix-web's default is 5 s, which would make clients
        // reconnect every few seconds).
        .keep_alive(std::time::Duration::from_secs(75))
        .disable_signals()
        // Long polls are woken on stop, so a short grace period suffices.
        .shutdown_timeout(1)
        .bind(("127.0.0.1", port))?;
        let port = server
            .addrs()
            .first()
            .map(|addr| addr.port())
            .ok_or_else(|| std::io::Error::other("the simulator bound no address"))?;
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Ok(SimBotApi {
            shared,
            guard: Arc::new(ServerGuard {
                handle: Mutex::new(Some(handle)),
            }),
            url: format!("http://127.0.0.1:{port}"),
        })
    }

    /// The base URL for `Bot::set_api_url`; the client appends
    /// `/bot<token>/<Method>`.
    pub fn api_url(&self) -> String {
        self.url.clone()
    }

    /// The accepted token.
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// The bot's user id (the numeric prefix of the token, else 123456).
    pub fn bot_id(&self) -> i64 {
        self.shared.bot_id
    }

    /// A private-chat message from user `user_id`; returns the update id.
    pub fn user_says(&self, user_id: i64, text: &str) -> i64 {
        self.shared.push_update(|st| {
            let message = updates::text_message(
                st.take_message_id(),
                updates::chat(user_id),
                updates::user(user_id),
                text,
            );
            serde_json::json!({ "message": message })
        })
    }

    /// A message from user `user_id` in group `chat_id` (negative id).
    pub fn group_says(&self, chat_id: i64, user_id: i64, text: &str) -> i64 {
        let group_id = if chat_id < 0 { chat_id } else { -chat_id };
        self.shared.push_update(|st| {
            let message = updates::text_message(
                st.take_message_id(),
                updates::chat(group_id),
                updates::user(user_id),
                text,
            );
            serde_json::json!({ "message": message })
        })
    }

    /// User `user_id` presses the inline button with `data` under message
    /// `message_id` in chat `chat_id` (a `callback_query` update); returns
    /// the callback query id, to be answered by the bot with
    /// `answerCallbackQuery`.
    pub fn user_presses(&self, user_id: i64, chat_id: i64, message_id: i64, data: &str) -> String {
        let bot_id = self.shared.bot_id;
        let mut query_id = String::new();
        self.shared.push_update(|st| {
            query_id = format!("cq{}", st.next_query_id);
            st.next_query_id += 1;
            st.open_queries.insert(query_id.clone());
            callbacks::press(st, bot_id, &query_id, user_id, chat_id, message_id, data)
        });
        query_id
    }

    /// Every accepted `answerCallbackQuery`, in order.
    pub fn callback_answers(&self) -> Vec<CallbackAnswer> {
        self.shared.lock().callback_answers.clone()
    }

    /// Every accepted `editMessageText`, in order.
    pub fn edited(&self) -> Vec<EditedMessage> {
        self.shared.lock().edited.clone()
    }

    /// Resolves with the answer to callback query `query_id` once it is
    /// given; `None` on timeout.
    pub async fn wait_for_answer(
        &self,
        timeout: Duration,
        query_id: &str,
    ) -> Option<CallbackAnswer> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut changes = self.shared.sent_changed.subscribe();
        loop {
            changes.borrow_and_update();
            let found = (self.shared.lock().callback_answers.iter())
                .find(|a| a.query_id == query_id)
                .cloned();
            if found.is_some() {
                return found;
            }
            if !matches!(
                tokio::time::timeout_at(deadline, changes.changed()).await,
                Ok(Ok(()))
            ) {
                return None;
            }
        }
    }

    /// A group message sent by an anonymous administrator (`sender_chat` =
    /// the group, from `@GroupAnonymousBot`); returns the update id.
    pub fn group_says_as_group(&self, chat_id: i64, text: &str) -> i64 {
        self.shared.push_update(
            |st| json!({ "message": updates::as_the_group(st.take_message_id(), chat_id, text) }),
        )
    }

    /// Sets `user_id`'s status in group `chat_id` for `getChatMember`
    /// (`creator`, `administrator`, `member`, `left`, `kicked`); anyone not
    /// set is a `member`.
    pub fn set_member(&self, chat_id: i64, user_id: i64, status: &str) {
        self.shared
            .lock()
            .members
            .insert((chat_id, user_id), status.to_owned());
    }

    /// A `my_chat_member` update for group `chat_id`: user `by` changed the
    /// bot's status from `old_status` to `new_status` (`member` or
    /// `administrator` when added, `left` or `kicked` when removed). While
    /// the bot is `left` or `kicked`, `sendMessage` to the group answers 403
    /// "Forbidden: bot was kicked from the group chat", as on Telegram.
    pub fn bot_in_group(&self, chat_id: i64, by: i64, old_status: &str, new_status: &str) -> i64 {
        {
            let mut st = self.shared.lock();
            if matches!(new_status, "left" | "kicked") {
                st.failing.insert(chat_id, ChatFault::kicked());
            } else if st.failing.get(&chat_id) == Some(&ChatFault::kicked()) {
                st.failing.remove(&chat_id);
            }
        }
        let bot_id = self.shared.bot_id;
        self.shared
            .push_update(|_| updates::my_group_member(bot_id, chat_id, by, old_status, new_status))
    }

    /// Group `from` becomes supergroup `to` (a `-100…` id): from now on
    /// `sendMessage` to `from` answers 400 with `parameters.migrate_to_chat_id`
    /// = `to`; with `announce`, the two service messages are queued too
    /// (`migrate_to_chat_id` in the old group, `migrate_from_chat_id` in
    /// the new one). Returns the id of the last update queued, if any.
    pub fn migrate_group(&self, from: i64, to: i64, announce: bool) -> Option<i64> {
        self.fail_chat_with(from, Some(ChatFault::migrated(to)));
        if !announce {
            return None;
        }
        let by = 1;
        self.shared.push_update(|st| {
            updates::migration(st.take_message_id(), from, "migrate_to_chat_id", to, by)
        });
        Some(self.shared.push_update(|st| {
            updates::migration(st.take_message_id(), to, "migrate_from_chat_id", from, by)
        }))
    }

    /// A `my_chat_member` update: user `user_id` changed the bot's status in
    /// their private chat to `new_status` (`"kicked"` = blocked,
    /// `"member"` = unblocked; `"left"` also deserializes). Does not by
    /// itself make sends fail: combine with [`SimBotApi::block_chat`].
    pub fn chat_member(&self, user_id: i64, new_status: &str) -> i64 {
        let bot_id = self.shared.bot_id;
        self.shared
            .push_update(|_| updates::my_chat_member(bot_id, user_id, new_status))
    }

    /// Queues any update object (its `update_id` is set here), for kinds the
    /// helpers above do not cover, e.g. an `edited_message`.
    pub fn push_raw_update(&self, update: serde_json::Value) -> i64 {
        self.shared.push_update(|_| update)
    }

    /// While blocked, `sendMessage` to the chat answers 403
    /// "Forbidden: bot was blocked by the user".
    pub fn block_chat(&self, chat_id: i64, blocked: bool) {
        let mut st = self.shared.lock();
        if blocked {
            st.blocked.insert(chat_id);
        } else {
            st.blocked.remove(&chat_id);
        }
    }

    /// `Some(description)`: `sendMessage` to the chat answers 400 with it
    /// (such as "Bad Request: chat not found"); `None` clears any fault.
    /// [`SimBotApi::fail_chat_with`] gives other codes and parameters.
    pub fn fail_chat(&self, chat_id: i64, description: Option<&str>) {
        self.fail_chat_with(chat_id, description.map(ChatFault::bad_request));
    }

    /// `Some(fault)`: `sendMessage` to the chat answers with it, in the Bot
    /// API's shape (`error_code`, `description`, `parameters`), until
    /// cleared with `None`.
    pub fn fail_chat_with(&self, chat_id: i64, fault: Option<ChatFault>) {
        let mut st = self.shared.lock();
        match fault {
            Some(f) => {
                st.failing.insert(chat_id, f);
            }
            None => {
                st.failing.remove(&chat_id);
            }
        }
    }

    /// The next `n` `sendMessage` calls that would succeed are recorded as
    /// delivered, but answered only `delay` later (or when the simulator
    /// stops): with `delay` beyond the client's timeout, the client never
    /// hears that they were delivered, as when an answer is lost.
    pub fn set_answer_after_timeout(&self, n: u32, delay: Duration) {
        let mut st = self.shared.lock();
        st.late_answers = n;
        st.late_delay = delay;
    }

    /// The next `n` calls of any method answer HTTP 502 "Bad Gateway".
    /// Note that teloxide-core sleeps 10 s after any 5xx answer.
    pub fn set_server_errors(&self, n: u32) {
        self.shared.lock().server_errors = n;
    }

    /// While `Some(url)`, every call answers `307 Temporary Redirect` with
    /// `Location: url` + the request's path (`/bot<token>/<method>`): a
    /// client that follows it sends the token to that host.
    pub fn set_redirect(&self, url: Option<&str>) {
        self.shared.lock().redirect_to = url.map(|u| u.trim_end_matches('/').to_string());
    }

    /// Turns flood limits on or off at run time (e.g. for a benchmark's
    /// warm-up); buckets keep their state.
    pub fn set_flood_limits(&self, enabled: bool) {
        self.shared.lock().flood.enabled = enabled;
    }

    /// Every accepted `sendMessage`, in order.
    pub fn sent(&self) -> Vec<SentMessage> {
        self.shared.lock().sent.clone()
    }

    /// The accepted messages whose answer came only after the delay of
    /// [`SimBotApi::set_answer_after_timeout`] (the client had likely given
    /// up: an ambiguous send), in order.
    pub fn answered_late(&self) -> Vec<SentMessage> {
        let st = self.shared.lock();
        st.answered_late
            .iter()
            .filter_map(|seq| st.sent.iter().find(|m| m.seq == *seq).cloned())
            .collect()
    }

    /// The accepted messages to one chat, in order.
    pub fn sent_to(&self, chat_id: i64) -> Vec<SentMessage> {
        self.shared
            .lock()
            .sent
            .iter()
            .filter(|m| m.chat_id == chat_id)
            .cloned()
            .collect()
    }

    /// Resolves with all sent messages as soon as `pred` holds for them,
    /// re-checking on every accepted message; `Err(all sent)` on timeout.
    pub async fn wait_for(
        &self,
        timeout: Duration,
        pred: impl Fn(&[SentMessage]) -> bool,
    ) -> Result<Vec<SentMessage>, Vec<SentMessage>> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut changes = self.shared.sent_changed.subscribe();
        loop {
            changes.borrow_and_update();
            let sent = self.sent();
            if pred(&sent) {
                return Ok(sent);
            }
            match tokio::time::timeout_at(deadline, changes.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) | Err(_) => {
                    let sent = self.sent();
                    return if pred(&sent) { Ok(sent) } else { Err(sent) };
                }
            }
        }
    }

    /// How many 429 answers were given.
    pub fn rejected_429(&self) -> u64 {
        self.shared.lock().rejected_429
    }

    /// How many calls of `method` (any case) arrived with the right token,
    /// including those answered with an error.
    pub fn calls(&self, method: &str) -> u64 {
        let key = method.to_ascii_lowercase();
        self.shared.lock().calls.get(&key).copied().unwrap_or(0)
    }

    /// The command menu from the last `setMyCommands`.
    pub fn my_commands(&self) -> Vec<(String, String)> {
        self.shared.lock().commands.clone()
    }

    /// The highest `offset` a `getUpdates` asked with (0 before any).
    pub fn confirmed_offset(&self) -> i64 {
        self.shared.lock().updates.confirmed_offset()
    }

    /// Updates not yet confirmed by an `offset`.
    pub fn pending_updates(&self) -> usize {
        self.shared.lock().updates.pending()
    }

    /// Ends waiting long polls (they answer `[]`) and stops the server.
    pub async fn stop(&self) {
        self.shared.begin_stop();
        let handle = self
            .guard
            .handle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        if let Some(handle) = handle {
            handle.stop(true).await;
        }
    }
}
