//! Making things go wrong on purpose: the sandbox console's fault rules, kept in this process's
//! memory (a restart forgets them; on PostgreSQL each process has its own).
//!
//! - A call rule: "the next N calls of method M (from app A) answer CODE/SUB_CODE", optionally
//!   after a delay, and optionally *after the money moved*: the method runs and commits, then the
//!   answer is replaced, so the merchant sees a failure (or, with only a delay, a timeout) for an
//!   operation that in fact succeeded; the identical retry then replays it. The codes are those
//!   `error::injectable` knows for the method (the one mapping in `error::to_alipay`), and the
//!   answer is signed like any other. The request log marks each injected answer with its rule.
//! - A notify rule: notifications to URLs starting with a prefix wait a delay before each
//!   attempt, or fail their next N attempts without being sent (recorded as failed attempts,
//!   retried on Alipay's schedule like any other failure).

use crate::error::{injectable, ApiError};
use hongbao_protocol::Method;
use std::sync::Mutex;
use std::time::Duration;

/// Most rules of each kind at once.
pub const RULES_MAX: usize = 64;
/// Longest delay a rule may add: two minutes (longer than any SDK's timeout).
pub const DELAY_MS_MAX: u64 = 120_000;
/// Most calls or attempts one rule may affect.
pub const COUNT_MAX: u32 = 1_000;

/// A call rule as given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRule {
    /// Its number (for the log and for removal).
    pub id: u64,
    /// Only this app's calls; `None`: any app.
    pub app_id: Option<String>,
    /// The method.
    pub method: Method,
    /// The answer's code and sub_code; `None`: the real answer (late, with `delay_ms`).
    pub answer: Option<(String, String)>,
    /// Run the method first (the money moves), then answer the injected code.
    pub after_money_moved: bool,
    /// Wait this long before answering.
    pub delay_ms: u64,
    /// Calls it still affects.
    pub remaining: u32,
}

impl CallRule {
    /// How the log names it.
    pub fn describe(&self) -> String {
        let answer = match &self.answer {
            Some((code, sub_code)) => format!("{code} {sub_code}"),
            None => "the real answer".into(),
        };
        let when = if self.after_money_moved { " after the money moved" } else { "" };
        let delay =
            if self.delay_ms > 0 { format!(", {} ms late", self.delay_ms) } else { String::new() };
        format!("rule #{}: {}{when}{delay}", self.id, answer)
    }
}

/// A notify rule as given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifyRule {
    /// Its number.
    pub id: u64,
    /// Notifications whose URL starts with this.
    pub url_prefix: String,
    /// Wait this long before each attempt.
    pub delay_ms: u64,
    /// Attempts still to fail without sending.
    pub fail_remaining: u32,
}

/// What a call rule does to one call.
#[derive(Debug)]
pub struct CallFault {
    /// How the log names the rule.
    pub rule: String,
    /// The error to answer, when the rule gives one.
    pub error: Option<ApiError>,
    /// Run the method first.
    pub after_money_moved: bool,
    /// Delay before the answer.
    pub delay: Duration,
}

/// What a notify rule does to one attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifyFault {
    /// How the attempt's error names the rule.
    pub rule: String,
    /// Delay before the attempt.
    pub delay: Duration,
    /// Fail it without sending.
    pub fail: bool,
}

/// A rule refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// The method has no such code.
    #[error("{method} cannot answer {code} {sub_code}: docs/console.md lists the codes each method may be made to answer")]
    NotInjectable {
        /// The method.
        method: &'static str,
        /// The code asked for.
        code: String,
        /// The sub_code asked for.
        sub_code: String,
    },
    /// A rule that changes nothing, or out of bounds.
    #[error("{0}")]
    Invalid(String),
    /// Too many rules.
    #[error("at most {RULES_MAX} rules of a kind; remove some first")]
    TooMany,
}

#[derive(Debug, Default)]
struct Rules {
    next_id: u64,
    calls: Vec<CallRule>,
    notify: Vec<NotifyRule>,
}

