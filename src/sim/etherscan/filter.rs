//! Which logs a request selects: the getLogs address/topic filter with its
//! `topicA_B_opr` operators, and the tokentx "sent or received by" filter.
//!
//! The same filter is evaluated two ways. Against a stored (injected) log it
//! is a plain yes/no. Against the *noise* of a token it is first evaluated
//! three-valued, without generating any log: every noise log of a token is a
//! 3-topic Transfer between addresses of a fixed pool, so the answer is
//! "all of them", "none of them" or "depends on the addresses". Only the last
//! case forces generating noise block by block; the first two let a query
//! skip whole ranges of blocks arithmetically.

use crate::domain::Address;
use crate::domain::chain::TRANSFER_TOPIC;

use super::codec::{address_topic, topic_address_bytes};

/// A topic value from the query, lowercase, with its address form if it is a
/// zero-padded address (so noise can be compared without formatting).
#[derive(Debug, Clone)]
pub(crate) struct FilterTopic {
    text: String,
    addr: Option<[u8; 20]>,
}

impl FilterTopic {
    /// Accepts `0x` + 64 hex digits (any case).
    pub(crate) fn parse(s: &str) -> Option<Self> {
        let text = s.to_ascii_lowercase();
        if !super::codec::is_word(&text) {
            return None;
        }
        let addr = topic_address_bytes(&text);
        Some(FilterTopic { text, addr })
    }
}

/// How two topic conditions combine (`topic0_1_opr=and|or`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    And,
    Or,
}

/// Three-valued truth: a filter evaluated over "every noise log of a token".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tri {
    Yes,
    No,
    Maybe,
}

impl Tri {
    fn of(b: bool) -> Tri {
        if b { Tri::Yes } else { Tri::No }
    }

