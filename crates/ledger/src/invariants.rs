//! The money invariants, checked over a snapshot of stored state.
//!
//! Numbered as in ARCHITECTURE.md ("Money invariants"); property tests and `hongbao check`
//! call `check_invariants` after every step.
//!
//! 1. Every journal entry's postings sum to zero.
//! 2. No account but `issuance` has a negative balance.
//! 3. Every account's balance equals the sum of its postings.
//! 4. Every packet: disbursed + refunded <= amount, and its custody balance equals what it holds
//!    (amount − disbursed − refunded once funded, zero before).
//! 5. The sum of all balances is zero (so users and custody together hold exactly what was issued).
//! 6. Every SUCCESS operation has exactly one journal entry; INIT and CLOSED ones have none.
//! 7. Every packet's disbursed and refunded totals equal the sums of its SUCCESS disburse and
//!    refund operations.

use crate::entry::{Account, Entry};
use crate::packet::{OperationKind, OperationStatus, Packet};
use hongbao_money::Fen;
use std::collections::HashMap;

/// A stored packet with its custody balance.
#[derive(Clone, Debug)]
pub struct PacketSnapshot {
    /// Its auth_no.
    pub auth_no: String,
    /// Its money state.
    pub packet: Packet,
}

/// A stored operation, reduced to what the invariants need.
#[derive(Clone, Debug)]
pub struct OperationSnapshot {
    /// Its id.
    pub operation_id: String,
    /// The packet it moves money in or out of (for a disburse: the packet drawn from).
    pub packet_auth_no: String,
    /// PAY into the packet, PAY out of it (disburse), or REFUND.
    pub kind: OperationKind,
    /// Status.
    pub status: OperationStatus,
    /// Amount.
    pub amount: Fen,
    /// Number of journal entries recorded for it.
    pub entries: usize,
}

/// Everything the invariants look at.
#[derive(Clone, Debug, Default)]
pub struct LedgerSnapshot {
    /// Stored balance of every account.
    pub balances: Vec<(Account, Fen)>,
    /// Every journal entry.
    pub entries: Vec<Entry>,
    /// Every packet.
    pub packets: Vec<PacketSnapshot>,
    /// Every operation.
    pub operations: Vec<OperationSnapshot>,
}

impl LedgerSnapshot {
    /// The stored balance of `account` (zero when it has no row).
    pub fn balance(&self, account: &Account) -> Fen {
        self.balances.iter().find(|(a, _)| a == account).map(|(_, b)| *b).unwrap_or(Fen::ZERO)
    }

    /// Σ balances of all user accounts.
    pub fn users_total(&self) -> Fen {
        Fen::from_fen(
            self.balances
                .iter()
                .filter(|(a, _)| matches!(a, Account::User(_)))
                .map(|(_, b)| b.fen())
                .sum(),
        )
    }
}

/// One broken invariant, with its number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The invariant's number (see the module doc).
    pub invariant: u8,
    /// What is wrong.
    pub detail: String,
}

