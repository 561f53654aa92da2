//! Browser tests: `alipay.fund.coupon.order.page.pay` as a payer sees it, in Debian's headless
//! Chromium driven through chromedriver (WebDriver, via fantoccini).
//!
//! Each test starts its own `hongbao serve` (fresh config, keys and SQLite file), a tiny merchant
//! site on 127.0.0.1 and a chromedriver on a free port, builds the page.pay form with the
//! official Python SDK (`page_execute`, POST: the auto-submitting `punchout_form`), serves it at
//! `/pay-….html` exactly as a merchant would (the SDK's HTML, `text/html; charset=utf-8`) and
//! lets Chromium do the rest:
//!
//! * pay: form → `/gateway.do` → 303 → cashier (title and amount shown; screenshots in Chinese
//!   and English to `target/browser/`) → login + password → Pay → the merchant's `return_url`
//!   with signed return parameters (checked with our verifier and with the official SDK's
//!   recipe), then a signed `operation.query` says SUCCESS, paid by the sandbox user;
//! * cancel: "已取消支付", the operation stays INIT;
//! * a wrong password: the cashier again with "账号或密码错误", still INIT;
//! * a tampered form (amount changed after signing): the readable error page with
//!   `isv.invalid-signature` (HTTP 400), and no order exists.
//!
//! * the sandbox console: log in with the token, find a call the official SDK just made by its
//!   out_order_no and open its detail, resend a notification and see the new attempt, inject an
//!   error and see the SDK receive it (verified), create a user and pay to it; screenshots of
//!   every console page to `target/browser/console-*.png`.
//!
//! Without `chromium` / `chromedriver` on PATH or the official Python SDK (`interop/setup.sh`),
//! the tests print `SKIP browser: <reason>` and pass; under `CI=true` they fail instead.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use hongbao_protocol::form::parse_form;
use hongbao_protocol::method::{PAGE_PAY, PAGE_PAY_RETURN};
use hongbao_protocol::sign_content::verify_notify;
use hongbao_protocol::{Charset, Params};
use hongbao_test_support::{
    app_a_key, gateway_key, repo_root, run_with_timeout, write_server_config, Answer, Call,
    ServerProcess, APP_A, MERCHANT_A, MERCHANT_B, QUERY,
};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

const PAYER_LOGON: &str = "merchant-b@example.com";
const PAYER_PASSWORD: &str = "111111";
/// How long any one page may take to appear.
const PAGE_WAIT: Duration = Duration::from_secs(15);
const RUNNER_TIMEOUT: Duration = Duration::from_secs(60);
const DRIVER_START_TIMEOUT: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------------------------------------
// Prerequisites and the skip rule
// ---------------------------------------------------------------------------------------------

fn interop_dir() -> PathBuf {
    match std::env::var_os("INTEROP_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => repo_root().join("target/interop"),
    }
}

/// The first executable `name` on PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| {
        std::fs::metadata(candidate)
            .map(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.is_file() && m.permissions().mode() & 0o111 != 0
            })
            .unwrap_or(false)
    })
}

struct Tools {
    chromium: PathBuf,
    chromedriver: PathBuf,
    python: PathBuf,
}

fn official_sdk_importable(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import alipay.aop.api.DefaultAlipayClient"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Finds the browser, its driver and the official Python SDK (running `interop/setup.sh` when
/// the SDK is not installed yet), once per test binary. The error is the reason to skip.
fn tools() -> &'static Result<Tools, String> {
    static TOOLS: OnceLock<Result<Tools, String>> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let chromium = on_path("chromium")
            .ok_or("no `chromium` on PATH (Debian: apt-get install chromium)")?;
        let chromedriver = on_path("chromedriver")
            .ok_or("no `chromedriver` on PATH (Debian: apt-get install chromium-driver)")?;
        let python = interop_dir().join("venv-official/bin/python");
        if !official_sdk_importable(&python) {
            let output = Command::new("bash")
                .arg("interop/setup.sh")
                .current_dir(repo_root())
                .env("INTEROP_DIR", interop_dir())
                .stdin(Stdio::null())
                .output()
                .map_err(|err| format!("cannot run bash interop/setup.sh: {err}"))?;
            if !official_sdk_importable(&python) {
                let stderr = String::from_utf8_lossy(&output.stderr);
                let tail: Vec<&str> = stderr.lines().rev().take(10).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                return Err(format!(
                    "the official Python SDK is not installed under {} (interop/setup.sh: {}):\n{}",
                    interop_dir().display(),
                    output.status,
                    tail.join("\n")
                ));
            }
        }
        Ok(Tools { chromium, chromedriver, python })
    })
}