    fn combine(self, op: Op, other: Tri) -> Tri {
        match (op, self, other) {
            (Op::And, Tri::No, _) | (Op::And, _, Tri::No) => Tri::No,
            (Op::And, Tri::Yes, Tri::Yes) => Tri::Yes,
            (Op::Or, Tri::Yes, _) | (Op::Or, _, Tri::Yes) => Tri::Yes,
            (Op::Or, Tri::No, Tri::No) => Tri::No,
            _ => Tri::Maybe,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Matcher {
    /// getLogs: up to four topic conditions. Present conditions are folded
    /// left to right; `ops[a][b]` joins the condition on topic `b` to the
    /// result so far, where `a` is the previous present topic (default and).
    Topics {
        topics: [Option<FilterTopic>; 4],
        ops: [[Op; 4]; 4],
    },
    /// tokentx: 3-topic Transfer logs sent or received by this address.
    Party { topic: String, addr: [u8; 20] },
}

#[derive(Debug, Clone)]
pub(crate) struct LogFilter {
    pub(crate) contract: Option<Address>,
    pub(crate) matcher: Matcher,
}

impl LogFilter {
    pub(crate) fn topics(
        contract: Option<Address>,
        topics: [Option<FilterTopic>; 4],
        ops: [[Op; 4]; 4],
    ) -> Self {
        LogFilter {
            contract,
            matcher: Matcher::Topics { topics, ops },
        }
    }

    pub(crate) fn party(contract: Option<Address>, party: &Address) -> Self {
        let topic = address_topic(party.hex());
        let addr = topic_address_bytes(&topic).unwrap_or([0; 20]);
        LogFilter {
            contract,
            matcher: Matcher::Party { topic, addr },
        }
    }

    pub(crate) fn contract_matches(&self, contract: &Address) -> bool {
        self.contract.as_ref().is_none_or(|c| c == contract)
    }

    /// Evaluates the topic part, given how to judge one condition.
    fn eval(
        &self,
        topic_cond: impl Fn(usize, &FilterTopic) -> Tri,
        party: impl Fn() -> Tri,
    ) -> Tri {
        match &self.matcher {
            Matcher::Topics { topics, ops } => {
                let mut acc: Option<(usize, Tri)> = None;
                for (i, t) in topics.iter().enumerate() {
                    let Some(t) = t else { continue };
                    let m = topic_cond(i, t);
                    acc = Some(match acc {
                        None => (i, m),
                        Some((prev, so_far)) => (i, so_far.combine(ops[prev][i], m)),
                    });
                }
                acc.map_or(Tri::Yes, |(_, t)| t)
            }
            Matcher::Party { .. } => party(),
        }
    }

    /// Over all noise logs of a token (3-topic Transfers between addresses
    /// for which `in_pool` is true): Yes, No, or Maybe (generate to know).
    pub(crate) fn noise_tri(&self, in_pool: impl Fn(&[u8; 20]) -> bool) -> Tri {
        let addr_cond = |a: Option<[u8; 20]>| match a {
            Some(a) if in_pool(&a) => Tri::Maybe,
            _ => Tri::No,
        };
        self.eval(
            |i, t| match i {
                0 => Tri::of(t.text == TRANSFER_TOPIC),
                1 | 2 => addr_cond(t.addr),
                _ => Tri::No, // noise logs have exactly three topics
            },
            || match &self.matcher {
                Matcher::Party { addr, .. } => addr_cond(Some(*addr)),
                Matcher::Topics { .. } => Tri::Yes,
            },
        )
    }

    /// Whether one noise Transfer `from` → `to` matches (contract aside).
    pub(crate) fn matches_noise(&self, from: &[u8; 20], to: &[u8; 20]) -> bool {
        self.eval(
            |i, t| match i {
                0 => Tri::of(t.text == TRANSFER_TOPIC),
                1 => Tri::of(t.addr.as_ref() == Some(from)),
                2 => Tri::of(t.addr.as_ref() == Some(to)),
                _ => Tri::No,
            },
            || match &self.matcher {
                Matcher::Party { addr, .. } => Tri::of(addr == from || addr == to),
                Matcher::Topics { .. } => Tri::Yes,
            },
        ) == Tri::Yes
    }

    /// Whether a stored log with these (lowercase) topics matches.
    pub(crate) fn matches_stored(&self, topics: &[String]) -> bool {
        self.eval(
            |i, t| Tri::of(topics.get(i).is_some_and(|have| *have == t.text)),
            || match &self.matcher {
                Matcher::Party { topic, .. } => Tri::of(
                    topics.len() == 3
                        && topics[0] == TRANSFER_TOPIC
                        && (topics[1] == *topic || topics[2] == *topic),
                ),
                Matcher::Topics { .. } => Tri::Yes,
            },
        ) == Tri::Yes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Option<FilterTopic> {
        FilterTopic::parse(s)
    }

    #[test]
    fn three_valued_logic_decides_noise_without_generating_it() {
        let pool = [[7u8; 20]];
        let in_pool = |a: &[u8; 20]| pool.contains(a);
        let member = address_topic(&"07".repeat(20));
        let stranger = address_topic(&"42".repeat(20));
        let and = [[Op::And; 4]; 4];
        let mut or = and;
        or[0][1] = Op::Or;

        let f = |topics, ops| LogFilter::topics(None, topics, ops);
        assert_eq!(
            f([t(TRANSFER_TOPIC), None, None, None], and).noise_tri(in_pool),
            Tri::Yes
        );
        assert_eq!(
            f([t(TRANSFER_TOPIC), t(&stranger), None, None], and).noise_tri(in_pool),
            Tri::No
        );
        assert_eq!(
            f([t(TRANSFER_TOPIC), t(&member), None, None], and).noise_tri(in_pool),
            Tri::Maybe
        );
        assert_eq!(
            f([t(TRANSFER_TOPIC), t(&stranger), None, None], or).noise_tri(in_pool),
            Tri::Yes
        );
        assert_eq!(
            f([None; 4].map(|_: Option<()>| None), and).noise_tri(in_pool),
            Tri::Yes
        );
    }

    #[test]
    fn party_filter_requires_three_topics() {
        let a = Address::parse("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed").unwrap();
        let f = LogFilter::party(None, &a);
        let ta = address_topic(a.hex());
        let other = address_topic(&"11".repeat(20));
        let erc20 = vec![TRANSFER_TOPIC.to_string(), other.clone(), ta.clone()];
        let mut erc721 = erc20.clone();
        erc721.push(address_topic(&"00".repeat(20)));
        assert!(f.matches_stored(&erc20));
        assert!(!f.matches_stored(&erc721));
    }
}
