//! The fuzz targets' bodies, shared by `cargo fuzz` (fuzz/fuzz_targets/*.rs) and by the test that
//! replays the corpus in CI (crates/protocol/tests/fuzz_corpus.rs), so both check the same
//! properties. Each must never panic except on a broken property.

use hongbao_money::{Fen, AMOUNT_MAX, AMOUNT_MIN};
use hongbao_protocol::biz::BizContent;
use hongbao_protocol::params::{decode_request, PARAMS_MAX};
use hongbao_protocol::sign_content::{notify_sign_content, request_sign_content};
use hongbao_protocol::Params;

/// Query and body of a request: the input split at its first NUL byte.
pub fn form(data: &[u8]) {
    let (query, body) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &data[..0]),
    };
    if let Ok(request) = decode_request(query, body) {
        assert!(request.params.len() <= PARAMS_MAX);
        // Whatever decoded re-encodes in its own charset, or is refused, never mangled.
        if let Some(form) = request.params.to_form(request.charset) {
            let again = decode_request(&form, b"").expect("our own encoding decodes");
            assert_eq!(again.params, request.params);
        }
        let _ = request_sign_content(&request.params);
    }
}

/// Sign content over arbitrary UTF-8 pairs.
pub fn sign_content(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let params: Params = text
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let content = request_sign_content(&params);
    let expected: Vec<String> = params
        .iter()
        .filter(|(k, v)| *k != "sign" && !v.trim().is_empty())
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    assert_eq!(content, expected.join("&"));
    let notify = notify_sign_content(&params);
    assert!(notify.len() <= content.len());
}

/// Exact amounts: anything accepted is in range and prints back to itself.
pub fn amount(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(fen) = Fen::parse_amount(text) {
            assert!(fen >= AMOUNT_MIN && fen <= AMOUNT_MAX, "{text:?} accepted as {fen}");
            assert_eq!(Fen::parse_amount(&fen.to_string()), Ok(fen));
        }
    }
}

/// biz_content and every field getter.
pub fn biz_content(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(biz) = BizContent::parse(Some(text)) else { return };
    for key in ["out_order_no", "out_request_no", "auth_no", "operation_id", "deduct_auth_no"] {
        if let Ok(Some(id)) = biz.id(key) {
            assert!(!id.is_empty() && id.len() <= 64 && id.is_ascii());
        }
    }
    if let Ok(fen) = biz.amount("amount") {
        assert!(fen >= AMOUNT_MIN && fen <= AMOUNT_MAX);
    }
    let _ = biz.text("order_title");
    let _ = biz.user_id("payer_user_id");
    let _ = biz.logon_id("payee_logon_id");
    let _ = biz.pay_timeout();
    if let Ok(Some(extra)) = biz.extra_param() {
        assert!(extra.chars().count() <= 300);
        let _ = hongbao_protocol::biz::order_expired_minutes(&extra);
    }
}
