//! The console API's JSON, built by hand from the store's types (ledger types are not
//! `Serialize`: a serialized type is a compatibility promise; docs/console.md is this one).
//! Amounts are strings in yuan (`"10.00"`), as on Alipay's wire; times are Beijing time with
//! the Unix milliseconds beside them.

use crate::inject::{CallRule, NotifyRule};
use crate::notify::{next_attempt_at, Delivery};
use crate::{App, AppCredential, Gateway};
use hongbao_ledger::OperationView;
use hongbao_protocol::display::format_beijing;
use hongbao_store::{
    JournalEntry, LoggedRequest, NotifyRecord, OrderDetail, OrderSummary, UserDetail, UserSummary,
};
use serde_json::{json, Value};

fn time(ms: Option<i64>) -> Value {
    ms.map(|ms| Value::String(format_beijing(ms))).unwrap_or(Value::Null)
}

/// A request-log row; `full` adds the texts (the detail).
pub fn request(row: &LoggedRequest, full: bool) -> Value {
    let entry = &row.entry;
    let mut value = json!({
        "log_id": row.log_id,
        "request_id": entry.request_id,
        "time": format_beijing(entry.at_ms),
        "at_ms": entry.at_ms,
        "kind": entry.kind.map(|k| k.as_str()),
        "http_method": entry.http_method,
        "path": entry.path,
        "app_id": entry.app_id,
        "method": entry.method,
        "charset": entry.charset,
        "sign_type": entry.sign_type,
        "code": entry.code,
        "sub_code": entry.sub_code,
        "http_status": entry.http_status,
        "latency_ms": entry.latency_us as f64 / 1000.0,
        "sign_ok": entry.sign_ok,
        "injected": entry.injected,
    });
    if full {
        let params = entry
            .params
            .as_deref()
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
            .unwrap_or(Value::Null);
        value["params"] = params;
        value["biz_content"] = json!(entry.biz_content);
        value["sign_content"] = json!(entry.sign_content);
        value["answer"] = json!(entry.answer);
        value["refs"] = json!(entry.refs);
    }
    value
}

/// A notification with its attempts and its next attempt.
pub fn notification(record: &NotifyRecord) -> Value {
    let history: Vec<Value> = record
        .history
        .iter()
        .map(|attempt| {
            json!({
                "time": format_beijing(attempt.at_ms),
                "at_ms": attempt.at_ms,
                "delivered": attempt.delivered,
                "http_status": attempt.http_status,
                "answer": attempt.answer,
                "latency_ms": attempt.latency_ms,
                "error": attempt.error,
            })
        })
        .collect();
    json!({
        "notify_id": record.notify_id,
        "app_id": record.app_id,
        "operation_id": record.operation_id,
        "event": record.event.as_str(),
        "url": record.notify_url,
        "status": record.status.as_str(),
        "attempts": record.attempts,
        "next_attempt": time(record.next_attempt_at_ms),
        "next_attempt_at_ms": record.next_attempt_at_ms,
        "created": format_beijing(record.created_at_ms),
        "created_at_ms": record.created_at_ms,
        "delivered": time(record.delivered_at_ms),
        "last_error": record.last_error,
        "history": history,
    })
}

/// When a failing notification's attempts would come, per Alipay's schedule, from its last one.
pub fn schedule_after(last_at_ms: i64, attempts_made: u32) -> Vec<i64> {
    let mut due = Vec::new();
    let (mut at, mut made) = (last_at_ms, attempts_made);
    while let Some(next) = next_attempt_at(at, made) {
        due.push(next);
        at = next;
        made += 1;
    }
    due
}

/// A test notification's result.
pub fn delivery(result: &Delivery) -> Value {
    json!({
        "delivered": result.delivered,
        "http_status": result.http_status,
        "answer": result.answer,
        "latency_ms": result.latency_ms,
        "error": result.error,
    })
}

