//! The payer's side (issue: page.pay, app.pay, timeouts and automatic refunds): the cashier
//! flow over raw HTTP as a browser would drive it, the wallet for app.pay order strings,
//! pay_timeout closing unpaid packets and expiry refunding remainders on the injected clock, and
//! the sandbox clock control.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_ledger::FiredDeadline;
use hongbao_protocol::envelope::find_signed_node;
use hongbao_protocol::form::parse_form;
use hongbao_protocol::sign_content::verify_notify;
use hongbao_protocol::{Charset, Params, SignType};
use hongbao_test_support::*;

const RETURN_URL: &str = "http://merchant.example/return";
const PAYER_LOGON: &str = "merchant-b@example.com";

fn page_biz(out_order_no: &str, amount: &str, extra: &str) -> String {
    format!(
        r#"{{"out_order_no":"{out_order_no}","out_request_no":"pay1","order_title":"年会红包","amount":"{amount}"{extra}}}"#
    )
}

fn hongbao_gateway_csp() -> &'static str {
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'"
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").into_bytes()
}

fn text(http: &HttpResponse) -> String {
    String::from_utf8_lossy(&http.body).into_owned()
}

/// POSTs a signed page.pay as the SDK's auto-submitting form would; returns the cashier path.
async fn start_page_pay(app: &TestApp, biz: &str) -> String {
    let call = Call::new(PAGE_PAY, biz).param("return_url", RETURN_URL);
    let http = raw(
        app.addr,
        &post_request("/gateway.do", &call.body(), "application/x-www-form-urlencoded"),
    )
    .await;
    assert_eq!(http.status, 303, "page.pay redirects to the cashier: {}", text(&http));
    http.header("location").expect("location").to_owned()
}

fn cashier_form(login: &str, password: &str, action: &str) -> Vec<u8> {
    let params: Params = [
        ("login", login),
        ("password", password),
        ("action", action),
        ("lang", "zh"),
        ("charset", "utf-8"),
        ("sign_type", "RSA2"),
    ]
    .into_iter()
    .collect();
    params.to_form(Charset::Utf8).expect("form")
}