/// The tools, or `None` after printing why the test skips; under `CI=true` a missing tool fails.
fn ready() -> Option<&'static Tools> {
    match tools() {
        Ok(tools) => Some(tools),
        Err(reason) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("browser tests cannot run under CI=true: {reason}")
        }
        Err(reason) => {
            eprintln!("SKIP browser: {reason}");
            None
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The merchant's site: serves the SDK-built form and is the return_url endpoint
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Default)]
struct SiteState {
    pages: Arc<Mutex<HashMap<String, String>>>,
    /// Query strings that arrived at `/return`, in order.
    returns: Arc<Mutex<Vec<String>>>,
}

struct Site {
    addr: SocketAddr,
    state: SiteState,
}

const RETURN_PAGE: &str = "<!DOCTYPE html><html lang=\"zh\"><head><meta charset=\"utf-8\"><title>商户</title></head><body><h1 id=\"merchant-return\">商户：支付结果已收到</h1></body></html>";

impl Site {
    fn start() -> Site {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the merchant site");
        let addr = listener.local_addr().expect("addr");
        let state = SiteState::default();
        let shared = state.clone();
        // One thread per connection; the accept loop ends with the test process.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = shared.clone();
                std::thread::spawn(move || serve_connection(stream, &state));
            }
        });
        Site { addr, state }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn put(&self, path: &str, html: String) {
        self.state.pages.lock().unwrap().insert(path.to_owned(), html);
    }

    fn returns(&self) -> Vec<String> {
        self.state.returns.lock().unwrap().clone()
    }
}

/// One request per connection (`Connection: close`); GET only, which is all a browser sends here.
fn serve_connection(mut stream: TcpStream, state: &SiteState) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let head = String::from_utf8_lossy(&head);
    let target = head.lines().next().and_then(|line| line.split(' ').nth(1)).unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let (status, body) = if path == "/return" {
        state.returns.lock().unwrap().push(query.to_owned());
        ("200 OK", RETURN_PAGE.to_owned())
    } else if let Some(page) = state.pages.lock().unwrap().get(path) {
        ("200 OK", page.clone())
    } else {
        ("404 Not Found", "not found".to_owned())
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
}

// ---------------------------------------------------------------------------------------------
// chromedriver + headless Chromium
// ---------------------------------------------------------------------------------------------

