//! The HTTP side: `/bot<token>/<method>` routing, parameter parsing, the
//! Bot API envelope and the methods the daemon uses.
//!
//! teloxide-core sends PascalCase method names (`GetUpdates`) as JSON POSTs,
//! while curl users and other clients send camelCase with GET or forms, so
//! names are matched case-insensitively and all three encodings are read.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Map, Value, json};

use super::html::parse_html;
use super::state::Shared;
use super::updates;
use super::{ChatFault, SentMessage};

/// Telegram's limit on message text, in UTF-16 code units after entity
/// parsing.
pub(crate) const MAX_TEXT_UNITS: usize = 4096;
/// Longest long poll we honour; Telegram's own cap is similar.
const MAX_POLL_SECS: i64 = 50;
const CONFLICT: &str = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running";

type Params = Map<String, Value>;

/// A Bot API error answer.
#[derive(Debug)]
pub(crate) struct ApiErr {
    code: u16,
    description: String,
    retry_after: Option<u32>,
    migrate_to_chat_id: Option<i64>,
}

impl ApiErr {
    pub(crate) fn new(code: u16, description: impl Into<String>) -> Self {
        Self {
            code,
            description: description.into(),
            retry_after: None,
            migrate_to_chat_id: None,
        }
    }
}

impl From<&ChatFault> for ApiErr {
    fn from(f: &ChatFault) -> Self {
        ApiErr {
            migrate_to_chat_id: f.migrate_to_chat_id,
            retry_after: f.retry_after,
            ..ApiErr::new(f.error_code, f.description.clone())
        }
    }
}

type Answer = Result<Value, ApiErr>;

/// Wraps an answer in the Bot API envelope with the matching HTTP status.
/// `parameters` appears only when it has content: teloxide-core fails to
/// parse an empty `parameters` object.
fn respond(answer: Answer) -> HttpResponse {
    let (status, body) = match answer {
        Ok(result) => (StatusCode::OK, json!({ "ok": true, "result": result })),
        Err(err) => {
            let mut body = json!({
                "ok": false,
                "error_code": err.code,
                "description": err.description,
            });
            let mut parameters = Map::new();
            if let Some(secs) = err.retry_after {
                parameters.insert("retry_after".into(), json!(secs));
            }
            if let Some(id) = err.migrate_to_chat_id {
                parameters.insert("migrate_to_chat_id".into(), json!(id));
            }
            if let (false, Value::Object(map)) = (parameters.is_empty(), &mut body) {
                map.insert("parameters".into(), Value::Object(parameters));
            }
            let status =
                StatusCode::from_u16(err.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            (status, body)
        }
    };
    HttpResponse::build(status)
        .content_type("application/json")
        .body(body.to_string())
}

/// The one handler: every request lands here.
pub(crate) async fn dispatch(
    req: HttpRequest,
    body: web::Bytes,
    shared: web::Data<Shared>,
) -> HttpResponse {
    let redirect = shared.lock().redirect_to.clone();
    if let Some(url) = redirect {
        return HttpResponse::TemporaryRedirect()
            .insert_header(("Location", format!("{url}{}", req.path())))
            .content_type("text/plain; charset=utf-8")
            .body("Temporary Redirect");
    }
    respond(route(&req, &body, &shared).await)
}

async fn route(req: &HttpRequest, body: &[u8], shared: &Shared) -> Answer {
    let path = percent_decode(req.path());
    let Some((token, method)) = path
        .strip_prefix("/bot")
        .and_then(|rest| rest.split_once('/'))
    else {
        return Err(ApiErr::new(404, "Not Found"));
    };
    // Telegram answers 404 for a token that is not `<bot id>:<secret>` at
    // all, and 401 for a well-formed one it does not know.
    let well_formed = token.split_once(':').is_some_and(|(id, rest)| {
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && !rest.is_empty()
    });
    if !well_formed {
        return Err(ApiErr::new(404, "Not Found"));
    }
    if token != shared.token {
        return Err(ApiErr::new(401, "Unauthorized"));
    }
    let method = method.trim_end_matches('/').to_ascii_lowercase();
    {
        let mut st = shared.lock();
        *st.calls.entry(method.clone()).or_default() += 1;
        if st.server_errors > 0 {
            st.server_errors -= 1;
            return Err(ApiErr::new(502, "Bad Gateway"));
        }
    }
    let params = parse_params(req, body)?;
    match method.as_str() {
        "getme" => Ok(updates::me(shared.bot_id)),
        "deletewebhook" => Ok(json!(true)),
        "setmycommands" => set_my_commands(shared, &params),
        "getmycommands" => Ok(get_my_commands(shared)),
        "getupdates" => get_updates(shared, &params).await,
        "answercallbackquery" => super::callbacks::answer(shared, &params),
        "editmessagetext" => super::callbacks::edit_text(shared, &params),
        "getchatmember" => get_chat_member(shared, &params),
        "sendmessage" => {
            let (answer, late) = send_message(shared, &params);
            if let Some(delay) = late {
                answer_late(shared, delay).await;
            }
            answer
        }
        _ => Err(ApiErr::new(404, "Not Found: method not found")),
    }
}

/// Query string, then the body (JSON or form); body fields win.
fn parse_params(req: &HttpRequest, body: &[u8]) -> Result<Params, ApiErr> {
    let mut params = Params::new();
    for (k, v) in form_pairs(req.query_string())? {
        params.insert(k, Value::String(v));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(params);
    }
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let text = std::str::from_utf8(body)
            .map_err(|_| ApiErr::new(400, "Bad Request: body is not UTF-8"))?;
        for (k, v) in form_pairs(text)? {
            params.insert(k, Value::String(v));
        }
    } else if content_type.starts_with("multipart/") {
        return Err(ApiErr::new(
            400,
            "Bad Request: multipart bodies are not supported by the simulator",
        ));
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => params.extend(map),
            _ => return Err(ApiErr::new(400, "Bad Request: can't parse JSON body")),
        }
    }
    Ok(params)
}

