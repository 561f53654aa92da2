//! The sandbox console over HTTP on a real listener: who it answers (off without a token, the
//! bearer token for the API, the cookie for pages, loopback only unless public), forms that
//! refuse cross-site posts, and the JSON API a test suite drives: find a call in the request log,
//! create a user and pay to it, top one up, inject an error an SDK then receives signed, resend a
//! notification, advance the clock. Pages escape merchant-controlled text.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_gateway::console::csrf_token;
use hongbao_gateway::sandbox::PeerAddr;
use hongbao_test_support::*;
use serde_json::{json, Value};
use std::time::Duration;
use tower::ServiceExt;

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    text: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|err| panic!("{err}: {}", self.text))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    let http = raw(app.addr, request.as_bytes()).await;
    Reply {
        status: http.status,
        headers: http.headers,
        text: String::from_utf8_lossy(&http.body).into_owned(),
    }
}

const BEARER: &str = "Bearer test-console-token-0123";

async fn api(app: &TestApp, method: &str, path: &str, body: Option<Value>) -> Reply {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    send(
        app,
        method,
        path,
        &[("Authorization", BEARER), ("Content-Type", "application/json")],
        &body,
    )
    .await
}

fn cookie() -> String {
    format!("hongbao_console={CONSOLE_TOKEN}")
}

async fn form(app: &TestApp, path: &str, fields: &str, extra: &[(&str, &str)]) -> Reply {
    let cookie = cookie();
    let mut headers =
        vec![("Cookie", cookie.as_str()), ("Content-Type", "application/x-www-form-urlencoded")];
    headers.extend_from_slice(extra);
    send(app, "POST", path, &headers, fields).await
}

/// Polls the request log (written off the request's path) for rows naming `id`.
async fn logged(app: &TestApp, id: &str) -> Vec<Value> {
    for _ in 0..250 {
        let rows = api(app, "GET", &format!("/console/api/requests?id={id}"), None).await.json();
        let rows = rows["requests"].as_array().cloned().unwrap_or_default();
        if !rows.is_empty() {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no request-log row names {id}");
}

#[tokio::test]
async fn the_console_is_off_without_a_token_and_needs_its_credentials() {
    let off = spawn_app().await;
    assert_eq!(get(off.addr, "/console/").await.status, 404);
    assert_eq!(api(&off, "GET", "/console/api/clock", None).await.status, 404);

    let app = spawn_app_console().await;
    // The API: the bearer token only (a cookie is no credential there).
    assert_eq!(send(&app, "GET", "/console/api/clock", &[], "").await.status, 401);
    let wrong = send(
        &app,
        "GET",
        "/console/api/clock",
        &[("Authorization", "Bearer test-console-token-0124")],
        "",
    )
    .await;
    assert_eq!(wrong.status, 401);
    let cookie = cookie();
    assert_eq!(
        send(&app, "GET", "/console/api/clock", &[("Cookie", &cookie)], "").await.status,
        401
    );
    assert_eq!(api(&app, "GET", "/console/api/clock", None).await.status, 200);

    // Pages: without the cookie, or with a wrong token, the login page.
    let anonymous = get(app.addr, "/console/").await;
    assert_eq!(anonymous.status, 401);
    assert!(String::from_utf8_lossy(&anonymous.body).contains("name=\"token\""));
    assert_eq!(get(app.addr, "/console/?token=wrong-token-wrong-token").await.status, 401);
    // The right token: a cookie (HttpOnly, SameSite=Strict) and a redirect without the token.
    let login = get(app.addr, &format!("/console/?token={CONSOLE_TOKEN}&id=X1")).await;
    assert_eq!(login.status, 303);
    assert_eq!(login.header("location"), Some("/console/?id=X1"));
    let set_cookie: Vec<&str> = login
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.as_str())
        .collect();
    let session = set_cookie.iter().find(|c| c.starts_with("hongbao_console=")).expect("cookie");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Strict"), "{session}");
    let page = send(&app, "GET", "/console/", &[("Cookie", &cookie)], "").await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("cache-control"), Some("no-store"));

    // Not a loopback peer: refused, whatever the token.
    for peer in [None, Some("192.0.2.7:4000")] {
        let mut request = axum::http::Request::builder()
            .uri("/console/api/clock")
            .header("authorization", BEARER)
            .body(axum::body::Body::empty())
            .expect("request");
        if let Some(peer) = peer {
            request.extensions_mut().insert(PeerAddr(peer.parse().expect("addr")));
        }
        let answer = app.gateway.router().oneshot(request).await.expect("answer");
        assert_eq!(answer.status(), 403, "peer {peer:?}");
    }
}

