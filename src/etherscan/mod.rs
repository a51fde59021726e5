//! The scanner (placeholder until the Etherscan issue lands: it answers
//! polls without scanning).

use actix::{Actor, Context, Handler, Message};

use crate::app::Shared;
use crate::supervisor::{ChildGuard, Control, obey};

/// Scan every configured chain and token up to the safe head.
#[derive(Debug, Message)]
#[rtype(result = "()")]
pub struct Poll;

pub struct EtherscanActor {
    _shared: Shared,
    _guard: ChildGuard,
}

impl EtherscanActor {
    pub fn new(shared: Shared, guard: ChildGuard) -> Self {
        EtherscanActor {
            _shared: shared,
            _guard: guard,
        }
    }
}

impl Actor for EtherscanActor {
    type Context = Context<Self>;
}

impl Handler<Poll> for EtherscanActor {
    type Result = ();
    fn handle(&mut self, _: Poll, _: &mut Context<Self>) {
        tracing::debug!(actor = "etherscan", "poll");
    }
}

impl Handler<Control> for EtherscanActor {
    type Result = ();
    fn handle(&mut self, msg: Control, ctx: &mut Context<Self>) {
        obey(msg, ctx)
    }
}
