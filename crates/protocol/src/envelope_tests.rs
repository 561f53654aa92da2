//! Tests of the envelope: emission order, charsets, and extraction the way each SDK does it.

use super::*;

fn fake_sign(bytes: &[u8]) -> Result<String, ()> {
    Ok(format!("SIG{}", bytes.len()))
}

#[test]
fn envelope_has_the_node_first_and_sign_right_after() {
    let node = ResponseNode::success().field("amount", "100.00").field("order_title", "a}b\"c");
    let body = render("x_response", &node, Charset::Utf8, fake_sign).expect("renders");
    let text = String::from_utf8(body).expect("utf-8");
    assert_eq!(
        text,
        r#"{"x_response":{"code":"10000","msg":"Success","amount":"100.00","order_title":"a\u007db\"c"},"sign":"SIG78"}"#
    );
    let found = find_signed_node(&text, "x_response").expect("found");
    assert_eq!(
        found.node,
        r#"{"code":"10000","msg":"Success","amount":"100.00","order_title":"a\u007db\"c"}"#
    );
    assert_eq!(found.sign.as_deref(), Some("SIG78"));
    let value: serde_json::Value = serde_json::from_str(found.node).expect("json");
    assert_eq!(value["order_title"], "a}b\"c");
}

#[test]
fn gbk_envelope_signs_the_gbk_bytes() {
    let node = ResponseNode::success().field("order_title", "红包发放");
    let mut signed = Vec::new();
    let body = render("x_response", &node, Charset::Gbk, |bytes| {
        signed = bytes.to_vec();
        Ok::<_, ()>("S".to_owned())
    })
    .expect("renders");
    assert!(signed.windows(8).any(|w| w == [0xba, 0xec, 0xb0, 0xfc, 0xb7, 0xa2, 0xb7, 0xc5]));
    assert_eq!(&body[14..14 + signed.len()], signed.as_slice());
}

#[test]
fn error_nodes_order_code_msg_sub_code_sub_msg() {
    let node = ResponseNode::error("40004", "Business Failed", "MONEY_NOT_ENOUGH", "余额不足");
    assert_eq!(
        node.to_json(),
        r#"{"code":"40004","msg":"Business Failed","sub_code":"MONEY_NOT_ENOUGH","sub_msg":"余额不足"}"#
    );
}

/// The official Python SDK: first `"x_response":{` (regex `"[a-zA-z_]+_response"\s*:\s*\{`),
/// last `}\s*,\s*"sign"\s*:\s*"`; signed text from that `{` to that `}` inclusive, sign up
/// to the next `"`.
fn python_official_extract(body: &str) -> Option<(&str, &str)> {
    let begin = body.find("_response\":")? + "_response\":".len();
    let open = begin + body[begin..].find('{')?;
    let end = body.rfind(",\"sign\":\"")?;
    let close = body[..end].rfind('}')?;
    let sign_start = end + ",\"sign\":\"".len();
    let sign_end = sign_start + body[sign_start..].find('"')?;
    Some((&body[open..=close], &body[sign_start..sign_end]))
}

/// The Node SDK's `getSignStr`: text after `<key>"`, cut at `lastIndexOf('"sign"')` of the
/// *uncut* body, then trimmed to the outer braces.
fn node_extract<'a>(body: &'a str, key: &str) -> Option<&'a str> {
    let marker = format!("{key}\"");
    let start = body.find(&marker)? + marker.len();
    let rest = &body[start..];
    let last_sign = body.rfind("\"sign\"")?;
    let cut = &rest[..last_sign.min(rest.len())];
    let open = cut.find('{')?;
    let close = cut.rfind('}')?;
    Some(&cut[open..=close])
}

#[test]
fn every_sdk_extracts_exactly_the_signed_bytes() {
    // A long signature, as RSA-2048 gives (Node's cut relies on it), and a title with braces
    // and quotes that naive extractors could trip on.
    let long_sign = "A".repeat(344);
    let node = ResponseNode::success().field("order_title", "a}b{\"c").field("amount", "1.00");
    let body = render("alipay_fund_coupon_order_refund_response", &node, Charset::Utf8, |_| {
        Ok::<_, ()>(long_sign.clone())
    })
    .expect("renders");
    let text = String::from_utf8(body).expect("utf-8");
    let signed = node.to_json();
    let java = find_signed_node(&text, "alipay_fund_coupon_order_refund_response").expect("java");
    assert_eq!(java.node, signed);
    assert_eq!(python_official_extract(&text), Some((signed.as_str(), long_sign.as_str())));
    assert_eq!(
        node_extract(&text, "alipay_fund_coupon_order_refund_response"),
        Some(signed.as_str())
    );
    assert_eq!(
        naive_brace_extract(&text, "alipay_fund_coupon_order_refund_response"),
        Some(signed.as_str())
    );
}

/// python-alipay-sdk's `_get_string_to_be_signed`: first `{` after the key, braces counted
/// without regard to strings.
fn naive_brace_extract<'a>(body: &'a str, key: &str) -> Option<&'a str> {
    let start = body.find(key)?;
    let open = start + body[start..].find('{')?;
    let mut depth = 0;
    for (offset, ch) in body[open..].char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&body[open..=open + offset]);
                }
            }
            _ => {}
        }
    }
    None
}