/// An order.
pub fn order(order: &OrderSummary) -> Value {
    let packet = &order.packet;
    json!({
        "auth_no": order.auth_no,
        "app_id": order.app_id,
        "out_order_no": order.out_order_no,
        "product": order.product.as_str(),
        "kind": order.kind.as_str(),
        "fund_method": order.fund_method.map(|m| m.as_str()),
        "order_title": order.order_title,
        "status": packet.status.as_str(),
        "amount": packet.amount.to_string(),
        "disbursed": packet.disbursed.to_string(),
        "refunded": packet.refunded.to_string(),
        "remaining": packet.remaining().to_string(),
        "payer_user_id": order.payer_user_id,
        "payee_user_id": order.payee_user_id,
        "packet_auth_no": order.packet_auth_no,
        "created": format_beijing(order.created_at_ms),
        "pay_deadline": time(order.pay_deadline_ms),
        "expire_at": time(order.expire_at_ms),
        "expired_at": time(order.expired_at_ms),
        "notify_url": order.notify_url,
    })
}

/// A journal entry with its postings.
pub fn entry(entry: &JournalEntry) -> Value {
    let postings: Vec<Value> = entry
        .postings
        .iter()
        .map(|p| json!({"account": p.account.id(), "amount": p.amount.to_string()}))
        .collect();
    json!({
        "entry_id": entry.entry_id,
        "memo": entry.memo,
        "operation_id": entry.operation_id,
        "time": format_beijing(entry.created_at_ms),
        "postings": postings,
    })
}

/// An operation as the console shows it.
pub fn operation(view: &OperationView) -> Value {
    json!({
        "operation_id": view.operation_id,
        "out_request_no": view.out_request_no,
        "kind": view.kind.as_str(),
        "operation_type": view.operation_type.as_str(),
        "product": view.product.as_str(),
        "status": view.status.as_str(),
        "amount": view.amount.to_string(),
        "remark": view.remark,
        "payer_user_id": view.payer_user_id,
        "payee_user_id": view.payee_user_id,
        "created": format_beijing(view.gmt_create_ms),
        "trans": time(view.gmt_trans_ms),
    })
}

/// An order with its operations, entries and disburse orders.
pub fn order_detail(detail: &OrderDetail) -> Value {
    let operations: Vec<Value> = detail
        .operations
        .iter()
        .map(|op| {
            let mut value = operation(&op.view);
            value["entry"] = op.entry.as_ref().map(entry).unwrap_or(Value::Null);
            value
        })
        .collect();
    let disbursements: Vec<Value> = detail.disbursements.iter().map(order).collect();
    json!({"order": order(&detail.order), "operations": operations, "disbursements": disbursements})
}

/// A user.
pub fn user(user: &UserSummary) -> Value {
    json!({
        "user_id": user.user_id,
        "logon_id": user.logon_id,
        "real_name": user.real_name,
        "balance": user.balance.to_string(),
    })
}

/// A user with its history.
pub fn user_detail(detail: &UserDetail) -> Value {
    let history: Vec<Value> = detail.history.iter().map(entry).collect();
    json!({"user": user(&detail.user), "history": history})
}

/// A call rule.
pub fn call_rule(rule: &CallRule) -> Value {
    json!({
        "id": rule.id,
        "app_id": rule.app_id,
        "method": rule.method.name(),
        "code": rule.answer.as_ref().map(|(code, _)| code),
        "sub_code": rule.answer.as_ref().map(|(_, sub_code)| sub_code),
        "after_money_moved": rule.after_money_moved,
        "delay_ms": rule.delay_ms,
        "remaining": rule.remaining,
        "describe": rule.describe(),
    })
}

/// A notify rule.
pub fn notify_rule(rule: &NotifyRule) -> Value {
    json!({
        "id": rule.id,
        "url_prefix": rule.url_prefix,
        "delay_ms": rule.delay_ms,
        "fail_remaining": rule.fail_remaining,
    })
}

