//! Who may change a chat's settings (`/set`, `/mute`, `/unmute`, the
//! buttons): the one question every settings change asks, in one place.

use super::Core;

/// May user `user_id` change the settings of chat `chat_id`?
///
/// In a private chat (its id is the user's id) only that user may. Group
/// chats (negative ids) are refused here: the group administrators check
/// (`getChatMember`, issue 11) takes this function's place when group
/// chats are served.
pub async fn may_change_settings(_core: &Core, chat_id: i64, user_id: i64) -> bool {
    chat_id > 0 && chat_id == user_id
}
