//! `/`: a page that explains the server to a browser pointed at it: the gateway URL an SDK
//! needs, where the payer pages are, the health probes, and where the documentation lives.

use crate::html::{page, visible, Lang};
use crate::Gateway;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use http::header::HOST;
use http::{HeaderMap, StatusCode};
use maud::{html, Markup};
use std::collections::HashMap;
use std::sync::Arc;

/// `/` on the gateway's listener.
pub fn router(gateway: Arc<Gateway>) -> axum::Router {
    axum::Router::new().route("/", get(landing)).with_state(gateway)
}

async fn landing(
    State(gateway): State<Arc<Gateway>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let lang = Lang::parse(query.get("lang").map(String::as_str));
    // The Host the browser used, so the URLs shown work from where it stands.
    let host = headers.get(HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1:9999");
    let mut apps: Vec<AppLine<'_>> = gateway
        .apps
        .values()
        .map(|app| AppLine {
            app_id: &app.app_id,
            name: &app.name,
            certificate: app.certificate().is_some(),
        })
        .collect();
    apps.sort_by(|a, b| a.app_id.cmp(b.app_id));
    page(lang, "hongbao", landing_body(lang, host, &apps), StatusCode::OK)
}

/// One configured app as the landing page lists it.
pub(crate) struct AppLine<'a> {
    pub(crate) app_id: &'a str,
    pub(crate) name: &'a str,
    pub(crate) certificate: bool,
}

pub(crate) fn landing_body(lang: Lang, host: &str, apps: &[AppLine<'_>]) -> Markup {
    html! {
        div.card {
            div.title { (lang.t("hongbao：支付宝现金红包沙箱", "hongbao: an Alipay cash red packet sandbox")) }
            p {
                (lang.t(
                    "把官方 SDK 的网关地址指向这里，其余代码不变：签名、账本、异步通知都与支付宝一致。",
                    "Point an official Alipay SDK's gateway URL here and keep the rest of your code: signatures, the ledger and notifications behave as Alipay's.",
                ))
            }
            p { (lang.t("网关地址", "Gateway URL")) ": " code id="gateway-url" { "http://" (host) "/gateway.do" } }
            ul {
                @for app in apps {
                    li {
                        code { (app.app_id) } " " (visible(app.name)) " · "
                        (if app.certificate { lang.t("证书模式", "certificate mode") } else { lang.t("公钥模式", "public-key mode") })
                    }
                }
            }
        }
        div.card {
            div.title { (lang.t("页面", "Pages")) }
            ul {
                li {
                    (lang.t(
                        "收银台：在浏览器中打开 pageExecute 生成的表单或 URL（page.pay），会跳转到 /cashier/…",
                        "The cashier: open what pageExecute built (page.pay) in a browser; it lands on /cashier/…",
                    ))
                }
                li {
                    a href="/wallet" { "/wallet" } " — "
                    (lang.t(
                        "钱包（支付宝 App 的替身）：打开 sdkExecute 生成的订单串（app.pay、fund.trans.app.pay）",
                        "the wallet (a stand-in for the Alipay app): open an sdkExecute order string (app.pay, fund.trans.app.pay)",
                    ))
                }
                li {
                    a href="/healthz" { "/healthz" } ", " a href="/readyz" { "/readyz" } " — "
                    (lang.t("健康检查", "health probes"))
                }
            }
            p.hint {
                (lang.t(
                    "文档：仓库中的 README.md、docs/errors.md、docs/notifications.md、docs/std-red-packet.md、docs/operations.md。",
                    "Documentation: README.md, docs/errors.md, docs/notifications.md, docs/std-red-packet.md and docs/operations.md in the repository.",
                ))
            }
        }
    }
}
