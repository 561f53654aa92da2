//! The sandbox console: `/console/` (server-rendered pages, `pages`) and `/console/api/…` (the
//! same as JSON for test suites, `api`), on the gateway's listener. It shows every call
//! (the request log, `reqlog`), every notification with every attempt, every fen (orders of
//! both products with their operations and journal entries, users and their history), the
//! apps, the fault rules (`inject`) and the sandbox clock, and lets the merchant act on them:
//! resend a notification, send a test one, create a user, top one up, add or remove a fault
//! rule, move the clock.
//!
//! Access (`access`): off without `[sandbox] console_token` (404); loopback clients only unless
//! `console_public`; pages need the token's cookie (`/console/?token=…` sets it: HttpOnly,
//! SameSite=Strict, path /console, so the token never travels in a later URL) and every
//! state-changing form also carries a CSRF token derived from the console token and, when the
//! browser sends them, a same-origin `Origin` and `Sec-Fetch-Site`; the API needs
//! `Authorization: Bearer <token>` (browsers never add it cross-site) and no cookie works there.
//!
//! Money changes go through the store's ledger decisions (`Store::create_user`,
//! `Store::top_up`); the console adds no money rule of its own.

mod actions;
mod api;
mod json;
mod pages;

use crate::sandbox::PeerAddr;
use crate::Gateway;
use axum::response::{IntoResponse, Response};
use http::{header, HeaderMap, HeaderValue, StatusCode};
use std::sync::Arc;

pub use actions::ConsoleError;

/// The console's cookie.
pub const COOKIE: &str = "hongbao_console";
/// The cookie remembering the console's language.
pub const LANG_COOKIE: &str = "hongbao_console_lang";
/// Shortest console token accepted (configuration refuses shorter ones too).
pub const TOKEN_CHARS_MIN: usize = 16;
/// Rows a listing shows by default, and at most.
pub const PAGE_ROWS: u32 = 50;
/// Most rows one listing may ask for.
pub const PAGE_ROWS_MAX: u32 = 500;

/// `/console/…` and `/console/api/…`.
pub fn router(gateway: Arc<Gateway>) -> axum::Router {
    pages::router(Arc::clone(&gateway)).merge(api::router(gateway))
}

/// `http://<Host>` of a request, for the URLs the console shows (SDK snippets, the gateway).
pub(crate) fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| h.len() <= 255 && h.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}

/// Whether the console answers this peer: loopback always, others only when public. No peer
/// (a test router without the connection's address) counts as not loopback.
pub fn peer_allowed(peer: Option<PeerAddr>, public: bool) -> bool {
    public || peer.is_some_and(|PeerAddr(addr)| addr.ip().is_loopback())
}