/// An app: its mode, what to download, and ready-to-paste SDK set-ups.
pub fn app(gateway: &Gateway, app: &App, base: &str) -> Value {
    let gateway_public = gateway.gateway_key.public_key().and_then(|key| key.to_pem()).ok();
    let (mode, app_public_key, app_cert_sn, app_cert) = match &app.credential {
        AppCredential::PublicKey(key) => ("public_key", key.to_pem().ok(), None, None),
        AppCredential::Certificate(cert) => (
            "certificate",
            None,
            Some(cert.certificate.sn().to_owned()),
            cert.certificate.to_pem().ok(),
        ),
    };
    let (gateway_cert_sn, root_cert_sn) = match &gateway.certs {
        Some(certs) => (Some(certs.signing().sn().to_owned()), Some(certs.root().sn().to_owned())),
        None => (None, None),
    };
    json!({
        "app_id": app.app_id,
        "name": app.name,
        "mode": mode,
        "merchant_user_id": app.merchant_user_id,
        "message_url": app.message_url,
        "app_public_key": app_public_key,
        "app_cert_sn": app_cert_sn,
        "app_cert": app_cert,
        "alipay_public_key": gateway_public,
        "alipay_cert_sn": gateway_cert_sn,
        "alipay_root_cert_sn": root_cert_sn,
        "encryption_key": Value::Null,
        "snippets": snippets(&app.app_id, base, mode == "certificate"),
    })
}

/// SDK set-ups for an app, pointed at this gateway, in the official SDKs' own option names.
pub fn snippets(app_id: &str, base: &str, certificate: bool) -> Value {
    let gateway = format!("{base}/gateway.do");
    let (node_keys, python_keys, java_keys, php_keys) = if certificate {
        (
            "  appCertPath: 'appCertPublicKey.crt',\n  alipayPublicCertPath: 'alipayCertPublicKey_RSA2.crt',\n  alipayRootCertPath: 'alipayRootCert.crt',",
            "config.app_cert_sn = ...  # from appCertPublicKey.crt\nconfig.alipay_root_cert_sn = ...",
            "cert.setCertPath(\"appCertPublicKey.crt\");\ncert.setAlipayPublicCertPath(\"alipayCertPublicKey_RSA2.crt\");\ncert.setRootCertPath(\"alipayRootCert.crt\");",
            "$aop->appCertSN = $aop->getCertSN('appCertPublicKey.crt');\n$aop->alipayRootCertSN = $aop->getRootCertSN('alipayRootCert.crt');",
        )
    } else {
        (
            "  alipayPublicKey: fs.readFileSync('alipay_public_key.pem', 'ascii'),",
            "config.alipay_public_key = open('alipay_public_key.pem').read()",
            "// alipayPublicKey: the Alipay public key shown on this page",
            "$aop->alipayrsaPublicKey = file_get_contents('alipay_public_key.pem');",
        )
    };
    json!({
        "node": format!("const {{ AlipaySdk }} = require('alipay-sdk');\nconst sdk = new AlipaySdk({{\n  appId: '{app_id}',\n  privateKey: fs.readFileSync('app_private_key.pem', 'ascii'),\n{node_keys}\n  gateway: '{gateway}',\n  signType: 'RSA2',\n}});"),
        "python": format!("from alipay.aop.api.AlipayClientConfig import AlipayClientConfig\nconfig = AlipayClientConfig()\nconfig.server_url = '{gateway}'\nconfig.app_id = '{app_id}'\nconfig.app_private_key = open('app_private_key.pem').read()\n{python_keys}"),
        "java": format!("AlipayClient client = new DefaultAlipayClient(\"{gateway}\", \"{app_id}\", appPrivateKey, \"json\", \"utf-8\", alipayPublicKey, \"RSA2\");\n{java_keys}"),
        "php": format!("$aop = new AopClient();\n$aop->gatewayUrl = '{gateway}';\n$aop->appId = '{app_id}';\n$aop->rsaPrivateKey = file_get_contents('app_private_key.pem');\n$aop->signType = 'RSA2';\n{php_keys}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_after_a_first_failure_is_alipays() {
        let due = schedule_after(0, 1);
        assert_eq!(due.len(), 7);
        assert_eq!(due[0], 4 * 60_000);
        assert_eq!(due[1], 14 * 60_000);
        assert!(schedule_after(0, 8).is_empty());
    }
}
