//! The bot (placeholder until the Telegram issue lands: it does nothing
//! yet).

use actix::{Actor, Context, Handler};

use crate::app::Shared;
use crate::supervisor::{ChildGuard, Control, obey};

pub struct TelegramActor {
    _shared: Shared,
    _guard: ChildGuard,
}

impl TelegramActor {
    pub fn new(shared: Shared, guard: ChildGuard) -> Self {
        TelegramActor {
            _shared: shared,
            _guard: guard,
        }
    }
}

impl Actor for TelegramActor {
    type Context = Context<Self>;
}

impl Handler<Control> for TelegramActor {
    type Result = ();
    fn handle(&mut self, msg: Control, ctx: &mut Context<Self>) {
        obey(msg, ctx)
    }
}