/// The rules in force.
#[derive(Debug, Default)]
pub struct Injections {
    rules: Mutex<Rules>,
}

impl Injections {
    /// Adds a call rule; `id` is assigned. Refused: a code the method cannot answer, a rule
    /// that changes nothing, a bound passed.
    pub fn add_call(&self, mut rule: CallRule) -> Result<CallRule, RuleError> {
        if let Some((code, sub_code)) = &rule.answer {
            if injectable(rule.method, code, sub_code).is_none() {
                return Err(RuleError::NotInjectable {
                    method: rule.method.name(),
                    code: code.clone(),
                    sub_code: sub_code.clone(),
                });
            }
        } else if rule.delay_ms == 0 {
            return Err(RuleError::Invalid("give a code and sub_code, a delay, or both".into()));
        }
        if rule.remaining == 0 || rule.remaining > COUNT_MAX {
            return Err(RuleError::Invalid(format!("count must be 1 to {COUNT_MAX}")));
        }
        if rule.delay_ms > DELAY_MS_MAX {
            return Err(RuleError::Invalid(format!("delay_ms must be at most {DELAY_MS_MAX}")));
        }
        let mut rules =
            self.rules.lock().map_err(|_| RuleError::Invalid("rules unavailable".into()))?;
        if rules.calls.len() >= RULES_MAX {
            return Err(RuleError::TooMany);
        }
        rules.next_id += 1;
        rule.id = rules.next_id;
        rules.calls.push(rule.clone());
        Ok(rule)
    }

    /// Adds a notify rule; `id` is assigned.
    pub fn add_notify(&self, mut rule: NotifyRule) -> Result<NotifyRule, RuleError> {
        if rule.url_prefix.trim().is_empty() || rule.url_prefix.len() > 256 {
            return Err(RuleError::Invalid("url_prefix must be 1 to 256 characters".into()));
        }
        if rule.delay_ms == 0 && rule.fail_remaining == 0 {
            return Err(RuleError::Invalid("give a delay, a number of failures, or both".into()));
        }
        if rule.delay_ms > DELAY_MS_MAX || rule.fail_remaining > COUNT_MAX {
            return Err(RuleError::Invalid(format!(
                "delay_ms at most {DELAY_MS_MAX}, fail at most {COUNT_MAX}"
            )));
        }
        let mut rules =
            self.rules.lock().map_err(|_| RuleError::Invalid("rules unavailable".into()))?;
        if rules.notify.len() >= RULES_MAX {
            return Err(RuleError::TooMany);
        }
        rules.next_id += 1;
        rule.id = rules.next_id;
        rules.notify.push(rule.clone());
        Ok(rule)
    }

    /// Removes a rule of either kind; false when there is none with this id.
    pub fn remove(&self, id: u64) -> bool {
        let Ok(mut rules) = self.rules.lock() else { return false };
        let before = rules.calls.len() + rules.notify.len();
        rules.calls.retain(|rule| rule.id != id);
        rules.notify.retain(|rule| rule.id != id);
        before != rules.calls.len() + rules.notify.len()
    }

    /// The rules in force, call rules first.
    pub fn list(&self) -> (Vec<CallRule>, Vec<NotifyRule>) {
        match self.rules.lock() {
            Ok(rules) => (rules.calls.clone(), rules.notify.clone()),
            Err(_) => (Vec::new(), Vec::new()),
        }
    }

    /// Takes one use of the first rule matching a verified call (a rule used up goes).
    pub fn take_call(&self, app_id: &str, method: Method) -> Option<CallFault> {
        let mut rules = self.rules.lock().ok()?;
        let index = rules.calls.iter().position(|rule| {
            rule.method == method && rule.app_id.as_deref().is_none_or(|only| only == app_id)
        })?;
        let rule = &mut rules.calls[index];
        rule.remaining = rule.remaining.saturating_sub(1);
        let fault = CallFault {
            rule: rule.describe(),
            error: rule.answer.as_ref().and_then(|(code, sub)| injectable(method, code, sub)),
            after_money_moved: rule.after_money_moved,
            delay: Duration::from_millis(rule.delay_ms),
        };
        if rule.remaining == 0 {
            rules.calls.remove(index);
        }
        Some(fault)
    }

