//! The fuzz targets' bodies, shared by `cargo fuzz` (fuzz/fuzz_targets/*.rs) and by the test that
//! replays the corpus in CI (crates/protocol/tests/fuzz_corpus.rs), so both check the same
//! properties. Each must never panic except on a broken property.

use hongbao_money::{Fen, AMOUNT_MAX, AMOUNT_MIN};
use hongbao_protocol::biz::BizContent;
use hongbao_protocol::encryption::{decrypt_biz_content, encrypt_biz_content, EncryptKey};
use hongbao_protocol::params::{decode_request, PARAMS_MAX};
use hongbao_protocol::sign_content::{notify_sign_content, request_sign_content};
use hongbao_protocol::{Charset, Params};

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

/// The AES key of the `encrypted_biz_content` target (its corpus is encrypted with it).
pub const FUZZ_ENCRYPT_KEY: &str = "cW8mcZgoMGUVp5g7uv7bHw==";

/// An encrypted biz_content, decrypted as the gateway does after the signature verified. The
/// first byte picks the charset (low two bits: utf-8, GBK, GB2312) and the mode: high bit clear,
/// the rest is the ciphertext text as received (base64, block and padding checks); high bit
/// set, the rest is a plaintext encrypted with the key first (the charset and JSON checks on
/// arbitrary decrypted bytes). Never panics; whatever decrypts, encrypted again (when the
/// charset's encoder holds it: the GBK decoder also takes GB18030's four-byte forms), decrypts
/// to the same text, and goes through the biz_content body.
pub fn encrypted_biz_content(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else { return };
    let charset = match selector & 0x03 {
        0 => Charset::Utf8,
        1 => Charset::Gbk,
        _ => Charset::Gb2312,
    };
    let key = EncryptKey::from_base64(FUZZ_ENCRYPT_KEY).expect("the target's key");
    let ciphertext = if selector & 0x80 == 0 {
        let Ok(text) = std::str::from_utf8(rest) else { return };
        text.to_owned()
    } else {
        key.encrypt(rest).expect("any bytes encrypt")
    };
    let Ok(plaintext) = decrypt_biz_content(&key, &ciphertext, charset) else { return };
    if let Ok(again) = encrypt_biz_content(&key, &plaintext, charset) {
        assert_eq!(decrypt_biz_content(&key, &again, charset).as_deref(), Ok(plaintext.as_str()));
    }
    biz_content(plaintext.as_bytes());
}