/// Checks all invariants; empty means all hold.
pub fn check_invariants(snapshot: &LedgerSnapshot) -> Vec<Violation> {
    let mut violations = Vec::new();
    let mut flag = |invariant: u8, detail: String| violations.push(Violation { invariant, detail });

    let mut posted: HashMap<&Account, i128> = HashMap::new();
    for (index, entry) in snapshot.entries.iter().enumerate() {
        let sum: i128 = entry.postings().iter().map(|p| i128::from(p.amount.fen())).sum();
        if sum != 0 {
            flag(1, format!("entry #{index} sums to {sum} fen"));
        }
        for posting in entry.postings() {
            *posted.entry(&posting.account).or_default() += i128::from(posting.amount.fen());
        }
    }

    let mut total: i128 = 0;
    for (account, balance) in &snapshot.balances {
        total += i128::from(balance.fen());
        if balance.fen() < 0 && !account.may_be_negative() {
            flag(2, format!("{} is negative: {balance}", account.id()));
        }
        let from_postings = posted.get(account).copied().unwrap_or(0);
        if from_postings != i128::from(balance.fen()) {
            flag(
                3,
                format!(
                    "{} holds {balance} but its postings sum to {from_postings} fen",
                    account.id()
                ),
            );
        }
    }
    for account in posted.keys() {
        if !snapshot.balances.iter().any(|(a, _)| &a == account) {
            flag(3, format!("{} has postings but no balance row", account.id()));
        }
    }
    if total != 0 {
        flag(5, format!("balances sum to {total} fen, not 0"));
    }

    let mut disbursed: HashMap<&str, i64> = HashMap::new();
    let mut refunded: HashMap<&str, i64> = HashMap::new();
    for op in &snapshot.operations {
        let expected_entries = usize::from(op.status == OperationStatus::Success);
        if op.entries != expected_entries {
            flag(
                6,
                format!(
                    "operation {} is {} with {} entries",
                    op.operation_id,
                    op.status.as_str(),
                    op.entries
                ),
            );
        }
        if op.status == OperationStatus::Success {
            match op.kind {
                OperationKind::Disburse => {
                    *disbursed.entry(&op.packet_auth_no).or_default() += op.amount.fen()
                }
                OperationKind::Refund => {
                    *refunded.entry(&op.packet_auth_no).or_default() += op.amount.fen()
                }
                OperationKind::Fund => {}
            }
        }
    }

    for snap in &snapshot.packets {
        let packet = &snap.packet;
        if packet.disbursed.fen() + packet.refunded.fen() > packet.amount.fen() {
            flag(4, format!("packet {} moved out more than its amount", snap.auth_no));
        }
        let custody = snapshot.balance(&Account::Custody(snap.auth_no.clone()));
        if custody != packet.remaining() {
            flag(
                4,
                format!(
                    "packet {} custody {custody} != remaining {}",
                    snap.auth_no,
                    packet.remaining()
                ),
            );
        }
        let ops_disbursed = disbursed.get(snap.auth_no.as_str()).copied().unwrap_or(0);
        let ops_refunded = refunded.get(snap.auth_no.as_str()).copied().unwrap_or(0);
        if ops_disbursed != packet.disbursed.fen() || ops_refunded != packet.refunded.fen() {
            flag(
                7,
                format!(
                    "packet {} counts disbursed {} refunded {} but operations sum to {} and {}",
                    snap.auth_no,
                    packet.disbursed,
                    packet.refunded,
                    Fen::from_fen(ops_disbursed),
                    Fen::from_fen(ops_refunded)
                ),
            );
        }
    }
    violations
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::Posting;
    use crate::packet::PacketStatus;

    fn healthy() -> LedgerSnapshot {
        let issue =
            Entry::transfer(Account::Issuance, Account::User("u".into()), Fen::from_fen(1000))
                .expect("ok");
        let fund = Entry::transfer(
            Account::User("u".into()),
            Account::Custody("p".into()),
            Fen::from_fen(300),
        )
        .expect("ok");
        let pay_out = Entry::transfer(
            Account::Custody("p".into()),
            Account::User("v".into()),
            Fen::from_fen(100),
        )
        .expect("ok");
        LedgerSnapshot {
            balances: vec![
                (Account::Issuance, Fen::from_fen(-1000)),
                (Account::User("u".into()), Fen::from_fen(700)),
                (Account::User("v".into()), Fen::from_fen(100)),
                (Account::Custody("p".into()), Fen::from_fen(200)),
            ],
            entries: vec![issue, fund, pay_out],
            packets: vec![PacketSnapshot {
                auth_no: "p".into(),
                packet: Packet {
                    amount: Fen::from_fen(300),
                    disbursed: Fen::from_fen(100),
                    refunded: Fen::ZERO,
                    status: PacketStatus::Funded,
                },
            }],
            operations: vec![
                OperationSnapshot {
                    operation_id: "o1".into(),
                    packet_auth_no: "p".into(),
                    kind: OperationKind::Fund,
                    status: OperationStatus::Success,
                    amount: Fen::from_fen(300),
                    entries: 1,
                },
                OperationSnapshot {
                    operation_id: "o2".into(),
                    packet_auth_no: "p".into(),
                    kind: OperationKind::Disburse,
                    status: OperationStatus::Success,
                    amount: Fen::from_fen(100),
                    entries: 1,
                },
            ],
        }
    }

    #[test]
    fn a_healthy_ledger_has_no_violations() {
        assert_eq!(check_invariants(&healthy()), vec![]);
    }

    #[test]
    fn each_kind_of_corruption_is_caught() {
        let numbers = |s: &LedgerSnapshot| -> Vec<u8> {
            check_invariants(s).iter().map(|v| v.invariant).collect()
        };

        let mut unbalanced = healthy();
        unbalanced.entries.push(Entry::from_stored(vec![Posting {
            account: Account::User("v".into()),
            amount: Fen::from_fen(1),
        }]));
        assert!(numbers(&unbalanced).contains(&1));

        let mut negative = healthy();
        negative.balances[2].1 = Fen::from_fen(-5);
        assert!(numbers(&negative).contains(&2));
        assert!(numbers(&negative).contains(&3));
        assert!(numbers(&negative).contains(&5));

        let mut overpaid = healthy();
        overpaid.packets[0].packet.disbursed = Fen::from_fen(400);
        assert!(numbers(&overpaid).contains(&4));

        let mut double = healthy();
        double.operations[1].entries = 2;
        assert_eq!(numbers(&double), vec![6]);

        let mut uncounted = healthy();
        uncounted.operations.push(OperationSnapshot {
            operation_id: "o3".into(),
            packet_auth_no: "p".into(),
            kind: OperationKind::Refund,
            status: OperationStatus::Success,
            amount: Fen::from_fen(1),
            entries: 1,
        });
        assert_eq!(numbers(&uncounted), vec![7]);
    }
}
