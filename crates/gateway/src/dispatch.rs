//! `/gateway.do`: receive a request, route it by the method it names (page APIs to the
//! cashier), and on the JSON path verify it, run its method and sign the answer: encrypted when
//! the request was and decrypted (`Verified::answer_key`), in clear when it failed before that,
//! as Alipay answers a request it could not decrypt.

use crate::body::BodyError;
use crate::cashier;
use crate::error::{log_failure, to_alipay, ApiError};
use crate::methods;
use crate::observe::CallOutcome;
use crate::reqlog::{CallLog, Logged};
use crate::verify::verify;
use crate::Gateway;
use axum::body::Body;
use axum::extract::{FromRequest, State};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use bytes::Bytes;
use hongbao_protocol::encryption::EncryptKey;
use hongbao_protocol::envelope::{response_key, ResponseNode, ERROR_RESPONSE_KEY};
use hongbao_protocol::form::peek;
use hongbao_protocol::method::{Channel, Method};
use hongbao_protocol::params::{decode_request, DecodedRequest};
use hongbao_protocol::{Charset, RequestError, SignType};
use http::{header, HeaderValue, Request, StatusCode};
use std::sync::Arc;
use tokio::sync::OwnedSemaphorePermit;

/// The router: `/gateway.do` for every HTTP method (SDKs use GET and POST).
///
/// Every request is first received (`Received`: body under its cap and time limit, admission,
/// decoding); then the method it names picks the endpoint by the way its caller reaches it: a
/// page API (page.pay, from the payer's browser) goes to the cashier, which answers with pages;
/// everything else takes the JSON path and gets a signed envelope.
pub fn router(gateway: Arc<Gateway>) -> axum::Router {
    axum::Router::new().route("/gateway.do", any(gateway_do)).with_state(gateway)
}

async fn gateway_do(State(gateway): State<Arc<Gateway>>, received: Received) -> Response {
    let method = received.method();
    let Received { query, body, decoded, guessed, admitted } = received;
    let logging = gateway.request_log.is_on();
    let mut trace = Trace::default();
    // Pages and redirects carry no envelope: the log line and the metrics know their method.
    let paged = CallOutcome { method: method.map(|m| m.name().to_owned()), ..Default::default() };
    let mut response = match method.map(Method::channel) {
        Some(Channel::Page) => paged.tag(cashier::page_pay(&gateway, decoded).await),
        // Alipay's gateway sends a fund.trans send POSTed to it straight to the mobile cashier
        // (std-red-packet-spec §2.1): here, the wallet page with the very same parameters.
        Some(Channel::OrderString) if method == Some(Method::TransAppPay) => {
            paged.tag(to_wallet(&query, &body))
        }
        Some(Channel::Json | Channel::OrderString) | None => {
            let (frame, node) = answer(&gateway, decoded, guessed, &mut trace).await;
            if !trace.delay.is_zero() {
                tokio::time::sleep(trace.delay).await;
            }
            reply(&gateway, &frame, node)
        }
    };
    // The place in the work is held until the answer is signed.
    drop(admitted);
    if logging {
        // Shared bytes, not copies: the log's task decodes them later, off this path.
        let answer = response.extensions_mut().remove::<AnswerBytes>();
        let logged = CallLog {
            query: Bytes::from(query),
            body,
            charset: answer.as_ref().map(|a| a.1),
            answer: answer.map(|a| a.0),
            sign_ok: trace.sign_ok,
            sign_content: trace.sign_content,
            injected: trace.injected,
            decrypted_biz_content: trace.decrypted_biz_content,
        };
        response.extensions_mut().insert(Logged::Call(logged));
    }
    response
}

/// What the request log keeps of a call's verification and injection.
#[derive(Default)]
struct Trace {
    sign_ok: Option<bool>,
    sign_content: Option<String>,
    injected: Option<String>,
    delay: std::time::Duration,
    decrypted_biz_content: Option<String>,
}

/// The signed answer's bytes and charset, left for the request log.
#[derive(Clone)]
struct AnswerBytes(Bytes, Charset);

/// A redirect to the wallet with the request's parameters as the order string.
fn to_wallet(query: &[u8], body: &[u8]) -> Response {
    let mut order_string = query.to_vec();
    if !order_string.is_empty() && !body.is_empty() {
        order_string.push(b'&');
    }
    order_string.extend_from_slice(body);
    let mut location = String::from("/wallet?order_string=");
    for byte in order_string {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                location.push(char::from(byte))
            }
            other => location.push_str(&format!("%{other:02X}")),
        }
    }
    match HeaderValue::from_str(&location) {
        Ok(value) => (StatusCode::FOUND, [(header::LOCATION, value)]).into_response(),
        Err(_) => (StatusCode::BAD_REQUEST, "bad order string").into_response(),
    }
}

