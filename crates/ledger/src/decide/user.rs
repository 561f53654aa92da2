//! Sandbox users: creating one with its opening balance, and who a cashier login names.

use crate::command::SandboxUser;
use crate::entry::{Account, Entry};
use crate::facts::{LoginCandidate, UserFacts};
use crate::plan::{EntryMemo, Plan, PlannedEntry};
use crate::Bug;

/// Creates `user` unless a user with its id exists (`None`): its account, and its opening
/// balance issued from `issuance` (the only funding source, money invariant 5). Issuing must not
/// take the issuance balance past what an i64 holds.
pub fn decide_user(
    user: &SandboxUser,
    facts: &UserFacts,
    now_ms: i64,
) -> Result<Option<Plan>, Bug> {
    if facts.exists {
        return Ok(None);
    }
    let account = Account::User(user.user_id.clone());
    let mut plan = Plan {
        new_user: Some(user.clone()),
        new_accounts: vec![account.clone()],
        ..Plan::default()
    };
    if user.opening_balance.is_positive() {
        if facts.issuance_balance.checked_sub(user.opening_balance).is_none() {
            return Err(Bug(format!(
                "issuing {} to {} overflows the issuance balance {}",
                user.opening_balance, user.user_id, facts.issuance_balance
            )));
        }
        plan.entry = Some(PlannedEntry {
            operation_id: None,
            memo: EntryMemo::Issuance,
            entry: Entry::transfer(Account::Issuance, account, user.opening_balance)?,
            created_at_ms: now_ms,
        });
    }
    Ok(Some(plan))
}

/// The user a cashier login names: a user id match wins over a logon id match (one user's
/// logon id may look like another's id), and the password must match (compared in constant
/// time, so timing tells nothing about it).
pub fn decide_login(candidates: &[LoginCandidate], login: &str, password: &str) -> Option<String> {
    let named = candidates
        .iter()
        .find(|user| user.user_id == login)
        .or_else(|| candidates.iter().find(|user| user.logon_id == login))?;
    constant_time_eq(named.password.as_bytes(), password.as_bytes()).then(|| named.user_id.clone())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use hongbao_money::Fen;

    fn alice() -> SandboxUser {
        SandboxUser {
            user_id: "2088000000000001".into(),
            logon_id: "alice@example.com".into(),
            password: "111111".into(),
            opening_balance: Fen::from_fen(500),
            real_name: None,
        }
    }

    #[test]
    fn a_new_user_is_issued_its_opening_balance_once() {
        let facts = UserFacts { exists: false, issuance_balance: Fen::from_fen(-100) };
        let plan = decide_user(&alice(), &facts, 7).expect("no bug").expect("created");
        let entry = plan.entry.expect("issued");
        assert_eq!(entry.entry.postings()[0].account, Account::Issuance);
        assert_eq!(entry.entry.postings()[1].amount, Fen::from_fen(500));
        let again = UserFacts { exists: true, ..facts };
        assert_eq!(decide_user(&alice(), &again, 7).expect("no bug"), None);
        let broke = UserFacts { exists: false, issuance_balance: Fen::from_fen(i64::MIN + 1) };
        assert!(decide_user(&alice(), &broke, 7).is_err(), "issuance overflow is refused");
    }

    #[test]
    fn a_user_id_match_wins_and_the_password_must_match() {
        let candidates = [
            LoginCandidate { user_id: "x".into(), logon_id: "y".into(), password: "p1".into() },
            LoginCandidate { user_id: "y".into(), logon_id: "z".into(), password: "p2".into() },
        ];
        assert_eq!(decide_login(&candidates, "y", "p2").as_deref(), Some("y"));
        assert_eq!(decide_login(&candidates, "y", "p1"), None, "the id match is the one tried");
        assert_eq!(decide_login(&candidates, "z", "p2").as_deref(), Some("y"));
        assert_eq!(decide_login(&candidates, "q", "p2"), None);
    }
}