/// Equal, in time that does not depend on where they differ.
pub(crate) fn same_secret(presented: &str, token: &str) -> bool {
    presented.len() == token.len()
        && presented.bytes().zip(token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// The CSRF token of a console token: HMAC-SHA256(token, "hongbao-console-csrf"), hex. Forms
/// carry it; a cross-site page cannot read it, and it changes with the console token.
pub fn csrf_token(token: &str) -> String {
    use openssl::hash::MessageDigest;
    use openssl::pkey::PKey;
    use openssl::sign::Signer;
    let mac = PKey::hmac(token.as_bytes()).and_then(|key| {
        let mut signer = Signer::new(MessageDigest::sha256(), &key)?;
        signer.update(b"hongbao-console-csrf")?;
        signer.sign_to_vec()
    });
    match mac {
        Ok(bytes) => bytes.iter().map(|b| format!("{b:02x}")).collect(),
        // No MAC: a token no form can match (the console then refuses every form).
        Err(_) => String::from("unavailable"),
    }
}

/// The value of cookie `name`.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A request's standing with the console.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Standing {
    /// The console is off.
    Off,
    /// The peer may not use it.
    Forbidden,
    /// No valid credentials.
    Anonymous,
    /// Logged in.
    Allowed,
}

/// Where a request stands: console on, peer allowed, then the credential (the cookie for
/// pages, the bearer token for the API).
pub(crate) fn standing(
    gateway: &Gateway,
    peer: Option<PeerAddr>,
    headers: &HeaderMap,
    api: bool,
) -> Standing {
    let Some(token) = gateway.sandbox.console_token.as_deref() else { return Standing::Off };
    if !peer_allowed(peer, gateway.sandbox.console_public) {
        return Standing::Forbidden;
    }
    let presented = if api {
        headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
    } else {
        cookie(headers, COOKIE)
    };
    match presented {
        Some(presented) if same_secret(presented, token) => Standing::Allowed,
        _ => Standing::Anonymous,
    }
}

/// Whether a state-changing form came from the console's own pages: the CSRF field matches,
/// and the browser's `Origin` (when sent) names this host and its `Sec-Fetch-Site` (when sent)
/// says same-origin. The SameSite=Strict cookie already keeps cross-site posts anonymous; this
/// is the second fence.
pub(crate) fn same_origin_form(gateway: &Gateway, headers: &HeaderMap, csrf: Option<&str>) -> bool {
    let Some(token) = gateway.sandbox.console_token.as_deref() else { return false };
    let field_ok = csrf.is_some_and(|csrf| same_secret(csrf, &csrf_token(token)));
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_ok = match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
        None => true,
        Some(origin) => host.is_some_and(|host| {
            origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) == Some(host)
        }),
    };
    let fetch_ok = match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        None => true,
        Some(site) => site == "same-origin",
    };
    field_ok && origin_ok && fetch_ok
}

/// Headers every console answer carries: no caching (tokens and state), no framing (the
/// forms), no referrer outside the console (same-origin: with no-referrer at all, browsers
/// send `Origin: null` on form posts, which the origin check must refuse), and a content policy allowing only the console's own script.
pub(crate) fn harden(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; img-src 'self'; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    response
}

/// The answer to a request the console refuses before looking at it.
pub(crate) fn refusal(standing: Standing, api: bool) -> Option<Response> {
    let (status, text) = match standing {
        Standing::Allowed | Standing::Anonymous => return None,
        Standing::Off => (
            StatusCode::NOT_FOUND,
            "the sandbox console is off (set [sandbox] console_token in the configuration)",
        ),
        Standing::Forbidden => (
            StatusCode::FORBIDDEN,
            "the sandbox console answers loopback clients only (set [sandbox] console_public = true to open it)",
        ),
    };
    let response = if api {
        (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({"error": text}).to_string(),
        )
            .into_response()
    } else {
        (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], text).into_response()
    };
    Some(harden(response))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_peers_unless_public() {
        let peer = |text: &str| Some(PeerAddr(text.parse().expect("address")));
        assert!(peer_allowed(peer("127.0.0.1:5000"), false));
        assert!(peer_allowed(peer("127.8.9.10:5000"), false));
        assert!(peer_allowed(peer("[::1]:5000"), false));
        // Addresses only parsed here: nothing is sent anywhere.
        assert!(!peer_allowed(peer("192.0.2.7:5000"), false));
        assert!(!peer_allowed(peer("[2001:db8::1]:5000"), false));
        assert!(!peer_allowed(None, false));
        assert!(peer_allowed(peer("192.0.2.7:5000"), true));
    }

    #[test]
    fn the_csrf_token_is_derived_from_the_console_token() {
        let one = csrf_token("0123456789abcdef");
        assert_eq!(one.len(), 64);
        assert_eq!(one, csrf_token("0123456789abcdef"));
        assert_ne!(one, csrf_token("0123456789abcdeF"));
        assert!(!one.contains("0123456789abcdef"));
    }

    #[test]
    fn cookies_are_read_by_name() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, "a=1; hongbao_console=tok; b=2".parse().expect("cookie"));
        assert_eq!(cookie(&headers, COOKIE), Some("tok"));
        assert_eq!(cookie(&headers, "b"), Some("2"));
        assert_eq!(cookie(&headers, "c"), None);
    }
}