#[test]
fn missing_or_malformed_nodes_are_not_found() {
    assert_eq!(find_signed_node(r#"{"a_response":"unterminated"#, "a_response"), None);
    assert_eq!(find_signed_node(r#"{"a_response":1}"#, "a_response"), None);
    assert_eq!(find_signed_node(r#"{"a_response":{"unclosed":1"#, "a_response"), None);
    assert_eq!(find_signed_node("not json", "a_response"), None);
}

#[test]
fn certificate_mode_puts_alipay_cert_sn_after_sign_where_every_sdk_still_finds_the_node() {
    let node = ResponseNode::success().field("amount", "1.00");
    let sn = "5b6fd5e8b5e7d4c3a2b1c0d9e8f7a6b5";
    let body = render_with_cert_sn("x_response", &node, Charset::Utf8, Some(sn), fake_sign)
        .expect("renders");
    let text = String::from_utf8(body).expect("utf-8");
    assert!(text.ends_with(&format!(r#"}},"sign":"SIG48","alipay_cert_sn":"{sn}"}}"#)), "{text}");
    let found = find_signed_node(&text, "x_response").expect("found");
    assert_eq!(found.node, r#"{"code":"10000","msg":"Success","amount":"1.00"}"#);
    assert_eq!(found.sign.as_deref(), Some("SIG48"));
    assert_eq!(found.cert_sn.as_deref(), Some(sn));
    // The official Python SDK's rule: the node runs to the last `},"sign":"`.
    let end = text.rfind(r#"},"sign":""#).expect("sign marker");
    assert_eq!(&text[text.find(":{").expect("start") + 1..=end], found.node);
    // Without an SN the envelope is the public-key one.
    let plain = render("x_response", &node, Charset::Utf8, fake_sign).expect("renders");
    assert!(find_signed_node(&String::from_utf8(plain).expect("utf-8"), "x_response")
        .expect("found")
        .cert_sn
        .is_none());
}

#[test]
fn an_encrypted_answer_signs_the_quoted_ciphertext_where_every_sdk_takes_it() {
    use crate::encryption::EncryptKey;
    let key = EncryptKey::from_base64("cW8mcZgoMGUVp5g7uv7bHw==").expect("key");
    let node = ResponseNode::success().field("order_title", "红包发放").field("amount", "1.00");
    let sn = "5b6fd5e8b5e7d4c3a2b1c0d9e8f7a6b5";
    for charset in [Charset::Utf8, Charset::Gbk] {
        for cert_sn in [None, Some(sn)] {
            let mut signed = Vec::new();
            let body = render_answer(
                "x_response",
                &node,
                charset,
                NodeForm::Encrypted(&key),
                cert_sn,
                |b| {
                    signed = b.to_vec();
                    // As long as a real signature, so Node's cut at the last "sign" works alike.
                    Ok::<_, ()>("S".repeat(344))
                },
            )
            .expect("renders");
            let text = charset.decode(&body).expect("decodes");
            assert!(!text.contains("Success") && !text.contains("红包"), "{text}");
            let found = find_signed_node(&text, "x_response").expect("found");
            assert!(found.encrypted);
            assert_eq!(found.node.as_bytes(), signed.as_slice(), "the signed span is the string");
            assert_eq!(found.cert_sn.as_deref(), cert_sn);
            // The official Python SDK: from the quote after `"x_response":` to the quote before
            // the last `","sign":"`.
            let begin = text.find(r#""x_response":""#).expect("begin") + r#""x_response":"#.len();
            let end = text.rfind(r#"","sign":""#).expect("end") + 1;
            assert_eq!(&text[begin..end], found.node);
            // Java: from the first quote after the key to the next quote, inclusive.
            let rest = &text[begin + 1..];
            assert_eq!(&text[begin..begin + 2 + rest.find('"').expect("close")], found.node);
            // The string opens to the clear node's bytes in the charset.
            let clear = key.decrypt(found.ciphertext().expect("ciphertext")).expect("opens");
            assert_eq!(clear, charset.encode_json(&node.to_json()));
            // Node reads the node as a string value and decrypts it.
            let parsed: serde_json::Value = serde_json::from_str(&text).expect("json");
            assert_eq!(parsed["x_response"].as_str(), found.ciphertext());
        }
    }
    // Clear, render_answer is render_with_cert_sn.
    let clear = render_answer("x_response", &node, Charset::Utf8, NodeForm::Clear, None, fake_sign)
        .expect("renders");
    assert_eq!(clear, render("x_response", &node, Charset::Utf8, fake_sign).expect("renders"));
}

#[test]
fn a_field_given_twice_keeps_its_first_place_and_takes_the_later_value() {
    // The order is the node's own (no serde_json preserve_order in this crate): "b" before "a".
    let node = ResponseNode::success().field("b", "1").field("a", "2").field("b", "3");
    assert_eq!(node.to_json(), r#"{"code":"10000","msg":"Success","b":"3","a":"2"}"#);
    assert_eq!(node.get("b").and_then(|v| v.as_str()), Some("3"));
    assert_eq!(node.get("missing"), None);
    assert_eq!(node.as_map().len(), 4);
}