    /// Takes one use of the first notify rule matching `url` (its failures are used up one by
    /// one; its delay stays until the rule is removed).
    pub fn take_notify(&self, url: &str) -> Option<NotifyFault> {
        let mut rules = self.rules.lock().ok()?;
        let index = rules.notify.iter().position(|rule| url.starts_with(&rule.url_prefix))?;
        let rule = &mut rules.notify[index];
        let fail = rule.fail_remaining > 0;
        rule.fail_remaining = rule.fail_remaining.saturating_sub(1);
        let fault = NotifyFault {
            rule: format!("rule #{}", rule.id),
            delay: Duration::from_millis(rule.delay_ms),
            fail,
        };
        if rule.fail_remaining == 0 && rule.delay_ms == 0 {
            rules.notify.remove(index);
        }
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::to_alipay;

    fn rule(method: Method, answer: Option<(&str, &str)>, remaining: u32) -> CallRule {
        CallRule {
            id: 0,
            app_id: Some("A".into()),
            method,
            answer: answer.map(|(c, s)| (c.to_owned(), s.to_owned())),
            after_money_moved: false,
            delay_ms: 0,
            remaining,
        }
    }

    #[test]
    fn a_call_rule_answers_its_code_for_its_next_calls_then_goes() {
        let rules = Injections::default();
        let added = rules
            .add_call(rule(Method::Disburse, Some(("40004", "MONEY_NOT_ENOUGH")), 2))
            .expect("ok");
        assert_eq!(added.id, 1);
        assert!(rules.take_call("B", Method::Disburse).is_none(), "another app's calls pass");
        assert!(rules.take_call("A", Method::Refund).is_none(), "another method passes");
        for _ in 0..2 {
            let fault = rules.take_call("A", Method::Disburse).expect("injected");
            let alipay = to_alipay(&fault.error.expect("an error"));
            assert_eq!((alipay.code, alipay.sub_code), ("40004", "MONEY_NOT_ENOUGH"));
        }
        assert!(rules.take_call("A", Method::Disburse).is_none(), "used up");
        assert!(rules.list().0.is_empty());
    }

    #[test]
    fn codes_a_method_cannot_answer_and_empty_rules_are_refused() {
        let rules = Injections::default();
        assert!(matches!(
            rules.add_call(rule(Method::Disburse, Some(("40004", "NO_SUCH_CODE")), 1)),
            Err(RuleError::NotInjectable { .. })
        ));
        // fund.trans answers in its own words: PAYMENT_MONEY_NOT_ENOUGH, not MONEY_NOT_ENOUGH.
        assert!(rules
            .add_call(rule(Method::TransUniTransfer, Some(("40004", "MONEY_NOT_ENOUGH")), 1))
            .is_err());
        assert!(rules
            .add_call(rule(
                Method::TransUniTransfer,
                Some(("40004", "PAYMENT_MONEY_NOT_ENOUGH")),
                1
            ))
            .is_ok());
        assert!(rules.add_call(rule(Method::Disburse, None, 1)).is_err(), "changes nothing");
        assert!(rules
            .add_call(rule(Method::Disburse, Some(("20000", "isp.unknow-error")), 0))
            .is_err());
    }

    #[test]
    fn a_notify_rule_fails_its_attempts_then_goes() {
        let rules = Injections::default();
        rules
            .add_notify(NotifyRule {
                id: 0,
                url_prefix: "http://127.0.0.1:9/".into(),
                delay_ms: 0,
                fail_remaining: 2,
            })
            .expect("ok");
        assert!(rules.take_notify("http://127.0.0.2/").is_none());
        assert!(rules.take_notify("http://127.0.0.1:9/notify").expect("rule").fail);
        assert!(rules.take_notify("http://127.0.0.1:9/notify").expect("rule").fail);
        assert!(rules.take_notify("http://127.0.0.1:9/notify").is_none(), "used up");
    }
}