/// A request as received: raw query and body, their decoding, and its place in the work
/// (`Gateway::inflight`), held until the answer is built.
struct Received {
    query: Vec<u8>,
    body: Bytes,
    decoded: Result<DecodedRequest, RequestError>,
    /// For a request that did not decode: its framing, read once from the raw form.
    guessed: Option<Frame>,
    admitted: OwnedSemaphorePermit,
}

impl Received {
    /// The method the request names: from its parameters, or, when they did not decode, read
    /// leniently from the raw form (only to tell which way to answer the error).
    fn method(&self) -> Option<Method> {
        match (&self.decoded, &self.guessed) {
            (Ok(request), _) => request.params.get("method").and_then(Method::parse),
            (Err(_), Some(frame)) => frame.method.as_deref().and_then(Method::parse),
            (Err(_), None) => None,
        }
    }
}

impl FromRequest<Arc<Gateway>> for Received {
    /// An answer for a request that was never taken on: a body over the cap, malformed or cut
    /// off (signed), one that timed out, or no place in the work within `admission_wait` (see
    /// `shed`). The body's bounds are the server's (`body::BoundedBody`).
    type Rejection = Response;

    async fn from_request(
        request: Request<Body>,
        gateway: &Arc<Gateway>,
    ) -> Result<Received, Response> {
        let query = request.uri().query().unwrap_or("").as_bytes().to_vec();
        let body = match crate::body::read(request.into_body()).await {
            Ok(body) => body,
            Err(BodyError::TooLarge { limit }) => {
                // Answered without reading more.
                let frame = Frame::guess(&query, None);
                let node = error_node(&RequestError::BodyTooLarge { limit }.into());
                return Err(reply(gateway, &frame, node));
            }
            Err(BodyError::Malformed(what)) => {
                let frame = Frame::guess(&query, None);
                let node = error_node(&RequestError::MalformedBody(what).into());
                return Err(reply(gateway, &frame, node));
            }
            Err(BodyError::Overloaded) => return Err(shed(gateway, Frame::guess(&query, None))),
            Err(BodyError::TimedOut(_)) => {
                return Err((StatusCode::REQUEST_TIMEOUT, "request body timed out").into_response())
            }
        };
        // Admission after the body is in (reading it is bounded by its own timeout and size),
        // so slow clients never hold a place in the work queue.
        let admitted = match Arc::clone(&gateway.inflight).try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => tokio::time::timeout(
                gateway.limits.admission_wait,
                Arc::clone(&gateway.inflight).acquire_owned(),
            )
            .await
            .ok()
            .and_then(Result::ok),
        };
        let Some(admitted) = admitted else {
            return Err(shed(gateway, Frame::guess(&query, Some(&body))));
        };
        let decoded = decode_request(&query, &body);
        let guessed = decoded.is_err().then(|| Frame::guess(&query, Some(&body)));
        Ok(Received { query, body, decoded, guessed, admitted })
    }
}

/// How the answer is framed: node name, charset, algorithm, the app it answers (whose mode
/// decides whether `alipay_cert_sn` goes on it, verified or not), and the key its node is
/// encrypted with (only once the request was verified and decrypted).
struct Frame {
    key: String,
    charset: Charset,
    sign_type: SignType,
    /// `method` as sent, for the log line and the metrics (`observe`).
    method: Option<String>,
    app_id: Option<String>,
    encrypt: Option<EncryptKey>,
}

impl Frame {
    /// Best effort from whatever could be read, for answers to requests that failed early: one
    /// pass over the raw form (`form::peek`), whatever its size.
    fn guess(query: &[u8], body: Option<&[u8]>) -> Frame {
        let inputs: &[&[u8]] = match body {
            Some(body) => &[query, body],
            None => &[query],
        };
        let [method, charset, sign_type, app_id] =
            peek(inputs, ["method", "charset", "sign_type", "app_id"]).map(printable);
        let method = method.filter(|m| !m.trim().is_empty());
        Frame {
            key: method
                .as_deref()
                .and_then(response_key)
                .unwrap_or_else(|| ERROR_RESPONSE_KEY.to_owned()),
            charset: charset
                .and_then(|label| Charset::parse(label.trim()))
                .unwrap_or(Charset::Utf8),
            sign_type: sign_type.and_then(|text| SignType::parse(&text)).unwrap_or(SignType::Rsa2),
            app_id,
            method,
            encrypt: None,
        }
    }
}

/// A peeked value when it is printable ASCII (the charset is not known yet).
fn printable(value: Option<Vec<u8>>) -> Option<String> {
    value
        .filter(|v| v.iter().all(|b| (0x20..0x7f).contains(b)))
        .and_then(|v| String::from_utf8(v).ok())
}

