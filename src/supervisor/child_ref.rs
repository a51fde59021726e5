//! A reference to a child that survives its restarts.

use std::sync::Arc;
use std::time::Duration;

use actix::dev::ToEnvelope;
use actix::{Actor, Addr, Handler, Message};
use tokio::sync::watch;

/// Why a call to a child did not get an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    #[error("actor {actor} is down and did not come back within {waited:?}")]
    Unavailable {
        actor: &'static str,
        waited: Duration,
    },
    #[error("actor {actor} went down while handling the message")]
    Lost { actor: &'static str },
}

/// Where callers find a child. The supervisor publishes each new incarnation
/// here; callers never hold a stale `Addr`. A call made while the child is
/// down waits for the restarted child (up to `wait`), then fails loudly.
pub struct ChildRef<A: Actor> {
    name: &'static str,
    wait: Duration,
    slot: Arc<watch::Sender<Option<Addr<A>>>>,
}

impl<A: Actor> Clone for ChildRef<A> {
    fn clone(&self) -> Self {
        ChildRef {
            name: self.name,
            wait: self.wait,
            slot: self.slot.clone(),
        }
    }
}

impl<A: Actor> ChildRef<A> {
    /// An empty reference for child `name`; calls wait up to `wait` for it.
    pub fn new(name: &'static str, wait: Duration) -> Self {
        ChildRef {
            name,
            wait,
            slot: Arc::new(watch::Sender::new(None)),
        }
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub(crate) fn publish(&self, addr: Addr<A>) {
        self.slot.send_replace(Some(addr));
    }

    pub(crate) fn clear(&self) {
        self.slot.send_replace(None);
    }

    /// Sends `msg` and waits for the answer.
    pub async fn call<M>(&self, msg: M) -> Result<M::Result, CallError>
    where
        M: Message + Send + 'static,
        M::Result: Send,
        A: Handler<M>,
        A::Context: ToEnvelope<A, M>,
    {
        let addr = self.live().await?;
        addr.send(msg)
            .await
            .map_err(|_| CallError::Lost { actor: self.name })
    }

    async fn live(&self) -> Result<Addr<A>, CallError> {
        let mut rx = self.slot.subscribe();
        let wait = rx.wait_for(|a| a.as_ref().is_some_and(|a| a.connected()));
        match tokio::time::timeout(self.wait, wait).await {
            Ok(Ok(addr)) => Ok(addr.clone().expect("wait_for checked Some")),
            _ => Err(CallError::Unavailable {
                actor: self.name,
                waited: self.wait,
            }),
        }
    }
}
