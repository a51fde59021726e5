//! What the pipeline says about one transfer: a capped score and the flags
//! that produced it, each with a human reason.

use crate::domain::Address;

use super::checks::{burst, dust, lookalike, zero};

/// One check's finding. A check that finds nothing returns no flag at all,
/// so every flag in a [`Verdict`] is a reason the user can be shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flag {
    /// The check's stable name (`zero_value`, `dust`, `lookalike`, `burst`):
    /// for logs, the `/spam` report and the database, never for display alone.
    pub check: &'static str,
    /// What this flag adds to the score (see the weights in [`crate::spam`]).
    pub weight: u8,
    /// One sentence for a human, naming amounts and addresses in full.
    pub reason: String,
    /// For a look-alike: the real address it imitates (a known counterparty
    /// or the watched address itself).
    pub imitates: Option<Address>,
    /// For a look-alike: the look-alike itself (the transfer's counterparty),
    /// so a warning can name both without re-deriving the direction.
    pub lookalike: Option<Address>,
}

/// The pipeline's answer for one transfer as seen from one watched address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Sum of the flag weights, capped at 100.
    pub score: u8,
    /// The threshold of the rules that produced this verdict (0–100).
    pub threshold: u8,
    /// Every check that fired, in pipeline order.
    pub flags: Vec<Flag>,
}

impl Verdict {
    /// A verdict with no flags: score 0, never suspicious.
    pub fn clean(threshold: u8) -> Self {
        Verdict {
            score: 0,
            threshold,
            flags: Vec::new(),
        }
    }

    /// Builds a verdict from the flags, summing their weights with a cap of 100.
    pub fn from_flags(threshold: u8, flags: Vec<Flag>) -> Self {
        let sum: u32 = flags.iter().map(|f| u32::from(f.weight)).sum();
        let score = u8::try_from(sum.min(100)).unwrap_or(100);
        Verdict {
            score,
            threshold,
            flags,
        }
    }

    /// True when the transfer should be held back: at least one flag fired
    /// and the score reaches the threshold.
    ///
    /// The "at least one flag" part matters for `threshold = 0`: a transfer
    /// nothing objects to is never spam, whatever the threshold says, so an
    /// ordinary payment can not be suppressed by configuration alone.
    pub fn is_suspicious(&self) -> bool {
        !self.flags.is_empty() && self.score >= self.threshold
    }

    /// True when no check fired.
    pub fn is_clean(&self) -> bool {
        self.flags.is_empty()
    }

    /// Whether the caller may record this transfer's counterparty as a known
    /// counterparty of the watched address (feeding [`super::CounterpartyIndex`]).
    ///
    /// Only a real relationship teaches: the transfer is not suspicious and
    /// carries no zero-value, dust or look-alike flag. Otherwise an attacker
    /// could make their look-alike "known" with one cheap transfer and have
    /// every later one pass. A lone burst flag does not block learning: it
    /// only says the wallet is busy, and a merchant's new customers paying
    /// real amounts in a rush are exactly the counterparties worth knowing.
    pub fn establishes_counterparty(&self) -> bool {
        !self.is_suspicious() && self.flags.iter().all(|f| f.check == burst::NAME)
    }

    /// The flag of the named check, if it fired.
    pub fn flag(&self, check: &str) -> Option<&Flag> {
        self.flags.iter().find(|f| f.check == check)
    }

    /// The look-alike flag, if any: `(look-alike, real address it imitates)`.
    pub fn imitation(&self) -> Option<(&Address, &Address)> {
        let f = self.flag(lookalike::NAME)?;
        Some((f.lookalike.as_ref()?, f.imitates.as_ref()?))
    }

    /// True if the transfer moved no value or only dust.
    pub fn is_worthless(&self) -> bool {
        self.flag(zero::NAME).is_some() || self.flag(dust::NAME).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag(check: &'static str, weight: u8) -> Flag {
        Flag {
            check,
            weight,
            reason: String::new(),
            imitates: None,
            lookalike: None,
        }
    }

    #[test]
    fn score_is_capped_at_100() {
        let v = Verdict::from_flags(50, vec![flag(zero::NAME, 50), flag(lookalike::NAME, 60)]);
        assert_eq!(v.score, 100);
        assert!(v.is_suspicious());
    }

    #[test]
    fn no_flags_is_never_suspicious_even_at_threshold_zero() {
        let v = Verdict::from_flags(0, Vec::new());
        assert_eq!(v.score, 0);
        assert!(!v.is_suspicious());
        assert!(v.establishes_counterparty());
    }

    #[test]
    fn only_a_lone_burst_flag_still_teaches() {
        let burst_only = Verdict::from_flags(50, vec![flag(burst::NAME, 25)]);
        assert!(!burst_only.is_suspicious());
        assert!(burst_only.establishes_counterparty());
        let dust_only = Verdict::from_flags(50, vec![flag(dust::NAME, 25)]);
        assert!(!dust_only.is_suspicious());
        assert!(!dust_only.establishes_counterparty());
        // With a low threshold the same burst flag is suspicious and teaches nothing.
        let strict = Verdict::from_flags(20, vec![flag(burst::NAME, 25)]);
        assert!(strict.is_suspicious());
        assert!(!strict.establishes_counterparty());
    }
}