fn form_pairs(text: &str) -> Result<HashMap<String, String>, ApiErr> {
    web::Query::<HashMap<String, String>>::from_query(text)
        .map(web::Query::into_inner)
        .map_err(|_| ApiErr::new(400, "Bad Request: can't parse parameters"))
}

/// An integer given as a JSON number or (forms, query) a decimal string.
fn int_param(params: &Params, name: &str) -> Result<Option<i64>, ApiErr> {
    let bad = || ApiErr::new(400, format!("Bad Request: invalid {name}"));
    match params.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(bad),
        Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad()),
        Some(_) => Err(bad()),
    }
}

fn str_param<'a>(params: &'a Params, name: &str) -> Option<&'a str> {
    params.get(name).and_then(Value::as_str)
}

/// A structured parameter: inline JSON, or JSON serialized into a string as
/// forms must carry it.
fn json_param(params: &Params, name: &str) -> Option<Value> {
    match params.get(name)? {
        Value::String(s) => serde_json::from_str(s).ok(),
        other => Some(other.clone()),
    }
}

fn bool_param(params: &Params, name: &str) -> bool {
    match params.get(name) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// Records the command menu; validates like Telegram so that a bad command
/// name shows up in tests rather than in production.
fn set_my_commands(shared: &Shared, params: &Params) -> Answer {
    let invalid = || ApiErr::new(400, "Bad Request: can't parse commands JSON object");
    let commands = json_param(params, "commands").ok_or_else(invalid)?;
    let list = commands.as_array().ok_or_else(invalid)?;
    if list.len() > 100 {
        return Err(ApiErr::new(400, "Bad Request: too many commands"));
    }
    let mut parsed = Vec::with_capacity(list.len());
    for item in list {
        let command = item.get("command").and_then(Value::as_str).unwrap_or("");
        let description = item
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("");
        let command_ok = (1..=32).contains(&command.len())
            && command
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !command_ok {
            return Err(ApiErr::new(400, "Bad Request: BOT_COMMAND_INVALID"));
        }
        if !(1..=256).contains(&description.chars().count()) {
            return Err(ApiErr::new(
                400,
                "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID",
            ));
        }
        parsed.push((command.to_owned(), description.to_owned()));
    }
    shared.lock().commands = parsed;
    Ok(json!(true))
}

fn get_my_commands(shared: &Shared) -> Value {
    let st = shared.lock();
    Value::Array(
        st.commands
            .iter()
            .map(|(command, description)| json!({ "command": command, "description": description }))
            .collect(),
    )
}

/// Real long polling: confirm by `offset`, answer at once when updates are
/// waiting, otherwise wait for one (or the timeout, or a newer poll, which
/// terminates this one with 409 as on Telegram).
async fn get_updates(shared: &Shared, params: &Params) -> Answer {
    let offset = int_param(params, "offset")?;
    let limit = int_param(params, "limit")?.unwrap_or(100).clamp(1, 100);
    let timeout = int_param(params, "timeout")?
        .unwrap_or(0)
        .clamp(0, MAX_POLL_SECS);
    let limit = usize::try_from(limit).unwrap_or(100);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout.unsigned_abs());

    let mut changes = shared.updates_changed.subscribe();
    let generation = {
        let mut st = shared.lock();
        if let Some(offset) = offset {
            st.updates.confirm(offset);
        }
        st.poll_generation += 1;
        st.poll_generation
    };
    // An older poll still waiting must notice it has been superseded.
    shared.wake_pollers();
    loop {
        changes.borrow_and_update();
        {
            let st = shared.lock();
            if st.poll_generation != generation {
                return Err(ApiErr::new(409, CONFLICT));
            }
            let batch = st.updates.batch(limit);
            if !batch.is_empty() || shared.stopping() {
                return Ok(Value::Array(batch));
            }
        }
        match tokio::time::timeout_at(deadline, changes.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return Ok(json!([])),
        }
    }
}

