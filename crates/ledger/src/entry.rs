//! Accounts, postings and journal entries.
//!
//! An `Entry` can only be built by `Entry::transfer`, so every entry in the program sums to zero
//! by construction (money invariant 1); `check_invariants` re-checks stored entries.

use crate::Bug;
use hongbao_money::Fen;

/// A ledger account.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Account {
    /// A sandbox user's balance (`user:<user_id>`).
    User(String),
    /// A packet's custody (`custody:<auth_no>`): money paid in and not yet disbursed or refunded.
    Custody(String),
    /// The sandbox's issuance account: the one documented funding source. Seeding a user's
    /// balance moves money out of it, so it is the only account whose balance may be negative.
    Issuance,
}

impl Account {
    /// The stored id.
    pub fn id(&self) -> String {
        match self {
            Account::User(user_id) => format!("user:{user_id}"),
            Account::Custody(auth_no) => format!("custody:{auth_no}"),
            Account::Issuance => "issuance".to_owned(),
        }
    }

    /// Parses a stored id.
    pub fn parse(id: &str) -> Option<Account> {
        if id == "issuance" {
            return Some(Account::Issuance);
        }
        if let Some(user_id) = id.strip_prefix("user:") {
            return Some(Account::User(user_id.to_owned()));
        }
        id.strip_prefix("custody:").map(|auth_no| Account::Custody(auth_no.to_owned()))
    }

    /// True for the one account allowed below zero.
    pub fn may_be_negative(&self) -> bool {
        matches!(self, Account::Issuance)
    }
}

/// One line of an entry: `amount` added to `account` (negative = taken out).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Posting {
    /// The account.
    pub account: Account,
    /// Signed amount.
    pub amount: Fen,
}

/// A journal entry: postings summing to zero. Immutable once stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    postings: Vec<Posting>,
}

impl Entry {
    /// Moves `amount` (> 0) from `from` to `to`.
    pub fn transfer(from: Account, to: Account, amount: Fen) -> Result<Entry, Bug> {
        crate::invariant!(amount.is_positive());
        crate::invariant!(from != to);
        let debit = amount.checked_neg().ok_or_else(|| Bug("amount overflow".into()))?;
        let entry = Entry {
            postings: vec![
                Posting { account: from, amount: debit },
                Posting { account: to, amount },
            ],
        };
        crate::invariant!(entry.sum() == Some(Fen::ZERO));
        Ok(entry)
    }

    /// Rebuilds a stored entry for checking; it may be unbalanced (that is what gets checked).
    pub fn from_stored(postings: Vec<Posting>) -> Entry {
        Entry { postings }
    }

    /// The postings.
    pub fn postings(&self) -> &[Posting] {
        &self.postings
    }

    /// Sum of the postings; `None` on overflow.
    pub fn sum(&self) -> Option<Fen> {
        self.postings.iter().try_fold(Fen::ZERO, |acc, p| acc.checked_add(p.amount))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfers_sum_to_zero_and_ids_round_trip() {
        let entry = Entry::transfer(
            Account::User("2088".into()),
            Account::Custody("A1".into()),
            Fen::from_fen(100),
        )
        .expect("valid");
        assert_eq!(entry.sum(), Some(Fen::ZERO));
        for account in
            [Account::User("2088".into()), Account::Custody("A1".into()), Account::Issuance]
        {
            assert_eq!(Account::parse(&account.id()), Some(account));
        }
        assert_eq!(Account::parse("bogus"), None);
    }
}