async fn query_status(app: &TestApp, out_order_no: &str, out_request_no: &str) -> Answer {
    app.call(
        QUERY,
        &format!(r#"{{"out_order_no":"{out_order_no}","out_request_no":"{out_request_no}"}}"#),
    )
    .await
}

#[tokio::test]
async fn page_pay_cashier_login_pay_and_signed_return() {
    let app = spawn_app().await;
    let cashier = start_page_pay(&app, &page_biz("WEB1", "88.88", "")).await;
    assert!(cashier.starts_with("/cashier/"), "{cashier}");
    assert_eq!(
        query_status(&app, "WEB1", "pay1").await.field("status"),
        "INIT",
        "INIT until the payer pays"
    );

    let page = raw(app.addr, &get(&cashier)).await;
    assert_eq!(page.status, 200);
    let html = text(&page);
    for expected in
        ["年会红包", "88.88", "shop 2021000000000001", "确认付款", "取消", "name=\"password\""]
    {
        assert!(html.contains(expected), "cashier page lacks {expected}");
    }
    let english = text(&raw(app.addr, &get(&format!("{cashier}?lang=en"))).await);
    assert!(english.contains(">Pay<") && english.contains("Merchant"), "English cashier");
    assert!(english.contains("href=\"?lang=zh\""), "a language link");
    for (name, expected) in [
        ("x-frame-options", "DENY"),
        ("cache-control", "no-store"),
        ("content-security-policy", hongbao_gateway_csp()),
    ] {
        assert_eq!(page.header(name), Some(expected), "the cashier page's {name}");
    }

    let path = cashier.split('?').next().expect("path").to_owned();
    let wrong = raw(
        app.addr,
        &post_request(
            &path,
            &cashier_form(PAYER_LOGON, "nope", "pay"),
            "application/x-www-form-urlencoded",
        ),
    )
    .await;
    assert!(text(&wrong).contains("账号或密码错误"));
    let cancel = raw(
        app.addr,
        &post_request(
            &path,
            &cashier_form(PAYER_LOGON, "", "cancel"),
            "application/x-www-form-urlencoded",
        ),
    )
    .await;
    assert!(text(&cancel).contains("已取消支付"));
    assert_eq!(query_status(&app, "WEB1", "pay1").await.field("status"), "INIT");
    assert_eq!(app.balance(MERCHANT_B).await, MERCHANT_BALANCE);

    let paid = raw(
        app.addr,
        &post_request(
            &path,
            &cashier_form(PAYER_LOGON, "111111", "pay"),
            "application/x-www-form-urlencoded",
        ),
    )
    .await;
    assert_eq!(paid.status, 303);
    assert_eq!(paid.header("cache-control"), Some("no-store"), "redirects are not cached either");
    let location = paid.header("location").expect("return redirect").to_owned();
    let query = location.strip_prefix(&format!("{RETURN_URL}?")).expect("back to return_url");
    let params: Params = parse_form(query.as_bytes())
        .expect("query")
        .into_iter()
        .map(|(k, v)| (String::from_utf8(k).expect("k"), String::from_utf8(v).expect("v")))
        .collect();
    let public = gateway_key().public_key().expect("public");
    assert!(
        verify_notify(&params, Charset::Utf8, &public),
        "return parameters are signed: {params:?}"
    );
    assert_eq!(params.get("method"), Some(PAGE_PAY_RETURN));
    assert_eq!(params.get("out_order_no"), Some("WEB1"));
    assert_eq!(params.get("amount"), Some("88.88"));
    assert_eq!(params.get("status"), Some("SUCCESS"));

    let found = query_status(&app, "WEB1", "pay1").await;
    assert_eq!(found.field("status"), "SUCCESS");
    assert_eq!(found.field("payer_user_id"), MERCHANT_B);
    assert!(!found.field("gmt_trans").is_empty());
    assert_eq!(app.balance(MERCHANT_B).await, MERCHANT_BALANCE - 8888);
    // The paid packet can be disbursed like any other.
    let disburse = format!(
        r#"{{"out_order_no":"WEB1-D","deduct_out_order_no":"WEB1","out_request_no":"1","order_title":"t","amount":"8.88","payee_user_id":"{ALICE}"}}"#
    );
    assert_eq!(app.call(DISBURSE, &disburse).await.code(), "10000");
    // Paying twice does not pay twice.
    let again = raw(
        app.addr,
        &post_request(
            &path,
            &cashier_form(PAYER_LOGON, "111111", "pay"),
            "application/x-www-form-urlencoded",
        ),
    )
    .await;
    assert_eq!(again.status, 303);
    assert_eq!(app.balance(MERCHANT_B).await, MERCHANT_BALANCE - 8888);
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_tampered_page_pay_form_shows_a_readable_error_page() {
    let app = spawn_app().await;
    let call = Call::new(PAGE_PAY, &page_biz("WEB2", "1.00", "")).param("return_url", RETURN_URL);
    let mut signed = call.signed();
    signed.insert("biz_content", page_biz("WEB2", "0.01", ""));
    let http = raw(
        app.addr,
        &post_request(
            "/gateway.do",
            &form_encode(&signed, Charset::Utf8),
            "application/x-www-form-urlencoded",
        ),
    )
    .await;
    assert_eq!(http.status, 400);
    assert!(http.header("content-type").unwrap_or("").starts_with("text/html"));
    let html = text(&http);
    assert!(html.contains("isv.invalid-signature") && html.contains("验签出错"), "{html}");
    assert!(!html.trim_start().starts_with('{'), "not JSON");
    assert_eq!(query_status(&app, "WEB2", "pay1").await.sub_code(), "AUTH_ORDER_NOT_EXIST");

    // A page.pay whose form does not even decode is still routed to a page, by the method it
    // names; an app.pay order string posted to /gateway.do gets a signed JSON error instead.
    let mut undecodable = call.body();
    undecodable.extend_from_slice(b"&x=%ZZ");
    let http = raw(
        app.addr,
        &post_request("/gateway.do", &undecodable, "application/x-www-form-urlencoded"),
    )
    .await;
    assert_eq!(http.status, 400);
    assert!(text(&http).contains("isv.invalid-parameter"), "{}", text(&http));
    let app_pay = app.call(APP_PAY, &page_biz("WEB3", "1.00", "")).await;
    assert_eq!(app_pay.sub_code(), "ILLEGAL_ARGUMENT");
    assert!(app_pay.sub_msg().contains("wallet"), "{}", app_pay.sub_msg());
}

#[tokio::test]
async fn an_unpaid_packet_closes_when_its_pay_timeout_passes() {
    // The scheduler is stepped: a tick that fires nothing at 59 s proves nothing was due.
    let app = spawn_app_stepped().await;
    let cashier = start_page_pay(&app, &page_biz("WEB3", "5.00", r#","pay_timeout":"1m""#)).await;
    app.clock.advance_ms(59_000);
    assert_eq!(app.fire_deadlines().await, vec![], "nothing is due before pay_timeout");
    assert_eq!(query_status(&app, "WEB3", "pay1").await.field("status"), "INIT");
    app.clock.advance_ms(1_000);
    let fired = app.fire_deadlines().await;
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(query_status(&app, "WEB3", "pay1").await.field("status"), "CLOSED");
    let path = cashier.split('?').next().expect("path").to_owned();
    let late = raw(
        app.addr,
        &post_request(
            &path,
            &cashier_form(PAYER_LOGON, "111111", "pay"),
            "application/x-www-form-urlencoded",
        ),
    )
    .await;
    assert!(text(&late).contains("订单已关闭"), "{}", text(&late));
    assert_eq!(app.balance(MERCHANT_B).await, MERCHANT_BALANCE);
    app.assert_invariants().await;
}

#[tokio::test]
async fn an_expired_packet_refunds_its_remainder_automatically() {
    // The scheduler is stepped: each tick says what fired, so "not yet expired" is a tick that
    // fired nothing, not a moment the background scheduler may not have reached.
    let app = spawn_app_stepped().await;
    let biz = format!(
        r#"{{"out_order_no":"EXP1","out_request_no":"pay1","order_title":"t","amount":"100.00","payer_user_id":"{MERCHANT_A}","extra_param":"{{\"orderExpiredTime\":\"10m\"}}"}}"#
    );
    let auth_no = app.call(PAY, &biz).await.field("auth_no").to_owned();
    let default_expiry = app.call(PAY, &pay_biz("EXP2", "10.00")).await.field("auth_no").to_owned();
    let disburse = format!(
        r#"{{"out_order_no":"EXP1-D","deduct_auth_no":"{auth_no}","out_request_no":"1","order_title":"t","amount":"30.00","payee_user_id":"{ALICE}"}}"#
    );
    assert_eq!(app.call(DISBURSE, &disburse).await.code(), "10000");
    app.clock.advance_ms(10 * 60_000 - 1);
    assert_eq!(app.fire_deadlines().await, vec![], "nothing expires before its time");
    app.clock.advance_ms(1);
    let fired = app.fire_deadlines().await;
    assert!(
        matches!(fired.as_slice(), [FiredDeadline::Expired { auth_no: fired_no, .. }] if *fired_no == auth_no),
        "{fired:?}"
    );
    let refund = app
        .call(QUERY, &format!(r#"{{"auth_no":"{auth_no}","out_request_no":"EXPIRE_REFUND"}}"#))
        .await;
    assert_eq!(refund.field("status"), "SUCCESS");
    assert_eq!(refund.field("operation_type"), "REFUND");
    assert_eq!(refund.field("amount"), "70.00");
    assert_eq!(refund.field("total_pay_refund_amount"), "70.00");
    assert_eq!(app.balance(MERCHANT_A).await, MERCHANT_BALANCE - 10000 - 1000 + 7000);
    // An expired packet pays nothing out: its state no longer allows it.
    let late = disburse.replace("EXP1-D", "EXP1-D2");
    assert_eq!(app.call(DISBURSE, &late).await.sub_code(), "ORDER_STATUS_INVALID");
    // The other packet expires on the default 48 h.
    let other = format!(r#"{{"auth_no":"{default_expiry}","out_request_no":"EXPIRE_REFUND"}}"#);
    assert_eq!(app.call(QUERY, &other).await.sub_code(), "AUTH_OPERATION_NOT_EXIST");
    app.clock.advance_ms(48 * 3_600_000);
    assert_eq!(app.fire_deadlines().await.len(), 1, "the default expiry fires");
    let refunded = app.call(QUERY, &other).await;
    assert_eq!((refunded.field("status"), refunded.field("amount")), ("SUCCESS", "10.00"));
    app.assert_invariants().await;
}

fn order_string(biz: &str, sign_type: SignType) -> String {
    let call = Call::new(APP_PAY, biz).sign_type(sign_type);
    String::from_utf8(call.body()).expect("ascii")
}

async fn wallet_pay(
    app: &TestApp,
    order_string: &str,
    action: &str,
    password: &str,
) -> serde_json::Value {
    let encoded: String =
        encode_component(order_string.as_bytes()).into_iter().map(char::from).collect();
    let page = raw(app.addr, &get(&format!("/wallet?order_string={encoded}"))).await;
    assert_eq!(page.status, 200, "{}", text(&page));
    let html = text(&page);
    let auth_no = html
        .split("name=\"auth_no\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("auth_no")
        .to_owned();
    assert!(!html.contains("name=\"sign_type\""), "the page carries no signing choice");
    // A payer who adds the fields anyway changes nothing: the result is signed as the call was.
    let form: Params = [
        ("auth_no", auth_no.as_str()),
        ("login", PAYER_LOGON),
        ("password", password),
        ("action", action),
        ("charset", "GBK"),
        ("sign_type", "RSA2"),
    ]
    .into_iter()
    .collect();
    let body = form.to_form(Charset::Utf8).expect("form");
    let mut request = post_request("/wallet/pay", &body, "application/x-www-form-urlencoded");
    let at = request.windows(4).position(|w| w == b"\r\n\r\n").expect("head");
    request.splice(at..at, b"\r\nAccept: application/json".iter().copied());
    let http = raw(app.addr, &request).await;
    serde_json::from_slice(&http.body)
        .unwrap_or_else(|_| serde_json::json!({ "html": text(&http) }))
}

#[tokio::test]
async fn app_pay_order_string_is_paid_in_the_wallet_with_a_signed_result() {
    let app = spawn_app().await;
    for (out_order_no, sign_type) in [("APP1", SignType::Rsa2), ("APP2", SignType::Rsa)] {
        let order = order_string(&page_biz(out_order_no, "6.66", ""), sign_type);
        let result = wallet_pay(&app, &order, "pay", "111111").await;
        assert_eq!(result["resultStatus"], "9000", "{result}");
        let signed = result["result"].as_str().expect("result string");
        let found =
            find_signed_node(signed, "alipay_fund_coupon_order_app_pay_response").expect("node");
        let public = gateway_key().public_key().expect("public");
        assert!(
            public.verify(sign_type, found.node.as_bytes(), &found.sign.clone().expect("sign")),
            "result verifies"
        );
        let node: serde_json::Value = serde_json::from_str(found.node).expect("json");
        assert_eq!(
            (node["code"].as_str(), node["status"].as_str(), node["amount"].as_str()),
            (Some("10000"), Some("SUCCESS"), Some("6.66"))
        );
        assert_eq!(query_status(&app, out_order_no, "pay1").await.field("status"), "SUCCESS");
    }
    let cancelled = wallet_pay(
        &app,
        &order_string(&page_biz("APP3", "1.00", ""), SignType::Rsa2),
        "cancel",
        "",
    )
    .await;
    assert_eq!(cancelled["resultStatus"], "6001");
    assert_eq!(query_status(&app, "APP3", "pay1").await.field("status"), "INIT");
    let wrong = wallet_pay(
        &app,
        &order_string(&page_biz("APP4", "1.00", ""), SignType::Rsa2),
        "pay",
        "bad",
    )
    .await;
    assert!(wrong["html"].as_str().unwrap_or("").contains("账号或密码错误"));
    // A tampered order string is refused before anything is created.
    let tampered =
        order_string(&page_biz("APP5", "1.00", ""), SignType::Rsa2).replace("1.00", "0.01");
    let encoded: String =
        encode_component(tampered.as_bytes()).into_iter().map(char::from).collect();
    let refused = raw(app.addr, &get(&format!("/wallet?order_string={encoded}"))).await;
    assert_eq!(refused.status, 400);
    assert!(text(&refused).contains("isv.invalid-signature"));
    // A page.pay order string is not the wallet's to pay.
    let page_pay = String::from_utf8(Call::new(PAGE_PAY, &page_biz("APP6", "1.00", "")).body())
        .expect("ascii");
    let encoded: String =
        encode_component(page_pay.as_bytes()).into_iter().map(char::from).collect();
    let refused = raw(app.addr, &get(&format!("/wallet?order_string={encoded}"))).await;
    assert_eq!(refused.status, 400);
    assert!(text(&refused).contains("40002 · isv.invalid-method"), "{}", text(&refused));
    assert_eq!(query_status(&app, "APP6", "pay1").await.sub_code(), "AUTH_ORDER_NOT_EXIST");
    assert_eq!(app.balance(MERCHANT_B).await, MERCHANT_BALANCE - 2 * 666);
    app.assert_invariants().await;
}

#[tokio::test]
async fn the_sandbox_clock_control_needs_its_token_and_moves_time() {
    let app = spawn_app().await;
    let advance = |token: &str, by: &str| {
        let body = format!("by={by}");
        format!(
            "POST /sandbox/clock/advance HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    };
    assert_eq!(raw(app.addr, &advance("wrong", "2h")).await.status, 401);
    assert_eq!(raw(app.addr, &advance(SANDBOX_TOKEN, "1.5h")).await.status, 400);
    let before = app.clock.now_ms_for_tests();
    let moved = raw(app.addr, &advance(SANDBOX_TOKEN, "2h")).await;
    assert_eq!(moved.status, 200, "{}", text(&moved));
    assert_eq!(app.clock.now_ms_for_tests() - before, 2 * 3_600_000);
    assert!(text(&moved).contains("\"now_ms\""));
}

/// Item 5: the return parameters are signed with the stored call's charset and sign_type.
/// The payer rewrites the form's fields to GBK and RSA (SHA1); the merchant called with
/// utf-8 and RSA2, and that is what it gets, verifiably.
#[tokio::test]
async fn the_cashier_signs_the_return_as_the_call_was_made_whatever_the_page_sends() {
    let app = spawn_app().await;
    let cashier = start_page_pay(&app, &page_biz("WEB9", "1.00", "")).await;
    let path = cashier.split('?').next().expect("path").to_owned();
    let tampered: Params = [
        ("login", PAYER_LOGON),
        ("password", "111111"),
        ("action", "pay"),
        ("lang", "zh"),
        ("charset", "GBK"),
        ("sign_type", "RSA"),
    ]
    .into_iter()
    .collect();
    let paid = raw(
        app.addr,
        &post_request(
            &path,
            &tampered.to_form(Charset::Utf8).expect("form"),
            "application/x-www-form-urlencoded",
        ),
    )
    .await;
    assert_eq!(paid.status, 303, "{}", text(&paid));
    let location = paid.header("location").expect("return redirect").to_owned();
    let query = location.strip_prefix(&format!("{RETURN_URL}?")).expect("back to return_url");
    let params: Params = parse_form(query.as_bytes())
        .expect("query")
        .into_iter()
        .map(|(k, v)| (String::from_utf8(k).expect("k"), String::from_utf8(v).expect("v")))
        .collect();
    assert_eq!(params.get("charset"), Some("utf-8"));
    assert_eq!(params.get("sign_type"), Some("RSA2"));
    let public = gateway_key().public_key().expect("public");
    let content = hongbao_protocol::sign_content::notify_sign_content(&params);
    assert!(
        public.verify(SignType::Rsa2, content.as_bytes(), params.get("sign").expect("sign")),
        "signed with RSA2 over the UTF-8 bytes"
    );
}

/// Item 5: wrong passwords are throttled per account: after five, even the right one is
/// refused with a message saying when to try again, and nothing is paid; once the window has
/// passed (the gateway's clock), the right password pays.
#[tokio::test]
async fn wrong_passwords_lock_the_account_for_a_while() {
    let app = spawn_app().await;
    let cashier = start_page_pay(&app, &page_biz("WEB10", "2.00", "")).await;
    let path = cashier.split('?').next().expect("path").to_owned();
    let post = |password: &str| {
        post_request(
            &path,
            &cashier_form(PAYER_LOGON, password, "pay"),
            "application/x-www-form-urlencoded",
        )
    };
    for _ in 0..hongbao_gateway::throttle::ACCOUNT_FAILURES_MAX {
        assert!(text(&raw(app.addr, &post("guess")).await).contains("账号或密码错误"));
    }
    let locked = text(&raw(app.addr, &post("111111")).await);
    assert!(locked.contains("密码错误次数过多") && locked.contains("15 分钟后再试"), "{locked}");
    assert_eq!(query_status(&app, "WEB10", "pay1").await.field("status"), "INIT");
    assert_eq!(app.balance(MERCHANT_B).await, MERCHANT_BALANCE);
    app.clock.advance_ms(hongbao_gateway::throttle::WINDOW_MS);
    let paid = raw(app.addr, &post("111111")).await;
    assert_eq!(paid.status, 303, "{}", text(&paid));
    assert_eq!(app.balance(MERCHANT_B).await, MERCHANT_BALANCE - 200);
}

/// Item 5: guessing across accounts is bounded per client. One wrong password for each of 20
/// accounts (none of them locked on its own) locks this client out: the payer's right
/// password is then refused with a message saying when to try again, and nothing is paid.
#[tokio::test]
async fn wrong_passwords_across_accounts_lock_the_client() {
    let app = spawn_app().await;
    let cashier = start_page_pay(&app, &page_biz("WEB12", "2.00", "")).await;
    let path = cashier.split('?').next().expect("path").to_owned();
    let post = |login: &str, password: &str| {
        post_request(
            &path,
            &cashier_form(login, password, "pay"),
            "application/x-www-form-urlencoded",
        )
    };
    for index in 0..hongbao_gateway::throttle::CLIENT_FAILURES_MAX {
        let guess = text(&raw(app.addr, &post(&format!("guess{index}@example.com"), "x")).await);
        assert!(guess.contains("账号或密码错误"), "guess {index}: {guess}");
    }
    let locked = text(&raw(app.addr, &post(PAYER_LOGON, "111111")).await);
    assert!(locked.contains("密码错误次数过多，请 15 分钟后再试"), "{locked}");
    assert!(!locked.contains("该账号"), "the client is locked, not the payer's account: {locked}");
    assert_eq!(query_status(&app, "WEB12", "pay1").await.field("status"), "INIT");
    assert_eq!(app.balance(MERCHANT_B).await, MERCHANT_BALANCE);
}

/// Item 6: a title with a bidi override and zero-width characters is shown without them.
#[tokio::test]
async fn invisible_characters_in_a_title_never_reach_the_payer() {
    let app = spawn_app().await;
    let biz = page_biz("WEB11", "1.00", "").replace("年会红包", "红包\u{202E}exe.txt\u{200B}");
    let cashier = start_page_pay(&app, &biz).await;
    let html = text(&raw(app.addr, &get(&cashier)).await);
    assert!(html.contains("红包exe.txt"), "the title is shown");
    assert!(
        !html.contains('\u{202E}') && !html.contains('\u{200B}'),
        "without invisible characters"
    );
}

/// The payer pages, as a newcomer meets them (issue 21 item 8): a wrong password keeps the login
/// typed (only the password is asked again); an error page's heading is the error colour, not
/// the grey of a disabled control; a link to an order that does not exist says "No such order"
/// (a 404) instead of hinting at the merchant's signature; the wallet's header names the wallet
/// and shows the pay-before time as the cashier does; the sandbox accounts are listed on the
/// login card when `[sandbox] list_users` is on (the demo), and not otherwise.
#[tokio::test]
async fn the_payer_pages_keep_the_login_name_missing_orders_and_list_the_sandbox_users() {
    let options = AppOptions { list_users: true, ..AppOptions::default() };
    let app = spawn_app_with_options(tempfile::tempdir().unwrap(), options).await;
    let cashier = start_page_pay(&app, &page_biz("WEB20", "2.00", "")).await;
    let path = cashier.split('?').next().expect("path").to_owned();
    let shown = text(&raw(app.addr, &get(&cashier)).await);
    assert!(shown.contains("id=\"users\""), "the demo lists its accounts: {shown}");
    assert!(shown.contains(PAYER_LOGON) && shown.contains(MERCHANT_B), "{shown}");
    assert!(!shown.contains("111111"), "never a password");
    assert!(shown.contains("请在此时间前完成支付"), "the cashier's deadline");

    let wrong = text(
        &raw(
            app.addr,
            &post_request(
                &path,
                &cashier_form(PAYER_LOGON, "guess", "pay"),
                "application/x-www-form-urlencoded",
            ),
        )
        .await,
    );
    assert!(wrong.contains("账号或密码错误"), "{wrong}");
    assert!(
        wrong.contains(&format!("name=\"login\" autocomplete=\"username\" placeholder=\"2088… / name@example.com\" value=\"{PAYER_LOGON}\"")),
        "the login stays filled in: {wrong}"
    );
    assert!(!wrong.contains("value=\"guess\""), "the password is not echoed");

    let missing = raw(app.addr, &get("/cashier/2026112000000000000000000000")).await;
    assert_eq!(missing.status, 404);
    let missing = text(&missing);
    assert!(missing.contains("没有这笔订单"), "{missing}");
    assert!(missing.contains("class=\"failed\""), "an error heading in the error colour");
    assert!(!missing.contains("签名"), "no signature hint for a missing order: {missing}");

    let broken = raw(app.addr, &get("/wallet?order_string=app_id%3D1")).await;
    let broken = text(&broken);
    assert!(broken.contains("无法完成支付请求") && broken.contains("class=\"failed\""), "{broken}");

    let encoded: String =
        encode_component(order_string(&page_biz("APP20", "1.00", ""), SignType::Rsa2).as_bytes())
            .into_iter()
            .map(char::from)
            .collect();
    let wallet = text(&raw(app.addr, &get(&format!("/wallet?order_string={encoded}"))).await);
    assert!(wallet.contains("钱包 · 沙箱"), "the header names the wallet: {wallet}");
    assert!(!wallet.contains("红包收银台"), "not the cashier: {wallet}");
    assert!(wallet.contains("id=\"deadline\""), "the pay-before time: {wallet}");
    assert!(wallet.contains("id=\"users\""));

    // Without list_users (a platform's gateway), no account is shown.
    let plain = spawn_app().await;
    let cashier = start_page_pay(&plain, &page_biz("WEB21", "2.00", "")).await;
    let shown = text(&raw(plain.addr, &get(&cashier)).await);
    assert!(!shown.contains("id=\"users\"") && !shown.contains(PAYER_LOGON), "{shown}");
}
