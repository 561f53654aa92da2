//! The client's `tracing` output: one `alipay_call` span per call, carrying the method, the
//! app_id and the call's ids, then the attempts and the answer's code and sub_code; never a key,
//! a signature or the signed URL.
//!
//! Method: a recording `tracing_subscriber` layer collects every span field and event field the
//! client (target `hongbao_client`) emits while typed calls run against an in-process hongbao
//! (`spawn_app`, on the same single-threaded runtime) and against a transport that always
//! answers 503.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failed expectation is the test failing

use hongbao_client::*;
use hongbao_test_support::{app_a_key, gateway_key, spawn_app, ALICE, APP_A, MERCHANT_A};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// One span of the client: its name and fields as recorded so far.
#[derive(Clone, Debug, Default)]
struct SpanRecord {
    name: String,
    fields: BTreeMap<String, String>,
}

/// An event's level and fields.
type EventRecord = (tracing::Level, BTreeMap<String, String>);

#[derive(Clone, Default)]
struct Recorder {
    spans: Arc<Mutex<BTreeMap<u64, SpanRecord>>>,
    /// Every event of the client: level, then its fields.
    events: Arc<Mutex<Vec<EventRecord>>>,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        if !attrs.metadata().target().starts_with("hongbao_client") {
            return;
        }
        let mut record =
            SpanRecord { name: attrs.metadata().name().to_owned(), ..Default::default() };
        attrs.record(&mut Fields(&mut record.fields));
        self.spans.lock().unwrap().insert(id.into_u64(), record);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some(record) = self.spans.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut Fields(&mut record.fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if !event.metadata().target().starts_with("hongbao_client") {
            return;
        }
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        self.events.lock().unwrap().push((*event.metadata().level(), fields));
    }
}

impl Recorder {
    fn calls(&self, method: &str) -> Vec<SpanRecord> {
        self.spans
            .lock()
            .unwrap()
            .values()
            .filter(|span| span.name == "alipay_call")
            .filter(|span| span.fields.get("method").map(String::as_str) == Some(method))
            .cloned()
            .collect()
    }

    /// Everything recorded, as one text, to search for secrets.
    fn everything(&self) -> String {
        let spans = format!("{:?}", self.spans.lock().unwrap());
        let events = format!("{:?}", self.events.lock().unwrap());
        spans + &events
    }
}

fn field<'a>(span: &'a SpanRecord, name: &str) -> Option<&'a str> {
    span.fields.get(name).map(String::as_str)
}

#[tokio::test]
async fn every_call_has_a_span_with_its_method_app_and_ids_and_no_secret() {
    let recorder = Recorder::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(recorder.clone()));
    let app = spawn_app().await;
    let client = Client::builder(
        format!("http://{}/gateway.do", app.addr),
        APP_A,
        app_a_key(),
        gateway_key().public_key().expect("public"),
    )
    .build()
    .expect("client");

    let pay = AgreementPayRequest::new(
        OutOrderNo::new("traced-1"),
        OutRequestNo::new("pay-1"),
        "红包",
        Fen::from_fen(1000),
        UserId::new(MERCHANT_A),
    );
    let paid = client.agreement_pay(&pay).await.expect("paid");
    let refund = RefundRequest::new(
        paid.auth_no.clone(),
        OutRequestNo::new("refund-1"),
        Fen::from_fen(2000),
        "退回",
    );
    client.refund(&refund).await.expect_err("more than is left");
    let b2c = TransferRequest::direct(
        OutBizNo::new("b2c-traced"),
        Fen::from_fen(100),
        Participant::user_id(UserId::new(ALICE)),
    );
    client.transfer(&b2c).await.expect("B2C");

    let pays = recorder.calls(AGREEMENT_PAY);
    assert_eq!(pays.len(), 1, "one span per call: {pays:?}");
    let span = &pays[0];
    assert_eq!(field(span, "app_id"), Some(APP_A));
    assert_eq!(field(span, "out_order_no"), Some("traced-1"));
    assert_eq!(field(span, "out_request_no"), Some("pay-1"));
    assert_eq!(field(span, "attempts"), Some("1"));
    assert_eq!(field(span, "code"), Some("10000"));
    assert_eq!(field(span, "sub_code"), None);

    let refunds = recorder.calls(REFUND);
    assert_eq!(field(&refunds[0], "auth_no"), Some(paid.auth_no.as_str()));
    assert_eq!(field(&refunds[0], "out_request_no"), Some("refund-1"));
    assert_eq!(field(&refunds[0], "code"), Some("40004"));
    assert_eq!(field(&refunds[0], "sub_code"), Some("MONEY_NOT_ENOUGH"));

    let transfers = recorder.calls(TRANS_UNI_TRANSFER);
    assert_eq!(field(&transfers[0], "out_biz_no"), Some("b2c-traced"));

    // No key, signature or signed URL anywhere in what the client recorded.
    let everything = recorder.everything();
    let names: Vec<String> = recorder
        .spans
        .lock()
        .unwrap()
        .values()
        .flat_map(|span| span.fields.keys().cloned())
        .collect();
    for secretive in ["sign", "url", "key", "biz_content"] {
        assert!(!names.iter().any(|name| name == secretive), "a field {secretive}");
    }
    for needle in ["sign=", "BEGIN", "PRIVATE", "timestamp=", "biz_content"] {
        assert!(!everything.contains(needle), "{needle:?} recorded: {everything}");
    }
    let private_pem = app_a_key().to_pkcs8_pem().expect("pem");
    let key_line = private_pem.lines().nth(1).expect("a base64 line");
    assert!(!everything.contains(key_line), "key material recorded");
}

/// Answers every call with 503.
struct Unavailable;

impl Transport for Unavailable {
    fn post<'a>(&'a self, _: HttpRequest<'a>) -> TransportFuture<'a> {
        Box::pin(async { Ok(HttpResponse::new(503, Vec::new())) })
    }
}

#[tokio::test]
async fn retries_show_as_events_and_an_unknown_outcome_as_a_warning() {
    let recorder = Recorder::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(recorder.clone()));
    let key = PrivateKey::generate(1024).expect("key");
    let client = Client::builder(
        "https://gw.example/gateway.do",
        "2021",
        key.clone(),
        key.public_key().expect("public"),
    )
    .transport(Arc::new(Unavailable))
    .retry(RetryPolicy::new(3, Duration::from_millis(1), Duration::from_millis(2)))
    .build()
    .expect("client");
    let query = CommonQueryRequest::by_order_id(OrderId::new("20261118110075000006640000000001"));
    let err = client.common_query(&query).await.expect_err("always 503");
    assert!(err.outcome_unknown());

    let spans = recorder.calls(TRANS_COMMON_QUERY);
    assert_eq!(field(&spans[0], "order_id"), Some("20261118110075000006640000000001"));
    assert_eq!(field(&spans[0], "attempts"), Some("3"));
    let events = recorder.events.lock().unwrap().clone();
    let resends: Vec<_> =
        events.iter().filter(|(level, _)| *level == tracing::Level::DEBUG).collect();
    assert_eq!(resends.len(), 2, "one event per resend: {events:?}");
    assert_eq!(resends[0].1.get("attempt").map(String::as_str), Some("1"));
    assert!(
        events.iter().any(|(level, _)| *level == tracing::Level::WARN),
        "the unknown outcome is a warning: {events:?}"
    );
}