/// Over capacity: a signed 20000 in the request's own node when it names a method, else a plain
/// HTTP 503 (there is no node to answer in). Nothing was done; the identical request may be
/// retried.
fn shed(gateway: &Gateway, frame: Frame) -> Response {
    metrics::counter!("hongbao_requests_shed_total").increment(1);
    if frame.key == ERROR_RESPONSE_KEY {
        return (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "1")], "overloaded")
            .into_response();
    }
    reply(gateway, &frame, error_node(&ApiError::Overloaded))
}

/// The JSON path: verify, run the method (unless a console fault rule answers instead), frame
/// the answer.
async fn answer(
    gateway: &Gateway,
    decoded: Result<DecodedRequest, RequestError>,
    guessed: Option<Frame>,
    trace: &mut Trace,
) -> (Frame, ResponseNode) {
    let request = match decoded {
        Ok(request) => request,
        Err(err) => {
            let frame = guessed.unwrap_or_else(|| Frame::guess(b"", None));
            return (frame, error_node(&err.into()));
        }
    };
    let method = request.params.get_nonblank("method").map(str::to_owned);
    let mut frame = Frame {
        key: method
            .as_deref()
            .and_then(response_key)
            .unwrap_or_else(|| ERROR_RESPONSE_KEY.to_owned()),
        charset: request.charset,
        sign_type: request
            .params
            .get("sign_type")
            .and_then(SignType::parse)
            .unwrap_or(SignType::Rsa2),
        app_id: request.params.get("app_id").map(str::to_owned),
        method,
        encrypt: None,
    };
    let node = match verify(gateway, request) {
        Ok(verified) => {
            trace.sign_ok = Some(true);
            // Decrypted: whatever follows, success or business error, answers encrypted.
            frame.encrypt = verified.answer_key().cloned();
            if frame.encrypt.is_some() && gateway.request_log.is_on() {
                // The log shows what the merchant meant, not the ciphertext it sent.
                trace.decrypted_biz_content = verified.biz_content().map(str::to_owned);
            }
            let fault = gateway.inject.take_call(&verified.app().app_id, verified.method());
            let injected = fault.and_then(|fault| {
                trace.injected = Some(fault.rule);
                trace.delay = fault.delay;
                fault.error.map(|err| (err, fault.after_money_moved))
            });
            match injected {
                // Answered instead of the method: nothing moves.
                Some((err, false)) => error_node(&err),
                // The method runs and commits; its answer is lost, as in a timeout.
                Some((err, true)) => {
                    run(gateway, &verified).await;
                    error_node(&err)
                }
                None => run(gateway, &verified).await,
            }
        }
        Err(err) => {
            if let ApiError::Request(RequestError::BadSignature { sign_content, hint }) = &err {
                trace.sign_ok = Some(false);
                trace.sign_content = Some(match hint {
                    Some(hint) => {
                        format!("{sign_content}\n{}", hint.text().trim_start_matches('。'))
                    }
                    None => sign_content.clone(),
                });
            }
            if matches!(err, ApiError::Request(RequestError::AppAuthTokenNotSupported)) {
                trace.sign_ok = Some(true);
            }
            error_node(&err)
        }
    };
    (frame, node)
}

/// Runs a verified call's method: its node, or its error's (logged when it is the server's).
async fn run(gateway: &Gateway, verified: &crate::verify::Verified<'_>) -> ResponseNode {
    match methods::run(gateway, verified).await {
        Ok(node) => node,
        Err(err) => {
            log_failure(verified.method(), &verified.app().app_id, &err);
            error_node(&err)
        }
    }
}

fn error_node(err: &ApiError) -> ResponseNode {
    let alipay = to_alipay(err);
    let mut node = ResponseNode::error(alipay.code, alipay.msg, alipay.sub_code, &alipay.sub_msg);
    if let ApiError::WithEcho { echo, .. } = err {
        for (key, value) in echo {
            node = node.field(key, value);
        }
    }
    node
}

fn reply(gateway: &Gateway, frame: &Frame, node: ResponseNode) -> Response {
    let app = frame.app_id.as_deref().and_then(|app_id| gateway.apps.get(app_id));
    let signed = gateway.sign_answer(
        &frame.key,
        &node,
        frame.charset,
        frame.sign_type,
        app,
        frame.encrypt.as_ref(),
    );
    match signed {
        Ok(body) => {
            let content_type = format!("application/json;charset={}", frame.charset.as_str());
            let body = Bytes::from(body);
            let mut response = Response::new(Body::from(body.clone()));
            if gateway.request_log.is_on() {
                response.extensions_mut().insert(AnswerBytes(body, frame.charset));
            }
            if let Ok(value) = HeaderValue::from_str(&content_type) {
                response.headers_mut().insert(header::CONTENT_TYPE, value);
            }
            CallOutcome::of_node(frame.method.as_deref(), frame.app_id.as_deref(), &node)
                .tag(response)
        }
        Err(err) => {
            tracing::error!(error = %err, "signing an answer failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "signing failed").into_response()
        }
    }
}