/// A chromedriver on a free port, in its own process group (Chromium runs inside it); the whole
/// group is killed on drop, so a failing test leaves no browser behind.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start(chromedriver: &Path, log: &Path) -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let log_file = std::fs::File::create(log).expect("driver log");
        let mut child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log"))
            .stderr(log_file)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {}: {err}", chromedriver.display()));
        let deadline = Instant::now() + DRIVER_START_TIMEOUT;
        loop {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            if let Some(status) = child.try_wait().expect("try_wait") {
                panic!(
                    "chromedriver exited ({status}): {}",
                    std::fs::read_to_string(log).unwrap_or_default()
                );
            }
            assert!(Instant::now() < deadline, "chromedriver did not listen on port {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver { child, url: format!("http://127.0.0.1:{port}") }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The process group chromedriver leads: the driver and any Chromium still running.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Profile preferences that open `about:blank` at startup. Debian's Chromium starts on the new
/// tab page of its default search engine (DuckDuckGo), which tries the network and can hold the
/// first WebDriver command for ~5 s in this closed network.
const BLANK_START_PREFERENCES: &str =
    r#"{"session":{"restore_on_startup":4,"startup_urls":["about:blank"]}}"#;

/// A new Chromium session: headless, fresh profile, no background traffic.
async fn open_browser(driver: &Driver, chromium: &Path, profile: &Path) -> Client {
    let mut caps = Capabilities::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless",
                "--no-sandbox",
                "--disable-background-networking",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=800,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    ClientBuilder::native()
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .unwrap_or_else(|err| panic!("cannot open a Chromium session: {err}"))
}

// ---------------------------------------------------------------------------------------------
// The fixture: server, merchant site, keys, SDK runner, browser
// ---------------------------------------------------------------------------------------------

struct Fixture {
    tools: &'static Tools,
    started: Instant,
    name: &'static str,
    client: Client,
    site: Site,
    server: ServerProcess,
    // Dropped last: kills the driver (and Chromium) before the profile and config go away.
    _driver: Driver,
    dir: tempfile::TempDir,
}

impl Fixture {
    async fn start(name: &'static str) -> Option<Fixture> {
        Fixture::start_with(name, "").await
    }

    /// `start`, with `extra` appended to the server's configuration.
    async fn start_with(name: &'static str, extra: &str) -> Option<Fixture> {
        let tools = ready()?;
        let started = Instant::now();
        let dir = tempfile::tempdir().expect("tempdir");
        let config = write_server_config(dir.path());
        let mut text = std::fs::read_to_string(&config).expect("config");
        text.push_str(extra);
        std::fs::write(&config, text).expect("config");
        std::fs::write(dir.path().join("app_private.pem"), app_a_key().to_pkcs1_pem().unwrap())
            .expect("write app key");
        std::fs::write(
            dir.path().join("gateway_public.pem"),
            gateway_key().public_key().unwrap().to_pem().unwrap(),
        )
        .expect("write gateway key");
        let server = ServerProcess::start(env!("CARGO_BIN_EXE_hongbao"), &config);
        let site = Site::start();
        let driver = Driver::start(&tools.chromedriver, &dir.path().join("chromedriver.log"));
        let profile = dir.path().join("chromium-profile");
        std::fs::create_dir_all(profile.join("Default")).expect("profile dir");
        std::fs::write(profile.join("Default/Preferences"), BLANK_START_PREFERENCES)
            .expect("write Preferences");
        let client = open_browser(&driver, &tools.chromium, &profile).await;
        let fixture = Fixture { tools, started, name, client, site, server, _driver: driver, dir };
        fixture.step("server, merchant site and Chromium up");
        Some(fixture)
    }

    fn step(&self, what: &str) {
        eprintln!("browser[{}] {:>6.2?} {what}", self.name, self.started.elapsed());
    }

    fn gateway_url(&self) -> String {
        format!("http://{}/gateway.do", self.server.addr)
    }

    fn return_url(&self) -> String {
        self.site.url("/return")
    }

    /// Runs official-Python-SDK runner ops (interop/README.md) with app A's key.
    fn run_sdk(&self, calls: Vec<Value>) -> Vec<Value> {
        let input = json!({
            "gateway": self.gateway_url(),
            "app_id": APP_A,
            "app_private_key_file": self.dir.path().join("app_private.pem"),
            "alipay_public_key_file": self.dir.path().join("gateway_public.pem"),
            "charset": "utf-8",
            "sign_type": "RSA2",
            "calls": calls,
        });
        let mut command = Command::new(&self.tools.python);
        command
            .arg(repo_root().join("interop/py_official.py"))
            .env("INTEROP_DIR", interop_dir())
            .env("PYTHONIOENCODING", "utf-8");
        let (status, stdout, stderr) =
            run_with_timeout(command, input.to_string().as_bytes(), RUNNER_TIMEOUT);
        let stderr = String::from_utf8_lossy(&stderr);
        assert_eq!(status, Some(0), "py_official runner failed; stderr:\n{stderr}");
        let output: Value = serde_json::from_slice(&stdout).unwrap_or_else(|err| {
            panic!("runner stdout is not JSON ({err}): {}", String::from_utf8_lossy(&stdout))
        });
        let results = output["results"].as_array().cloned().unwrap_or_default();
        assert_eq!(results.len(), calls.len(), "results do not answer calls: {output}");
        results
    }

    /// The official SDK's `page_execute` (POST) form for a page.pay of `amount`.
    fn sdk_form(&self, out_order_no: &str, title: &str, amount: &str) -> String {
        let results = self.run_sdk(vec![json!({
            "op": "page_execute",
            "method": PAGE_PAY,
            "http_method": "POST",
            "return_url": self.return_url(),
            "biz_content": {
                "out_order_no": out_order_no,
                "out_request_no": "pay1",
                "order_title": title,
                "amount": amount,
            },
        })]);
        assert_eq!(results[0]["ok"], true, "page_execute: {}", results[0]);
        let form = results[0]["page"].as_str().expect("page").to_owned();
        assert!(
            form.contains("<form") && form.contains(&self.gateway_url()),
            "the SDK's form posts to our gateway: {form}"
        );
        form
    }

    /// Serves `form` on the merchant site and opens it; returns once the page after the
    /// auto-submit shows `wait_for`.
    async fn submit_form(&self, out_order_no: &str, form: String, wait_for: &str) {
        let path = format!("/pay-{out_order_no}.html");
        self.site.put(&path, form);
        self.client.goto(&self.site.url(&path)).await.expect("open the merchant page");
        self.step("merchant page opened (goto returned)");
        self.wait_for(wait_for).await;
    }

    /// Opens the SDK-built form for a new order and follows it to the cashier; returns the
    /// cashier URL.
    async fn open_cashier(&self, out_order_no: &str, title: &str, amount: &str) -> String {
        let form = self.sdk_form(out_order_no, title, amount);
        self.step("SDK built the page.pay form");
        self.submit_form(out_order_no, form, "#amount").await;
        let url = self.client.current_url().await.expect("url");
        assert_eq!(url.host_str(), Some("127.0.0.1"));
        assert_eq!(url.port(), Some(self.server.addr.port()), "on the gateway: {url}");
        assert!(url.path().starts_with("/cashier/"), "the form lands on the cashier: {url}");
        let query = url.query().unwrap_or("");
        assert!(
            !query.contains("charset") && !query.contains("sign_type"),
            "the return is signed as the stored call says, so the page carries neither: {url}"
        );
        assert_eq!(self.text("#order-title").await, title);
        let shown = self.text("#amount").await;
        assert_eq!(shown.replace(char::is_whitespace, ""), format!("¥{amount}"), "#amount");
        self.step("cashier shown");
        url.to_string()
    }

    async fn wait_for(&self, css: &str) -> fantoccini::elements::Element {
        match self.client.wait().at_most(PAGE_WAIT).for_element(Locator::Css(css)).await {
            Ok(element) => element,
            Err(err) => {
                let url =
                    self.client.current_url().await.map(|u| u.to_string()).unwrap_or_default();
                let source = self.client.source().await.unwrap_or_default();
                panic!("no {css} within {PAGE_WAIT:?} ({err}); at {url}:\n{source}")
            }
        }
    }

    async fn text(&self, css: &str) -> String {
        let element = self.client.find(Locator::Css(css)).await.unwrap_or_else(|err| {
            panic!("no {css} on the page: {err}");
        });
        element.text().await.expect("text")
    }

    async fn fill(&self, css: &str, value: &str) {
        let element = self.client.find(Locator::Css(css)).await.expect("input");
        element.clear().await.expect("clear");
        element.send_keys(value).await.expect("type");
    }

    async fn click(&self, css: &str) {
        self.client.find(Locator::Css(css)).await.expect("button").click().await.expect("click");
    }

    /// The HTTP status of the current page's main document (Navigation Timing Level 2).
    async fn document_status(&self) -> Option<u64> {
        let script = "const n = performance.getEntriesByType('navigation')[0]; return n ? n.responseStatus : null;";
        self.client.execute(script, vec![]).await.expect("script").as_u64()
    }

    async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG screenshot");
        let dir = repo_root().join("target/browser");
        std::fs::create_dir_all(&dir).expect("target/browser");
        let path = dir.join(name);
        std::fs::write(&path, &png).expect("write screenshot");
        self.step(&format!("screenshot {} ({} bytes)", path.display(), png.len()));
        path
    }

    /// A signed `operation.query` for the order's PAY operation, verified.
    async fn query(&self, out_order_no: &str) -> Answer {
        let biz = format!(r#"{{"out_order_no":"{out_order_no}","out_request_no":"pay1"}}"#);
        self.server.send(&Call::new(QUERY, &biz)).await
    }

    async fn finish(self) {
        self.step("done");
        let _ = self.client.clone().close().await;
    }
}

fn query_params(query: &str) -> Params {
    parse_form(query.as_bytes())
        .expect("a form-encoded query")
        .into_iter()
        .map(|(k, v)| {
            (String::from_utf8(k).expect("utf-8 key"), String::from_utf8(v).expect("utf-8"))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
#[cfg_attr(
    hongbao_no_browser,
    ignore = "SKIPPED: needs chromium, chromedriver and python3 (apt-get install chromium chromium-driver)"
)]
async fn sdk_form_cashier_login_pay_and_signed_return_in_chromium() {
    let Some(fx) = Fixture::start("pay").await else { return };
    let title = "年会红包（浏览器）";
    let cashier = fx.open_cashier("BROWSER-PAY", title, "88.88").await;
    let auth_no = cashier
        .split("/cashier/")
        .nth(1)
        .and_then(|rest| rest.split('?').next())
        .expect("auth_no in the cashier URL")
        .to_owned();
    assert_eq!(fx.query("BROWSER-PAY").await.field("status"), "INIT", "INIT until paid");
    assert_eq!(fx.text("#pay").await, "确认付款");
    assert_eq!(fx.text("#cancel").await, "取消");
    fx.screenshot("cashier.png").await;

    // The English cashier.
    fx.client.goto(&format!("{cashier}?lang=en")).await.expect("English cashier");
    fx.wait_for("#amount").await;
    assert_eq!(fx.text("#pay").await, "Pay");
    assert_eq!(fx.text("#cancel").await, "Cancel");
    assert_eq!(fx.text("#order-title").await, title);
    fx.screenshot("cashier-en.png").await;

    // Back to the Chinese page, log in and pay.
    fx.client.goto(&cashier).await.expect("cashier");
    fx.wait_for("#login").await;
    fx.fill("#login", PAYER_LOGON).await;
    fx.fill("#password", PAYER_PASSWORD).await;
    fx.click("#pay").await;
    fx.wait_for("#merchant-return").await;
    fx.step("back on the merchant's return_url");

    let url = fx.client.current_url().await.expect("url");
    assert!(
        url.as_str().starts_with(&format!("{}?", fx.return_url())),
        "the browser is back on return_url: {url}"
    );
    let returns = fx.site.returns();
    assert_eq!(returns.len(), 1, "one return: {returns:?}");
    let params = query_params(&returns[0]);
    let public = gateway_key().public_key().expect("public");
    assert!(
        verify_notify(&params, Charset::Utf8, &public),
        "return parameters verify with the gateway key: {params:?}"
    );
    for (key, expected) in [
        ("method", PAGE_PAY_RETURN),
        ("app_id", APP_A),
        ("auth_app_id", APP_A),
        ("charset", "utf-8"),
        ("sign_type", "RSA2"),
        ("version", "1.0"),
        ("out_order_no", "BROWSER-PAY"),
        ("out_request_no", "pay1"),
        ("auth_no", auth_no.as_str()),
        ("amount", "88.88"),
        ("status", "SUCCESS"),
    ] {
        assert_eq!(params.get(key), Some(expected), "return parameter {key}: {params:?}");
    }
    for key in ["operation_id", "timestamp", "gmt_trans", "sign"] {
        assert!(params.get_nonblank(key).is_some(), "return parameter {key}: {params:?}");
    }
    // The official SDK's recipe (rsaCheckV1) accepts them too, and a changed amount fails it.
    let as_json = |params: &Params| -> Value {
        params
            .iter()
            .map(|(k, v)| (k.to_owned(), json!(v)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let mut forged = params.clone();
    forged.insert("amount", "0.01");
    let verified = fx.run_sdk(vec![
        json!({"op": "verify_notify", "params": as_json(&params)}),
        json!({"op": "verify_notify", "params": as_json(&forged)}),
    ]);
    assert_eq!(verified[0]["verified"], true, "official SDK verifies the return: {}", verified[0]);
    assert_eq!(verified[1]["verified"], false, "and refuses a forged one: {}", verified[1]);

    let found = fx.query("BROWSER-PAY").await;
    assert_eq!(found.code(), "10000", "{}", found.node);
    assert_eq!(found.field("status"), "SUCCESS");
    assert_eq!(found.field("payer_user_id"), MERCHANT_B);
    assert_eq!(found.field("auth_no"), auth_no);
    assert_eq!(found.field("operation_id"), params.get("operation_id").unwrap());
    assert_eq!(found.field("amount"), "88.88");
    fx.step("operation.query says SUCCESS");

    // Coming back to the cashier shows the order paid, with a link back to the merchant.
    fx.client.goto(&cashier).await.expect("cashier again");
    let status = fx.wait_for("#status").await;
    assert_eq!(status.text().await.expect("text"), "已支付");
    let back = fx.client.find(Locator::Css("#back")).await.expect("#back link");
    assert_eq!(back.attr("href").await.expect("href").as_deref(), Some(fx.return_url().as_str()));
    assert!(fx.client.find(Locator::Css("#pay")).await.is_err(), "no Pay button once paid");
    fx.screenshot("cashier-paid.png").await;
    assert_eq!(fx.site.returns().len(), 1, "nothing paid twice");
    fx.finish().await;
}

#[tokio::test]
#[cfg_attr(
    hongbao_no_browser,
    ignore = "SKIPPED: needs chromium, chromedriver and python3 (apt-get install chromium chromium-driver)"
)]
async fn cancel_in_chromium_leaves_the_packet_unpaid() {
    let Some(fx) = Fixture::start("cancel").await else { return };
    fx.open_cashier("BROWSER-CANCEL", "取消测试红包", "1.00").await;
    fx.fill("#login", PAYER_LOGON).await;
    fx.click("#cancel").await;
    let status = fx.wait_for("#status").await;
    assert_eq!(status.text().await.expect("text"), "已取消支付");
    let back = fx.client.find(Locator::Css("#back")).await.expect("#back link");
    assert_eq!(back.attr("href").await.expect("href").as_deref(), Some(fx.return_url().as_str()));
    fx.screenshot("cancelled.png").await;
    let found = fx.query("BROWSER-CANCEL").await;
    assert_eq!(found.code(), "10000", "{}", found.node);
    assert_eq!(found.field("status"), "INIT");
    assert!(fx.site.returns().is_empty(), "no return after a cancel");
    fx.finish().await;
}

#[tokio::test]
#[cfg_attr(
    hongbao_no_browser,
    ignore = "SKIPPED: needs chromium, chromedriver and python3 (apt-get install chromium chromium-driver)"
)]
async fn a_wrong_password_in_chromium_shows_the_error_and_pays_nothing() {
    let Some(fx) = Fixture::start("wrong-password").await else { return };
    fx.open_cashier("BROWSER-WRONG", "密码测试红包", "2.50").await;
    fx.fill("#login", PAYER_LOGON).await;
    fx.fill("#password", "000000").await;
    fx.click("#pay").await;
    let error = fx.wait_for("#error").await;
    assert_eq!(error.text().await.expect("text"), "账号或密码错误");
    // Still the same order's cashier, ready for another try.
    assert_eq!(fx.text("#order-title").await, "密码测试红包");
    assert!(fx.client.find(Locator::Css("#pay")).await.is_ok(), "Pay is offered again");
    fx.screenshot("wrong-password.png").await;
    let found = fx.query("BROWSER-WRONG").await;
    assert_eq!(found.code(), "10000", "{}", found.node);
    assert_eq!(found.field("status"), "INIT");
    assert!(found.field("payer_user_id").is_empty(), "no payer yet: {}", found.node);
    assert!(fx.site.returns().is_empty(), "no return after a wrong password");
    fx.finish().await;
}

#[tokio::test]
#[cfg_attr(
    hongbao_no_browser,
    ignore = "SKIPPED: needs chromium, chromedriver and python3 (apt-get install chromium chromium-driver)"
)]
async fn a_tampered_form_in_chromium_shows_the_invalid_signature_page() {
    let Some(fx) = Fixture::start("tampered").await else { return };
    let form = fx.sdk_form("BROWSER-TAMPER", "篡改测试红包", "100.00");
    fx.step("SDK built the page.pay form");
    let signed_amount = "&quot;amount&quot;:&quot;100.00&quot;";
    assert!(form.contains(signed_amount), "the signed amount is in the form: {form}");
    let tampered = form.replace(signed_amount, "&quot;amount&quot;:&quot;0.01&quot;");
    fx.submit_form("BROWSER-TAMPER", tampered, "pre#error").await;
    let url = fx.client.current_url().await.expect("url");
    assert_eq!(url.port(), Some(fx.server.addr.port()));
    assert_eq!(url.path(), "/gateway.do", "the error answers the form post: {url}");
    if let Some(status) = fx.document_status().await {
        assert_eq!(status, 400, "the error page is HTTP 400");
    }
    let source = fx.client.source().await.expect("source");
    assert!(source.contains("isv.invalid-signature"), "{source}");
    assert!(source.contains("无法完成支付请求"), "{source}");
    assert!(fx.client.find(Locator::Css("#pay")).await.is_err(), "no cashier for a bad form");
    fx.screenshot("tampered.png").await;
    let found = fx.query("BROWSER-TAMPER").await;
    assert_eq!(found.sub_code(), "AUTH_ORDER_NOT_EXIST", "{}", found.node);
    fx.finish().await;
}

