//! Slack's file uploads, emulated the way Slack takes files now (`files.upload` is retired):
//!
//! 1. `files.getUploadURLExternal` with `filename` and `length` gives a file id and an upload
//!    URL, here `http://127.0.0.1:PORT/upload/{id}`;
//! 2. the bytes are posted to that URL (the emulator checks they are a PNG, by its signature:
//!    Flywheel only uploads charts);
//! 3. `files.completeUploadExternal` with `files=[{id, title}]` and a `channel_id` (and a
//!    `thread_ts`) shares the file there.
//!
//! Completion is refused as Slack refuses it: an id it never gave or already completed
//! (`file_not_found`), bytes that never arrived or whose length is not the length announced
//! (`file_upload_size_mismatch`), a channel that does not exist, is archived or the bot is not
//! in (`channel_not_found`, `is_archived`, `not_in_channel`), a thread that is not there.
//! Shared files are kept ([`SlackEmulator::files`]) and show in `conversations.history` as
//! messages carrying `files`, as Slack shows them.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::{
    Answer, BOT_USER_ID, Emulated, Shared, SlackEmulator, json_param, log, slack_error, str_param,
    thread_param,
};

/// The first bytes of every PNG file.
pub const PNG_SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";

/// A file shared by `files.completeUploadExternal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedFile {
    /// Slack's id for the file (`F…`).
    pub id: String,
    /// The channel it was shared in; `None` when completed without one (private to the bot).
    pub channel: Option<String>,
    /// The thread it was shared in.
    pub thread_ts: Option<String>,
    /// The `ts` of the message that shares it.
    pub ts: String,
    /// The file name given to `files.getUploadURLExternal`.
    pub filename: String,
    /// The title given at completion.
    pub title: Option<String>,
    /// The alt text given to `files.getUploadURLExternal`.
    pub alt_text: Option<String>,
    /// The bytes posted to the upload URL.
    pub bytes: Vec<u8>,
}

/// The file side of the emulator's state.
#[derive(Default)]
pub(super) struct Files {
    /// The last number given to a file id.
    serial: u64,
    /// Files announced by `files.getUploadURLExternal` and not completed yet, by id.
    pending: HashMap<String, Pending>,
    /// Every shared file, in order.
    pub(super) shared: Vec<UploadedFile>,
}

struct Pending {
    filename: String,
    length: usize,
    alt_text: Option<String>,
    bytes: Option<Vec<u8>>,
}

impl SlackEmulator {
    /// Every file shared so far, in order.
    pub fn files(&self) -> Vec<UploadedFile> {
        self.lock().files.shared.clone()
    }

    /// The files shared in one channel, in order.
    pub fn files_in(&self, channel: &str) -> Vec<UploadedFile> {
        self.lock()
            .files
            .shared
            .iter()
            .filter(|f| f.channel.as_deref() == Some(channel))
            .cloned()
            .collect()
    }
}

/// `files.getUploadURLExternal`.
pub(super) fn get_upload_url(
    shared: &Shared,
    state: &mut Emulated,
    params: &Map<String, Value>,
) -> Answer {
    let Some(filename) = str_param(params, "filename") else {
        return Err(slack_error("invalid_arguments"));
    };
    let length = match params.get("length") {
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    };
    let Some(length) = length
        .filter(|n| *n > 0)
        .and_then(|n| usize::try_from(n).ok())
    else {
        return Err(slack_error("invalid_arguments"));
    };
    state.files.serial += 1;
    let id = format!("F0EMULATED{:06}", state.files.serial);
    state.files.pending.insert(
        id.clone(),
        Pending {
            filename: filename.to_string(),
            length,
            alt_text: str_param(params, "alt_txt").map(str::to_string),
            bytes: None,
        },
    );
    Ok(json!({
        "upload_url": format!("http://{}/upload/{id}", shared.addr),
        "file_id": id,
    }))
}

/// `POST /upload/{id}`: the bytes of an announced file. Slack answers `OK - {length}` as
/// plain text.
pub(super) async fn upload(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let mut state = shared.lock();
    let channel = None;
    let Some(pending) = state.files.pending.get_mut(&id) else {
        drop(state);
        log(&shared, "upload", &channel, "http 404");
        return (StatusCode::NOT_FOUND, "no such upload").into_response();
    };
    if !body.starts_with(PNG_SIGNATURE) {
        drop(state);
        log(&shared, "upload", &channel, "not a png");
        return (StatusCode::BAD_REQUEST, "the emulator only takes PNG files").into_response();
    }
    let length = body.len();
    pending.bytes = Some(body.to_vec());
    drop(state);
    log(&shared, "upload", &channel, "ok");
    format!("OK - {length}").into_response()
}

/// `files.completeUploadExternal`; the channel, when named, was checked by the caller.
pub(super) fn complete(
    shared: &Shared,
    state: &mut Emulated,
    params: &Map<String, Value>,
    channel: Option<&str>,
) -> Answer {
    let files = match json_param(params, "files") {
        Some(Ok(Value::Array(files))) if !files.is_empty() => files,
        _ => return Err(slack_error("invalid_arguments")),
    };
    let thread_ts = match channel {
        Some(channel) => thread_param(state, channel, params)?,
        None => None,
    };
    // Every file is checked before any is shared.
    let mut ids = Vec::new();
    for file in &files {
        let Some(id) = file["id"].as_str() else {
            return Err(slack_error("invalid_arguments"));
        };
        let Some(pending) = state.files.pending.get(id) else {
            return Err(slack_error("file_not_found"));
        };
        if pending.bytes.as_ref().map(Vec::len) != Some(pending.length) {
            return Err(slack_error("file_upload_size_mismatch"));
        }
        if ids.contains(&id) {
            return Err(slack_error("invalid_arguments"));
        }
        ids.push(id);
    }
    let mut shared_files = Vec::new();
    for file in &files {
        let id = file["id"].as_str().unwrap_or_default();
        let Some(pending) = state.files.pending.remove(id) else {
            continue;
        };
        let ts = shared.next_ts(state);
        let uploaded = UploadedFile {
            id: id.to_string(),
            channel: channel.map(str::to_string),
            thread_ts: thread_ts.clone(),
            ts,
            title: file["title"].as_str().map(str::to_string),
            filename: pending.filename,
            alt_text: pending.alt_text,
            bytes: pending.bytes.unwrap_or_default(),
        };
        shared_files.push(file_json(&uploaded));
        state.files.shared.push(uploaded);
    }
    Ok(json!({ "files": shared_files }))
}

/// A file as Slack describes it.
pub(super) fn file_json(file: &UploadedFile) -> Value {
    json!({
        "id": file.id,
        "name": file.filename,
        "title": file.title.clone().unwrap_or_else(|| file.filename.clone()),
        "mimetype": "image/png",
        "filetype": "png",
        "user": BOT_USER_ID,
        "size": file.bytes.len(),
    })
}

/// The message sharing `file`, as `conversations.history` shows it.
pub(super) fn share_message(file: &UploadedFile) -> Value {
    json!({
        "type": "message",
        "subtype": "file_share",
        "user": BOT_USER_ID,
        "bot_id": "B0FLYWHEEL",
        "text": "",
        "ts": file.ts,
        "files": [file_json(file)],
    })
}
