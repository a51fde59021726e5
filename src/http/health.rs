//! `GET /healthz`: is every actor running, and has every chain been polled
//! successfully within 3 × `poll_interval`?
//!
//! A pure function of the supervisor's snapshot and the chains' health, so
//! that the rules are tested without a server.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::domain::Chain;
use crate::metrics::ChainHealth;
use crate::supervisor::{ChildState, TreeStatus};

/// How many poll intervals a chain may go without a successful poll.
pub const STALE_AFTER_POLLS: u32 = 3;

/// The answer of `/healthz`: `{"status":"ok"|"unhealthy","failed":[…]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    pub status: &'static str,
    /// One line per failed check, e.g. `"actor etherscan is restarting"` or
    /// `"chain ethereum: no successful poll for 47s (limit 45s)"`.
    pub failed: Vec<String>,
}

impl Health {
    pub fn is_ok(&self) -> bool {
        self.failed.is_empty()
    }
}

/// What the checks look at.
pub struct Inputs<'a> {
    /// `None`: the supervisor did not answer.
    pub tree: Option<&'a TreeStatus>,
    /// The configured chains.
    pub chains: &'a [Chain],
    /// The scanner's view, by chain id.
    pub health: &'a [(u64, ChainHealth)],
    pub poll_interval: Duration,
    /// When the daemon started: a chain never polled yet counts from here.
    pub started: SystemTime,
    pub now: SystemTime,
}

/// Runs every check.
pub fn evaluate(i: &Inputs<'_>) -> Health {
    let mut failed = Vec::new();
    match i.tree {
        None => failed.push("the supervisor does not answer".to_string()),
        Some(tree) => {
            for c in &tree.children {
                if c.state != ChildState::Running {
                    failed.push(format!("actor {} is {}", c.name, c.state.as_str()));
                }
            }
        }
    }
    let limit = i.poll_interval * STALE_AFTER_POLLS;
    for chain in i.chains {
        let last_ok = i
            .health
            .iter()
            .find(|(id, _)| *id == chain.id)
            .and_then(|(_, h)| h.last_ok_poll);
        let since = last_ok.unwrap_or(i.started);
        let age = i.now.duration_since(since).unwrap_or_default();
        if age > limit {
            let what = match last_ok {
                Some(_) => "no successful poll for",
                None => "no successful poll since the start,",
            };
            failed.push(format!(
                "chain {}: {what} {} (limit {})",
                chain.name,
                humantime::format_duration(Duration::from_secs(age.as_secs())),
                humantime::format_duration(limit),
            ));
        }
    }
    Health {
        status: if failed.is_empty() { "ok" } else { "unhealthy" },
        failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supervisor::ChildStatus;

    fn tree(states: &[(&'static str, ChildState)]) -> TreeStatus {
        TreeStatus {
            children: states
                .iter()
                .map(|&(name, state)| ChildStatus {
                    name,
                    state,
                    restarts: 0,
                    last_failure: None,
                    uptime: None,
                })
                .collect(),
            recent_restarts: 0,
            max_restarts: 5,
        }
    }

    fn check(tree: Option<&TreeStatus>, last_ok_ago: Option<u64>, running_for: u64) -> Health {
        let now = SystemTime::now();
        let chains = vec![Chain::by_name("ethereum").unwrap()];
        let health = vec![(
            1,
            ChainHealth {
                last_ok_poll: last_ok_ago.map(|s| now - Duration::from_secs(s)),
                ..ChainHealth::default()
            },
        )];
        evaluate(&Inputs {
            tree,
            chains: &chains,
            health: &health,
            poll_interval: Duration::from_secs(15),
            started: now - Duration::from_secs(running_for),
            now,
        })
    }

    #[test]
    fn healthy_when_every_actor_runs_and_polls_are_fresh() {
        let t = tree(&[("db", ChildState::Running), ("ticker", ChildState::Running)]);
        assert_eq!(check(Some(&t), Some(20), 600).failed, Vec::<String>::new());
        // Just started, not polled yet: still within the grace of 3 polls.
        assert!(check(Some(&t), None, 10).is_ok());
    }

    #[test]
    fn a_restarting_actor_fails_the_check() {
        let t = tree(&[
            ("db", ChildState::Running),
            ("etherscan", ChildState::Restarting),
        ]);
        let h = check(Some(&t), Some(1), 600);
        assert_eq!(h.status, "unhealthy");
        assert_eq!(h.failed, vec!["actor etherscan is restarting".to_string()]);
        assert!(!check(None, Some(1), 600).is_ok());
    }

    #[test]
    fn a_stale_chain_fails_the_check_naming_it() {
        let t = tree(&[("db", ChildState::Running)]);
        let h = check(Some(&t), Some(46), 600);
        assert_eq!(h.failed.len(), 1, "{h:?}");
        assert!(
            h.failed[0].starts_with("chain ethereum: no successful poll for 46s"),
            "{h:?}"
        );
        let h = check(Some(&t), None, 100);
        assert!(h.failed[0].contains("since the start"), "{h:?}");
    }
}