const CONSOLE_TOKEN: &str = "browser-console-token-0123456789";

/// Reloads `url` until `css` shows (the request log and notify attempts are written off the
/// request's path, a moment later).
async fn reload_until(fx: &Fixture, url: &str, css: &str) {
    let deadline = Instant::now() + PAGE_WAIT;
    loop {
        fx.client.goto(url).await.expect("open");
        if fx.client.find(Locator::Css(css)).await.is_ok() {
            return;
        }
        assert!(Instant::now() < deadline, "no {css} at {url} within {PAGE_WAIT:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
#[cfg_attr(
    hongbao_no_browser,
    ignore = "SKIPPED: needs chromium, chromedriver and python3 (apt-get install chromium chromium-driver)"
)]
async fn the_sandbox_console_in_chromium() {
    let extra = format!("[sandbox]\nconsole_token = \"{CONSOLE_TOKEN}\"\n");
    let Some(fx) = Fixture::start_with("console", &extra).await else { return };
    let base = format!("http://{}", fx.server.addr);

    // Not logged in: the login page; a wrong token: still the login page.
    fx.client.goto(&format!("{base}/console/")).await.expect("console");
    fx.wait_for("#token").await;
    fx.screenshot("console-login.png").await;
    fx.fill("#token", "not-the-token-not-the-token").await;
    fx.click("#login").await;
    fx.wait_for("#flash").await;
    assert_eq!(fx.document_status().await, Some(401));

    // The login URL: the cookie is set and the token leaves the address bar.
    fx.client.goto(&format!("{base}/console/?token={CONSOLE_TOKEN}")).await.expect("login");
    fx.wait_for("#requests").await;
    let url = fx.client.current_url().await.expect("url");
    assert!(!url.as_str().contains("token"), "no token in later URLs: {url}");

    // A call just made by the official SDK, found by its out_order_no, and its detail.
    let notify_url = fx.site.url("/notify");
    let results = fx.run_sdk(vec![json!({
        "op": "execute",
        "method": hongbao_protocol::method::AGREEMENT_PAY,
        "biz_content": {"out_order_no": "CONSOLE-1", "out_request_no": "pay1",
            "order_title": "<i>控制台</i>红包", "amount": "10.00", "payer_user_id": MERCHANT_A},
    })]);
    assert_eq!(results[0]["response"]["code"], "10000", "{}", results[0]);
    let auth_no = results[0]["response"]["auth_no"].as_str().expect("auth_no").to_owned();
    reload_until(&fx, &format!("{base}/console/?id=CONSOLE-1"), "#requests td a").await;
    fx.screenshot("console-requests.png").await;
    fx.click("#requests td a").await;
    fx.wait_for("#biz-content").await;
    assert!(fx.text("#biz-content").await.contains("CONSOLE-1"));
    assert!(fx.text("#answer").await.contains(&auth_no));
    assert_eq!(fx.text("#code").await.trim(), "10000");
    fx.screenshot("console-request.png").await;

    // Create a user with an opening balance, then pay to it with the SDK.
    fx.client.goto(&format!("{base}/console/users")).await.expect("users");
    fx.fill("#new-logon", "dave@example.com").await;
    fx.fill("#new-balance", "5.00").await;
    fx.click("#create-user").await;
    fx.wait_for("#flash").await;
    let flash = fx.text("#flash").await;
    let dave = flash
        .split_whitespace()
        .find(|word| word.starts_with("2088"))
        .unwrap_or_else(|| panic!("a new user id in {flash:?}"))
        .to_owned();
    fx.screenshot("console-users.png").await;
    let results = fx.run_sdk(vec![json!({
        "op": "execute",
        "method": hongbao_protocol::method::DISBURSE,
        "notify_url": notify_url,
        "biz_content": {"out_order_no": "CONSOLE-1-D", "deduct_auth_no": auth_no,
            "out_request_no": "1", "order_title": "领取", "amount": "1.00", "payee_user_id": dave},
    })]);
    assert_eq!(results[0]["response"]["code"], "10000", "{}", results[0]);
    fx.client.goto(&format!("{base}/console/users/{dave}")).await.expect("user");
    assert_eq!(fx.text("#balance").await, "6.00");
    fx.screenshot("console-user.png").await;
    fx.client.goto(&format!("{base}/console/orders/{auth_no}")).await.expect("order");
    fx.wait_for("#order").await;
    assert!(fx.text("#order").await.contains("CONSOLE-1-D"));
    assert!(
        fx.client.source().await.expect("source").contains("&lt;i&gt;控制台&lt;/i&gt;"),
        "escaped"
    );
    fx.screenshot("console-order.png").await;
    fx.client.goto(&format!("{base}/console/orders")).await.expect("orders");
    fx.screenshot("console-orders.png").await;

    // The notification's first attempt (the site answers 404), then Resend: a new attempt.
    let notifications = format!("{base}/console/notifications");
    reload_until(&fx, &notifications, "tr.notification tr.attempt").await;
    let attempts = |source: String| source.matches("class=\"attempt\"").count();
    let before = attempts(fx.client.source().await.expect("source"));
    fx.click("button.resend").await;
    fx.wait_for("#flash").await;
    let deadline = Instant::now() + PAGE_WAIT;
    loop {
        fx.client.goto(&notifications).await.expect("notifications");
        if attempts(fx.client.source().await.expect("source")) > before {
            break;
        }
        assert!(Instant::now() < deadline, "no new attempt after Resend");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    fx.screenshot("console-notifications.png").await;

    // Inject an error; the SDK receives it and verifies its signature.
    fx.client.goto(&format!("{base}/console/faults")).await.expect("faults");
    fx.client
        .find(Locator::Css("#rule-method"))
        .await
        .expect("select")
        .select_by_value(QUERY)
        .await
        .expect("method");
    fx.fill("#rule-code", "20000").await;
    fx.fill("#rule-sub-code", "isp.unknow-error").await;
    fx.click("#add-rule").await;
    fx.wait_for("#call-rules td").await;
    fx.screenshot("console-faults.png").await;
    let results = fx.run_sdk(vec![json!({
        "op": "execute",
        "method": QUERY,
        "biz_content": {"out_order_no": "CONSOLE-1", "out_request_no": "pay1"},
    })]);
    assert_eq!(results[0]["ok"], true, "the SDK verified the injected answer: {}", results[0]);
    assert_eq!(results[0]["response"]["code"], "20000");
    assert_eq!(results[0]["response"]["sub_code"], "isp.unknow-error");
    reload_until(&fx, &format!("{base}/console/?code=20000"), "#requests td a").await;
    fx.click("#requests td a").await;
    fx.wait_for("#injected").await;

    // The other pages, in both languages.
    for (path, name) in [("/console/apps", "apps"), ("/console/clock", "clock")] {
        fx.client.goto(&format!("{base}{path}")).await.expect("page");
        fx.screenshot(&format!("console-{name}.png")).await;
    }
    fx.client.goto(&format!("{base}/console/?lang=en")).await.expect("english");
    assert_eq!(fx.text("#nav-").await, "Requests");
    fx.screenshot("console-requests-en.png").await;
    fx.finish().await;
}