#[tokio::test]
async fn cross_site_posts_change_nothing() {
    let app = spawn_app_console().await;
    let csrf = csrf_token(CONSOLE_TOKEN);
    let fields = "logon_id=eve%40example.com&balance=50.00";
    // A cross-site form post: SameSite=Strict keeps the cookie home, so it comes without one.
    let no_cookie = send(
        &app,
        "POST",
        "/console/users",
        &[("Content-Type", "application/x-www-form-urlencoded"), ("Origin", "http://evil.example")],
        &format!("{fields}&csrf={csrf}"),
    )
    .await;
    assert_eq!(no_cookie.status, 401);
    // With the cookie but without the form's CSRF field, or from another origin: refused.
    assert_eq!(form(&app, "/console/users", fields, &[]).await.status, 403);
    let with_csrf = format!("{fields}&csrf={csrf}");
    let other_origin =
        form(&app, "/console/users", &with_csrf, &[("Origin", "http://evil.example")]).await;
    assert_eq!(other_origin.status, 403);
    let cross_site =
        form(&app, "/console/users", &with_csrf, &[("Sec-Fetch-Site", "cross-site")]).await;
    assert_eq!(cross_site.status, 403);
    let users = api(&app, "GET", "/console/api/users", None).await.json();
    assert!(!users.to_string().contains("eve@example.com"), "nothing was created");

    // The console's own form works, and answers with a redirect back.
    let own = form(
        &app,
        "/console/users",
        &with_csrf,
        &[("Origin", "http://127.0.0.1"), ("Sec-Fetch-Site", "same-origin")],
    )
    .await;
    assert_eq!(own.status, 303, "{}", own.text);
    assert!(own.header("location").is_some_and(|l| l.starts_with("/console/users?flash=created")));
    let users = api(&app, "GET", "/console/api/users", None).await.json();
    assert!(users.to_string().contains("eve@example.com"));
    app.assert_invariants().await;
}