/// `getChatMember`: the status set with `SimBotApi::set_member`, else
/// `member`; the bot itself is an administrator. A private chat has its
/// user as the only member.
fn get_chat_member(shared: &Shared, params: &Params) -> Answer {
    let chat_id = int_param(params, "chat_id")?
        .ok_or_else(|| ApiErr::new(400, "Bad Request: chat_id is empty"))?;
    let user_id = int_param(params, "user_id")?
        .ok_or_else(|| ApiErr::new(400, "Bad Request: user_id is empty"))?;
    let st = shared.lock();
    if st.blocked.contains(&chat_id) || chat_id > 0 && chat_id != user_id {
        return Err(ApiErr::new(400, "Bad Request: chat not found"));
    }
    let status = match st.members.get(&(chat_id, user_id)) {
        Some(status) => status.clone(),
        None if user_id == shared.bot_id => "administrator".to_owned(),
        None => "member".to_owned(),
    };
    let user = if user_id == shared.bot_id {
        updates::bot_user(user_id)
    } else {
        updates::user(user_id)
    };
    Ok(updates::member(user, &status))
}

/// Holds an answer back for `delay` (or until the simulator stops): the
/// message is recorded already, the client gives up before it hears so.
async fn answer_late(shared: &Shared, delay: Duration) {
    let deadline = tokio::time::Instant::now() + delay;
    let mut changes = shared.updates_changed.subscribe();
    while !shared.stopping() {
        changes.borrow_and_update();
        if tokio::time::timeout_at(deadline, changes.changed())
            .await
            .is_err()
        {
            return;
        }
    }
}

/// `sendMessage`: validation, then the chat's fate (blocked, failing), then
/// flood limits; only a message that passes all of them is recorded. The
/// second value asks for the answer to be held back that long.
fn send_message(shared: &Shared, params: &Params) -> (Answer, Option<Duration>) {
    let mut late = None;
    let answer = send_message_now(shared, params, &mut late);
    (answer, late)
}

fn send_message_now(shared: &Shared, params: &Params, late: &mut Option<Duration>) -> Answer {
    let chat_id = int_param(params, "chat_id")
        .map_err(|_| ApiErr::new(400, "Bad Request: chat not found"))?
        .ok_or_else(|| ApiErr::new(400, "Bad Request: chat_id is empty"))?;
    let text = str_param(params, "text").unwrap_or_default();
    let parse_mode = str_param(params, "parse_mode").map(str::to_owned);
    let link_preview_disabled = json_param(params, "link_preview_options")
        .and_then(|o| o.get("is_disabled").and_then(Value::as_bool))
        .unwrap_or(false)
        || bool_param(params, "disable_web_page_preview");

    let visible = match parse_mode.as_deref() {
        Some(mode) if mode.eq_ignore_ascii_case("html") => {
            parse_html(text).map_err(|d| ApiErr::new(400, d))?
        }
        _ => text.to_owned(),
    };
    if visible.trim().is_empty() {
        return Err(ApiErr::new(400, "Bad Request: message text is empty"));
    }
    let reply_markup = super::callbacks::markup_param(params)?;
    if visible.encode_utf16().count() > MAX_TEXT_UNITS {
        return Err(ApiErr::new(400, "Bad Request: message is too long"));
    }

    let now = Instant::now();
    let message_id = {
        let mut st = shared.lock();
        if st.blocked.contains(&chat_id) {
            return Err(ApiErr::new(403, "Forbidden: bot was blocked by the user"));
        }
        if let Some(fault) = st.failing.get(&chat_id) {
            return Err(ApiErr::from(fault));
        }
        if !st.flood.admit(chat_id, now) {
            st.rejected_429 += 1;
            let secs = shared.retry_after_secs;
            return Err(ApiErr {
                retry_after: Some(secs),
                ..ApiErr::new(429, format!("Too Many Requests: retry after {secs}"))
            });
        }
        let message_id = st.take_message_id();
        let seq = u64::try_from(st.sent.len()).unwrap_or(u64::MAX) + 1;
        if st.late_answers > 0 {
            st.late_answers -= 1;
            st.answered_late.push(seq);
            *late = Some(st.late_delay);
        }
        st.sent.push(SentMessage {
            seq,
            at: now,
            chat_id,
            text: text.to_owned(),
            parse_mode,
            link_preview_disabled,
            message_id,
            reply_markup,
        });
        message_id
    };
    shared.notify_sent();
    Ok(json!({
        "message_id": message_id,
        "date": updates::unix_now(),
        "chat": updates::chat(chat_id),
        "from": updates::bot_user(shared.bot_id),
        "text": visible,
    }))
}

/// Decodes `%XX` escapes in a request path (a client may escape the `:`
/// of the token); anything malformed is kept literally.
fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |at: usize| bytes.get(at).and_then(|&b| (b as char).to_digit(16));
        if let (b'%', Some(hi), Some(lo)) = (bytes[i], hex(i + 1), hex(i + 2)) {
            // Two hex digits make a value below 256.
            out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod route_tests {
    use super::percent_decode;

    #[test]
    fn decodes_escaped_token() {
        assert_eq!(percent_decode("/bot1%3Aab/GetMe"), "/bot1:ab/GetMe");
        assert_eq!(percent_decode("/bot1%3/x%"), "/bot1%3/x%");
    }
}
