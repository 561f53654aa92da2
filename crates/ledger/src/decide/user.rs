//! Sandbox users: creating one with its opening balance (from the configuration or the
//! console), topping one up from the console, and who a cashier login names. Every fen a user
//! holds was issued here, from `issuance` (money invariant 5).

use crate::command::SandboxUser;
use crate::entry::{Account, Entry};
use crate::facts::{LoginCandidate, NewUserFacts, TopUpFacts, UserFacts};
use crate::plan::{EntryMemo, Plan, PlannedEntry};
use crate::{Bug, Rejection};
use hongbao_money::Fen;

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

/// A sandbox user made from the console: unlike a configured user (`decide_user`, which keeps
/// an existing one), the request must name a new user.
///
/// | precedence | rule | answer |
/// | --- | --- | --- |
/// | 1 | the opening balance is not negative | `IllegalArgument` |
/// | 2 | no user has this id, no other user this logon id | `UniqueViolation` |
/// | 3 | issuing it keeps the issuance balance in range | `IllegalArgument` |
pub fn decide_create_user(
    user: &SandboxUser,
    facts: &NewUserFacts,
    now_ms: i64,
) -> Result<Result<Plan, Rejection>, Bug> {
    if user.opening_balance.fen() < 0 {
        return Ok(Err(Rejection::IllegalArgument("the opening balance is negative".into())));
    }
    if facts.exists || facts.logon_id_taken {
        return Ok(Err(Rejection::UniqueViolation));
    }
    if facts.issuance_balance.checked_sub(user.opening_balance).is_none() {
        return Ok(Err(Rejection::IllegalArgument(format!(
            "issuing {} overflows the issuance balance {}",
            user.opening_balance, facts.issuance_balance
        ))));
    }
    let user_facts = UserFacts { exists: false, issuance_balance: facts.issuance_balance };
    let plan = decide_user(user, &user_facts, now_ms)?;
    plan.map(Ok).ok_or_else(|| Bug("a new user was not created".into()))
}

/// A sandbox top-up: `amount` issued to an existing user.
///
/// | precedence | rule | answer |
/// | --- | --- | --- |
/// | 1 | the amount is positive | `IllegalArgument` |
/// | 2 | the user exists | `PayeeNotExist` |
/// | 3 | the user's balance stays in range | `IllegalArgument` |
/// | 4 | the issuance balance stays in range | `IllegalArgument` |
pub fn decide_top_up(
    user_id: &str,
    amount: Fen,
    facts: &TopUpFacts,
    now_ms: i64,
) -> Result<Result<Plan, Rejection>, Bug> {
    if !amount.is_positive() {
        return Ok(Err(Rejection::IllegalArgument("a top-up amount must be positive".into())));
    }
    let Some(balance) = facts.balance else { return Ok(Err(Rejection::PayeeNotExist)) };
    if balance.checked_add(amount).is_none() {
        return Ok(Err(Rejection::IllegalArgument(format!(
            "{user_id}'s balance {balance} cannot take {amount} more"
        ))));
    }
    if facts.issuance_balance.checked_sub(amount).is_none() {
        return Ok(Err(Rejection::IllegalArgument(format!(
            "issuing {amount} overflows the issuance balance {}",
            facts.issuance_balance
        ))));
    }
    let entry = Entry::transfer(Account::Issuance, Account::User(user_id.to_owned()), amount)?;
    Ok(Ok(Plan {
        entry: Some(PlannedEntry {
            operation_id: None,
            memo: EntryMemo::TopUp,
            entry,
            created_at_ms: now_ms,
        }),
        ..Plan::default()
    }))
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
    fn console_users_must_be_new_and_rules_answer_in_precedence_order() {
        let fresh = NewUserFacts {
            exists: false,
            logon_id_taken: false,
            issuance_balance: Fen::from_fen(-100),
        };
        let plan = decide_create_user(&alice(), &fresh, 7).expect("no bug").expect("created");
        assert_eq!(plan.new_user.as_ref().map(|u| u.user_id.as_str()), Some("2088000000000001"));
        assert_eq!(plan.entry.expect("issued").entry.postings()[1].amount, Fen::from_fen(500));
        // Each row breaks one more rule; the earliest answers.
        let broke = NewUserFacts { issuance_balance: Fen::from_fen(i64::MIN + 1), ..fresh.clone() };
        assert!(matches!(
            decide_create_user(&alice(), &broke, 7),
            Ok(Err(Rejection::IllegalArgument(_)))
        ));
        let taken_logon = NewUserFacts { logon_id_taken: true, ..broke };
        assert_eq!(
            decide_create_user(&alice(), &taken_logon, 7),
            Ok(Err(Rejection::UniqueViolation))
        );
        let exists = NewUserFacts { exists: true, ..taken_logon };
        assert_eq!(decide_create_user(&alice(), &exists, 7), Ok(Err(Rejection::UniqueViolation)));
        let negative = SandboxUser { opening_balance: Fen::from_fen(-1), ..alice() };
        assert!(matches!(
            decide_create_user(&negative, &exists, 7),
            Ok(Err(Rejection::IllegalArgument(_)))
        ));
    }

    #[test]
    fn a_top_up_is_issued_to_an_existing_user_in_range() {
        let facts =
            TopUpFacts { balance: Some(Fen::from_fen(10)), issuance_balance: Fen::from_fen(-10) };
        let plan =
            decide_top_up("u1", Fen::from_fen(250), &facts, 9).expect("no bug").expect("topped up");
        let entry = plan.entry.expect("an entry");
        assert_eq!(entry.memo, EntryMemo::TopUp);
        assert_eq!(entry.operation_id, None);
        assert_eq!(entry.entry.postings()[0].account, Account::Issuance);
        assert_eq!(entry.entry.postings()[0].amount, Fen::from_fen(-250));
        assert_eq!(entry.entry.postings()[1].account, Account::User("u1".into()));
        assert!(plan.new_user.is_none() && plan.new_accounts.is_empty());
        let illegal = |result: Result<Result<Plan, Rejection>, Bug>| {
            matches!(result, Ok(Err(Rejection::IllegalArgument(_))))
        };
        let issuance_full =
            TopUpFacts { balance: Some(Fen::ZERO), issuance_balance: Fen::from_fen(i64::MIN + 1) };
        assert!(illegal(decide_top_up("u1", Fen::from_fen(2), &issuance_full, 9)));
        let full = TopUpFacts { balance: Some(Fen::from_fen(i64::MAX)), ..issuance_full };
        assert!(illegal(decide_top_up("u1", Fen::from_fen(2), &full, 9)));
        let nobody = TopUpFacts { balance: None, ..full };
        assert_eq!(
            decide_top_up("u1", Fen::from_fen(2), &nobody, 9),
            Ok(Err(Rejection::PayeeNotExist))
        );
        assert!(illegal(decide_top_up("u1", Fen::ZERO, &nobody, 9)));
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