#[tokio::test]
async fn a_test_suite_drives_the_sandbox_through_the_api() {
    let app = spawn_app_console().await;
    // Create a user with an opening balance; the same logon id again is a conflict.
    let created = api(
        &app,
        "POST",
        "/console/api/users",
        Some(json!({"logon_id": "carol@example.com", "balance": "12.34", "real_name": "<b>Carol</b>"})),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let carol = created.json()["user_id"].as_str().expect("user_id").to_owned();
    assert!(carol.starts_with("2088") && carol.len() == 16);
    let again =
        api(&app, "POST", "/console/api/users", Some(json!({"logon_id": "carol@example.com"})))
            .await;
    assert_eq!(again.status, 409, "{}", again.text);
    assert!(again.json()["error"].as_str().is_some_and(|e| e.contains("UNIQUE_VIOLATION")));
    let bad =
        api(&app, "POST", "/console/api/users", Some(json!({"logon_id": "x@y", "balance": "-1"})))
            .await;
    assert_eq!(bad.status, 400);
    let topped = api(
        &app,
        "POST",
        &format!("/console/api/users/{carol}/top-up"),
        Some(json!({"amount": "0.66"})),
    )
    .await;
    assert_eq!(topped.json()["balance"], "13.00", "{}", topped.text);
    assert_eq!(app.balance(&carol).await, 1_300);
    let nobody = api(
        &app,
        "POST",
        "/console/api/users/2088999999999999/top-up",
        Some(json!({"amount": "1.00"})),
    )
    .await;
    assert_eq!(nobody.status, 404);

    // Pay to the new user; find the call in the request log by its out_order_no.
    let funded = app.call(PAY, &pay_biz("API-1", "10.00")).await;
    let auth_no = funded.field("auth_no").to_owned();
    let biz = format!(
        r#"{{"out_order_no":"API-1-D","deduct_auth_no":"{auth_no}","out_request_no":"1","order_title":"领取","amount":"1.00","payee_user_id":"{carol}"}}"#
    );
    let paid =
        app.send(&Call::new(DISBURSE, &biz).param("notify_url", "http://127.0.0.1:9/notify")).await;
    assert_eq!(paid.code(), "10000");
    assert_eq!(app.balance(&carol).await, 1_400);
    let rows = logged(&app, "API-1-D").await;
    assert_eq!(rows[0]["method"], DISBURSE);
    let detail = api(&app, "GET", &format!("/console/api/requests/{}", rows[0]["log_id"]), None)
        .await
        .json();
    assert_eq!(detail["biz_content"], biz);
    assert!(detail["answer"].as_str().is_some_and(|a| a.contains(paid.field("operation_id"))));
    let user = api(&app, "GET", &format!("/console/api/users/{carol}"), None).await.json();
    assert_eq!(user["user"]["balance"], "14.00");
    let memos: Vec<&str> = user["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|e| e["memo"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(memos, ["disburse", "top_up", "issuance"]);
    let order = api(&app, "GET", &format!("/console/api/orders/{auth_no}"), None).await.json();
    assert_eq!(order["order"]["remaining"], "9.00");
    assert_eq!(order["disbursements"][0]["out_order_no"], "API-1-D");
    assert!(order["operations"][0]["entry"]["postings"].as_array().is_some_and(|p| p.len() == 2));

    // Inject an error; the SDK-like client receives it signed (`call` verifies the signature).
    let rule = api(
        &app,
        "POST",
        "/console/api/rules/calls",
        Some(json!({"method": QUERY, "code": "20000", "sub_code": "isp.unknow-error", "count": 1})),
    )
    .await;
    assert_eq!(rule.status, 201, "{}", rule.text);
    let refused = api(
        &app,
        "POST",
        "/console/api/rules/calls",
        Some(json!({"method": QUERY, "code": "40004", "sub_code": "NOT_A_CODE"})),
    )
    .await;
    assert_eq!(refused.status, 400);
    let query =
        format!(r#"{{"auth_no":"{auth_no}","operation_id":"{}"}}"#, funded.field("operation_id"));
    let injected = app.call(QUERY, &query).await;
    assert_eq!((injected.code(), injected.sub_code()), ("20000", "isp.unknow-error"));
    let real = app.call(QUERY, &query).await;
    assert_eq!(real.code(), "10000", "used up: {}", real.sub_code());
    let rules = api(&app, "GET", "/console/api/rules", None).await.json();
    assert_eq!(rules["calls"].as_array().map(Vec::len), Some(0));

    // Resend a notification: it is queued again under the same notify_id.
    let notifications = api(&app, "GET", "/console/api/notifications", None).await.json();
    let notify_id = notifications["notifications"][0]["notify_id"].as_str().expect("id").to_owned();
    let resent =
        api(&app, "POST", &format!("/console/api/notifications/{notify_id}/resend"), None).await;
    assert_eq!(resent.status, 200, "{}", resent.text);
    assert_eq!(
        api(&app, "POST", "/console/api/notifications/nothing/resend", None).await.status,
        404
    );

    // A test notification: a refused destination is never sent to; a dead one is reported.
    let refused = api(
        &app,
        "POST",
        "/console/api/notifications/test",
        Some(json!({"url": "http://0.0.0.0/latest", "app_id": APP_A})),
    )
    .await;
    assert_eq!(refused.status, 400);
    assert!(refused.json()["error"].as_str().is_some_and(|e| e.contains("not sent")));
    let dead = api(
        &app,
        "POST",
        "/console/api/notifications/test",
        Some(json!({"url": "http://127.0.0.1:9/notify", "app_id": APP_A})),
    )
    .await;
    assert_eq!(dead.json()["delivered"], false, "{}", dead.text);

    // The clock moves.
    let before =
        api(&app, "GET", "/console/api/clock", None).await.json()["now_ms"].as_i64().expect("now");
    let moved =
        api(&app, "POST", "/console/api/clock/advance", Some(json!({"by": "2h"}))).await.json();
    assert_eq!(moved["now_ms"].as_i64(), Some(before + 2 * 3_600_000));
    assert_eq!(
        api(&app, "POST", "/console/api/clock/advance", Some(json!({"by": "2 weeks"})))
            .await
            .status,
        400
    );

    // Bounds: listings and bodies.
    assert_eq!(api(&app, "GET", "/console/api/requests?limit=501", None).await.status, 400);
    let huge = format!("{{\"logon_id\":\"{}\"}}", "a".repeat(70_000));
    let too_big =
        send(&app, "POST", "/console/api/users", &[("Authorization", BEARER)], &huge).await;
    assert_eq!(too_big.status, 413);

    // Apps: keys and snippets pointed at this gateway.
    let apps = api(&app, "GET", "/console/api/apps", None).await.json();
    let first = &apps["apps"][0];
    assert_eq!(first["app_id"], APP_A);
    assert!(first["snippets"]["node"].as_str().is_some_and(|s| s.contains("/gateway.do")));
    assert!(apps["apps"].as_array().expect("apps").iter().any(|a| a["mode"] == "certificate"));
    app.assert_invariants().await;

    // Pages show merchant-controlled text escaped.
    let cookie = cookie();
    let users = send(&app, "GET", "/console/users", &[("Cookie", &cookie)], "").await;
    assert!(users.text.contains("&lt;b&gt;Carol&lt;/b&gt;"), "escaped");
    assert!(!users.text.contains("<b>Carol</b>"));
    for path in [
        "/console/notifications",
        "/console/orders",
        "/console/apps",
        "/console/faults",
        "/console/clock",
        &format!("/console/orders/{auth_no}"),
        &format!("/console/users/{carol}"),
        &format!("/console/requests/{}", rows[0]["log_id"]),
    ] {
        let page = send(&app, "GET", path, &[("Cookie", &cookie)], "").await;
        assert_eq!(page.status, 200, "{path}: {}", page.text);
    }
}
