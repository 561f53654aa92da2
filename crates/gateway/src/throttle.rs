//! Password guessing on the payer pages (cashier, wallet), bounded per account and per client.
//!
//! Each wrong password counts against the account it named (the login as typed, trimmed and
//! lowercased) and against the client's address. `ACCOUNT_FAILURES_MAX` failures of one account,
//! or `CLIENT_FAILURES_MAX` of one client, within `WINDOW_MS` lock that account or client until
//! the window's end: a locked login is refused before its password is looked at, right or
//! wrong, with a message saying when to try again. A right password clears its account's count.
//! Time is the gateway's clock (the sandbox clock can move past a lock).
//!
//! In memory and per process (a sandbox runs one; several PostgreSQL processes each count their
//! own), at most `ENTRIES_MAX` counters: beyond, the expired ones go, then the oldest.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Wrong passwords for one account within the window before it is locked.
pub const ACCOUNT_FAILURES_MAX: u32 = 5;
/// Wrong passwords from one client address within the window before it is locked (several
/// payers may share an address behind a NAT or a proxy).
pub const CLIENT_FAILURES_MAX: u32 = 20;
/// The window, and so the longest lock: 15 minutes.
pub const WINDOW_MS: i64 = 15 * 60_000;
/// Most counters kept.
pub const ENTRIES_MAX: usize = 100_000;

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Key {
    Account(String),
    Client(IpAddr),
}

#[derive(Clone, Copy, Debug)]
struct Window {
    started_ms: i64,
    failures: u32,
}

/// Why a login is not tried now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Locked {
    /// The account had too many wrong passwords.
    Account {
        /// Whole minutes until it opens again (at least 1).
        minutes: i64,
    },
    /// This client had too many wrong passwords.
    Client {
        /// Whole minutes until it opens again (at least 1).
        minutes: i64,
    },
}

impl Locked {
    /// The message for the payer's page.
    pub fn message(self, english: bool) -> String {
        match (self, english) {
            (Locked::Account { minutes }, false) => {
                format!("该账号密码错误次数过多，请 {minutes} 分钟后再试")
            }
            (Locked::Account { minutes }, true) => format!(
                "Too many wrong passwords for this account: try again in {minutes} minute(s)"
            ),
            (Locked::Client { minutes }, false) => {
                format!("密码错误次数过多，请 {minutes} 分钟后再试")
            }
            (Locked::Client { minutes }, true) => format!(
                "Too many wrong passwords from this address: try again in {minutes} minute(s)"
            ),
        }
    }
}

/// The counters.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    windows: Mutex<HashMap<Key, Window>>,
}

fn account_key(login: &str) -> Key {
    Key::Account(login.trim().to_lowercase())
}

impl LoginThrottle {
    /// Whether a login of `login` from `client` may be tried at `now_ms`.
    pub fn check(&self, login: &str, client: Option<IpAddr>, now_ms: i64) -> Result<(), Locked> {
        let Ok(windows) = self.windows.lock() else { return Ok(()) };
        let locked_for = |key: &Key, max: u32| {
            windows.get(key).and_then(|window| {
                let ends = window.started_ms.saturating_add(WINDOW_MS);
                (window.failures >= max && now_ms < ends)
                    .then(|| ((ends - now_ms + 59_999) / 60_000).max(1))
            })
        };
        if let Some(minutes) = locked_for(&account_key(login), ACCOUNT_FAILURES_MAX) {
            return Err(Locked::Account { minutes });
        }
        if let Some(client) = client {
            if let Some(minutes) = locked_for(&Key::Client(client), CLIENT_FAILURES_MAX) {
                return Err(Locked::Client { minutes });
            }
        }
        Ok(())
    }

    /// A wrong password for `login` from `client`.
    pub fn failed(&self, login: &str, client: Option<IpAddr>, now_ms: i64) {
        let Ok(mut windows) = self.windows.lock() else { return };
        if windows.len() >= ENTRIES_MAX {
            windows.retain(|_, window| now_ms < window.started_ms.saturating_add(WINDOW_MS));
            if windows.len() >= ENTRIES_MAX {
                let oldest =
                    windows.iter().min_by_key(|(_, w)| w.started_ms).map(|(k, _)| k.clone());
                if let Some(oldest) = oldest {
                    windows.remove(&oldest);
                }
            }
        }
        let keys = std::iter::once(account_key(login)).chain(client.map(Key::Client));
        for key in keys {
            let window = windows.entry(key).or_insert(Window { started_ms: now_ms, failures: 0 });
            if now_ms >= window.started_ms.saturating_add(WINDOW_MS) {
                *window = Window { started_ms: now_ms, failures: 0 };
            }
            window.failures = window.failures.saturating_add(1);
        }
    }

    /// A right password for `login`: its account's count starts again (the client's stays, so
    /// guessing across accounts is still bounded).
    pub fn succeeded(&self, login: &str) {
        if let Ok(mut windows) = self.windows.lock() {
            windows.remove(&account_key(login));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_locks_after_its_failures_and_opens_after_the_window() {
        let throttle = LoginThrottle::default();
        let client: Option<IpAddr> = Some("127.0.0.1".parse().expect("ip"));
        for _ in 0..ACCOUNT_FAILURES_MAX {
            assert_eq!(throttle.check("Alice@example.com ", client, 0), Ok(()));
            throttle.failed("Alice@example.com ", client, 0);
        }
        assert_eq!(
            throttle.check("alice@example.com", client, 60_000),
            Err(Locked::Account { minutes: 14 })
        );
        assert_eq!(throttle.check("bob@example.com", client, 60_000), Ok(()), "others are open");
        assert_eq!(throttle.check("alice@example.com", client, WINDOW_MS), Ok(()));
    }

    #[test]
    fn a_client_locks_after_guessing_across_accounts() {
        let throttle = LoginThrottle::default();
        let client: Option<IpAddr> = Some("192.0.2.1".parse().expect("ip"));
        for index in 0..CLIENT_FAILURES_MAX {
            throttle.failed(&format!("user{index}"), client, 0);
        }
        assert_eq!(throttle.check("someone", client, 0), Err(Locked::Client { minutes: 15 }));
        let other: Option<IpAddr> = Some("192.0.2.2".parse().expect("ip"));
        assert_eq!(throttle.check("someone", other, 0), Ok(()));
        throttle.succeeded("user0");
        assert!(throttle.check("someone", client, 0).is_err(), "a success clears no client");
    }
}
