//! The client commands of `hongbao` (`pay`, `disburse`, `refund`, `query`, `page-url`,
//! `app-string`, `verify-notify`): thin glue over `hongbao-client`, which does all signing and
//! verification.
//!
//! Profile (TOML, default `hongbao-data/client.toml`, or `--profile FILE`; key paths are
//! relative to the profile's folder):
//!
//! ```toml
//! gateway = "http://127.0.0.1:9999/gateway.do"
//! app_id = "2021000000000001"
//! app_private_key = "keys/app_private.pem"        # PKCS#1, PKCS#8 or bare base64
//! alipay_public_key = "keys/gateway_public.pem"   # the gateway's ("Alipay") public key
//! charset = "utf-8"                               # optional: utf-8 (default), GBK, GB2312
//! sign_type = "RSA2"                              # optional: RSA2 (default) or RSA
//! timeout_seconds = 15                            # optional
//! ```
//!
//! Output: a two-column table, or with `--json` one JSON object on stdout (amounts as strings,
//! errors as `{"error":{…}}`). Exit codes, so scripts can tell outcomes apart:
//! 0 success; 1 usage or configuration error, or no connection to the gateway (nothing sent, or
//! sent to a URL that proved wrong: an HTTP 404, a redirect, another 4xx); 2 business failure (the gateway
//! answered, verifiably, with an error); 3 transport or signature failure (outcome unknown:
//! resend the same command, same ids, or `query`).

use clap::{Args, Subcommand};
use hongbao_client::{
    AgreementPayRequest, AuthNo, CashierPayRequest, Charset, Client, DisburseRequest, Error,
    ErrorKind, Fen, LogonId, Notify, OperationId, OperationQueryRequest, OperationQueryResponse,
    OperationRef, OperationResponse, OrderRef, OutOrderNo, OutRequestNo, PayTimeout, Payee,
    PrivateKey, PublicKey, RefundRequest, SignType, UserId,
};
use serde::Deserialize;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Exit code: success.
pub const EXIT_SUCCESS: i32 = 0;
/// Exit code: bad arguments, profile or keys, or no connection to the gateway; nothing was sent.
pub const EXIT_USAGE: i32 = 1;
/// Exit code: the gateway answered with a verified error (code/sub_code printed).
pub const EXIT_BUSINESS: i32 = 2;
/// Exit code: transport or signature failure; the outcome is unknown.
pub const EXIT_TRANSPORT: i32 = 3;

const PROFILE_DEFAULT: &str = "hongbao-data/client.toml";

/// Options every client command takes.
#[derive(Args, Debug)]
pub struct ClientOptions {
    /// The client profile (TOML: gateway, app_id, key paths, charset, sign_type).
    #[arg(long, default_value = PROFILE_DEFAULT)]
    profile: PathBuf,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

fn amount(text: &str) -> Result<Fen, String> {
    Fen::parse_amount(text).map_err(|err| err.to_string())
}

fn pay_timeout(text: &str) -> Result<PayTimeout, String> {
    PayTimeout::parse(text).map_err(|err| err.to_string())
}

/// The packet fields of the three pay methods.
#[derive(Args, Debug)]
pub struct PacketArgs {
    /// Merchant order number of the packet.
    #[arg(long)]
    out_order_no: String,
    /// Merchant number of the pay operation.
    #[arg(long)]
    out_request_no: String,
    /// Title the payer sees.
    #[arg(long)]
    title: String,
    /// Amount in yuan, e.g. 10.00.
    #[arg(long, value_parser = amount)]
    amount: Fen,
    /// Latest pay time: 1m .. 7d.
    #[arg(long, value_parser = pay_timeout)]
    pay_timeout: Option<PayTimeout>,
    /// Merchant extension JSON.
    #[arg(long)]
    extra_param: Option<String>,
    /// Where the gateway posts the outcome.
    #[arg(long)]
    notify_url: Option<String>,
}

/// The client subcommands, flattened into `hongbao`'s own.
#[derive(Subcommand, Debug)]
pub enum ClientCommand {
    /// Funds a packet from the merchant's account (alipay.fund.coupon.order.agreement.pay).
    Pay {
        #[command(flatten)]
        options: ClientOptions,
        #[command(flatten)]
        packet: PacketArgs,
        /// The payer: the account bound to the app.
        #[arg(long)]
        payer_user_id: String,
    },
    /// Pays part of a packet to a user (alipay.fund.coupon.order.disburse).
    Disburse {
        #[command(flatten)]
        options: ClientOptions,
        /// Merchant order number of this disburse (not the packet's).
        #[arg(long)]
        out_order_no: String,
        /// Merchant operation number.
        #[arg(long)]
        out_request_no: String,
        /// The packet, by auth_no.
        #[arg(
            long,
            conflicts_with = "deduct_out_order_no",
            required_unless_present = "deduct_out_order_no"
        )]
        deduct_auth_no: Option<String>,
        /// The packet, by its out_order_no.
        #[arg(long)]
        deduct_out_order_no: Option<String>,
        /// Title.
        #[arg(long)]
        title: String,
        /// Amount in yuan.
        #[arg(long, value_parser = amount)]
        amount: Fen,
        /// The payee, by account id (with --payee-logon-id too: both must name the same user).
        #[arg(long, required_unless_present = "payee_logon_id")]
        payee_user_id: Option<String>,
        /// The payee, by phone or e-mail.
        #[arg(long)]
        payee_logon_id: Option<String>,
        /// Where the gateway posts the outcome.
        #[arg(long)]
        notify_url: Option<String>,
    },
    /// Returns unclaimed money to the payer (alipay.fund.coupon.order.refund).
    Refund {
        #[command(flatten)]
        options: ClientOptions,
        /// The packet's auth_no.
        #[arg(long)]
        auth_no: String,
        /// Merchant number of this refund.
        #[arg(long)]
        out_request_no: String,
        /// Amount in yuan.
        #[arg(long, value_parser = amount)]
        amount: Fen,
        /// Why.
        #[arg(long)]
        remark: String,
        /// Where the gateway posts the outcome.
        #[arg(long)]
        notify_url: Option<String>,
    },
    /// Shows one operation (alipay.fund.coupon.operation.query).
    ///
    /// Name the order by Alipay's id (--auth-no) or by your own (--out-order-no), and the
    /// operation by Alipay's id (--operation-id) or by your own (--out-request-no); the merchant
    /// ids are what you have when an answer never arrived.
    Query {
        #[command(flatten)]
        options: ClientOptions,
        /// The order, by Alipay's auth_no (or give --out-order-no instead).
        #[arg(long, conflicts_with = "out_order_no", required_unless_present = "out_order_no")]
        auth_no: Option<String>,
        /// The order, by your out_order_no (instead of --auth-no).
        #[arg(long)]
        out_order_no: Option<String>,
        /// The operation, by Alipay's operation_id (or give --out-request-no instead).
        #[arg(long, conflicts_with = "out_request_no", required_unless_present = "out_request_no")]
        operation_id: Option<String>,
        /// The operation, by your out_request_no (instead of --operation-id).
        #[arg(long)]
        out_request_no: Option<String>,
    },
    /// Prints a signed page.pay URL for a browser (or the HTML form with --form).
    PageUrl {
        #[command(flatten)]
        options: ClientOptions,
        #[command(flatten)]
        packet: PacketArgs,
        /// Where the cashier sends the browser back.
        #[arg(long)]
        return_url: Option<String>,
        /// Print the auto-submitting HTML form instead of the GET URL.
        #[arg(long)]
        form: bool,
    },
    /// Prints a signed app.pay order string for the Alipay app SDK.
    AppString {
        #[command(flatten)]
        options: ClientOptions,
        #[command(flatten)]
        packet: PacketArgs,
    },
    /// Verifies a notify body (form-encoded, from FILE or stdin) and prints its fields.
    VerifyNotify {
        #[command(flatten)]
        options: ClientOptions,
        /// The body; `-` or nothing reads stdin.
        file: Option<PathBuf>,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Profile {
    gateway: String,
    app_id: String,
    app_private_key: PathBuf,
    /// Public-key mode: the gateway's ("Alipay's") public key.
    alipay_public_key: Option<PathBuf>,
    /// Certificate mode, instead of `alipay_public_key`: the app's certificate, the gateway's
    /// certificate and the root bundle, the three files an SDK is configured with.
    app_cert: Option<PathBuf>,
    /// See `app_cert`.
    alipay_cert: Option<PathBuf>,
    /// See `app_cert`.
    alipay_root_cert: Option<PathBuf>,
    /// Interface content encryption: the app's AES key, base64.
    encrypt_key: Option<String>,
    charset: Option<String>,
    sign_type: Option<String>,
    timeout_seconds: Option<u64>,
}

/// A failure before anything was sent: exit 1.
struct UsageError(String);

fn read_text(path: &Path, what: &str) -> Result<String, UsageError> {
    std::fs::read_to_string(path)
        .map_err(|err| UsageError(format!("cannot read {what} {}: {err}", path.display())))
}

fn load_client(path: &Path) -> Result<Client, UsageError> {
    let text = read_text(path, "profile")?;
    let profile: Profile = toml::from_str(&text)
        .map_err(|err| UsageError(format!("profile {}: {err}", path.display())))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let private_path = base.join(&profile.app_private_key);
    let app_key = PrivateKey::from_text(&read_text(&private_path, "app_private_key")?)
        .map_err(|err| UsageError(format!("{}: {err}", private_path.display())))?;
    let charset = match profile.charset.as_deref() {
        None => Charset::Utf8,
        Some(label) => Charset::parse(label).ok_or_else(|| {
            UsageError(format!("profile charset {label:?}: use utf-8, GBK or GB2312"))
        })?,
    };
    let sign_type = match profile.sign_type.as_deref() {
        None => SignType::Rsa2,
        Some(text) => SignType::parse(text)
            .ok_or_else(|| UsageError(format!("profile sign_type {text:?}: use RSA2 or RSA")))?,
    };
    let certificate_files = (&profile.app_cert, &profile.alipay_cert, &profile.alipay_root_cert);
    let builder = match (&profile.alipay_public_key, certificate_files) {
        (Some(public), (None, None, None)) => {
            let public_path = base.join(public);
            let alipay_key = PublicKey::from_text(&read_text(&public_path, "alipay_public_key")?)
                .map_err(|err| UsageError(format!("{}: {err}", public_path.display())))?;
            Client::builder(profile.gateway, profile.app_id, app_key, alipay_key)
        }
        (None, (Some(app_cert), Some(alipay_cert), Some(root_cert))) => {
            let certificates = hongbao_client::Certificates::from_files(
                base.join(app_cert),
                base.join(alipay_cert),
                base.join(root_cert),
            )
            .map_err(|err| UsageError(format!("profile {}: {err}", path.display())))?;
            Client::builder_with_certificates(profile.gateway, profile.app_id, app_key, certificates)
        }
        _ => {
            return Err(UsageError(format!(
                "profile {}: give alipay_public_key (public-key mode) or app_cert, alipay_cert and alipay_root_cert (certificate mode)",
                path.display()
            )))
        }
    };
    let mut builder = builder.charset(charset).sign_type(sign_type);
    if let Some(text) = &profile.encrypt_key {
        let key = hongbao_client::EncryptKey::from_base64(text)
            .map_err(|err| UsageError(format!("profile {} encrypt_key: {err}", path.display())))?;
        builder = builder.encrypt_key(key);
    }
    if let Some(seconds) = profile.timeout_seconds {
        builder = builder.timeout(Duration::from_secs(seconds));
    }
    builder.build().map_err(|err| UsageError(format!("profile {}: {err}", path.display())))
}

type Rows = Vec<(String, String)>;

fn time_text(time: Option<chrono::DateTime<chrono::FixedOffset>>) -> Option<String> {
    time.map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
}

/// Table rows from `(name, value)` pairs, absent values left out.
fn rows(pairs: Vec<(&str, Option<String>)>) -> Rows {
    pairs.into_iter().filter_map(|(key, value)| Some((key.to_owned(), value?))).collect()
}

fn operation_rows(op: &OperationResponse) -> Rows {
    rows(vec![
        ("auth_no", Some(op.auth_no.to_string())),
        ("out_order_no", op.out_order_no.as_ref().map(OutOrderNo::to_string)),
        ("operation_id", Some(op.operation_id.to_string())),
        ("out_request_no", Some(op.out_request_no.to_string())),
        ("amount", Some(op.amount.to_string())),
        ("status", Some(op.status.as_str().to_owned())),
        ("gmt_trans", time_text(op.gmt_trans)),
    ])
}

fn query_rows(op: &OperationQueryResponse) -> Rows {
    rows(vec![
        ("auth_no", Some(op.auth_no.to_string())),
        ("out_order_no", op.out_order_no.as_ref().map(OutOrderNo::to_string)),
        ("operation_id", Some(op.operation_id.to_string())),
        ("out_request_no", op.out_request_no.as_ref().map(OutRequestNo::to_string)),
        ("operation_type", Some(op.operation_type.as_str().to_owned())),
        ("status", Some(op.status.as_str().to_owned())),
        ("amount", Some(op.amount.to_string())),
        ("order_title", op.order_title.clone()),
        ("remark", op.remark.clone()),
        ("payer_user_id", op.payer_user_id.as_ref().map(UserId::to_string)),
        ("payer_logon_id", op.payer_logon_id.clone()),
        ("payee_user_id", op.payee_user_id.as_ref().map(UserId::to_string)),
        ("payee_logon_id", op.payee_logon_id.clone()),
        ("gmt_create", time_text(op.gmt_create)),
        ("gmt_trans", time_text(op.gmt_trans)),
        ("extra_param", op.extra_param.clone()),
        ("total_pay_refund_amount", op.total_pay_refund_amount.map(|f| f.to_string())),
    ])
}

fn notify_rows(notify: &Notify) -> Rows {
    let mut rows = vec![("verified".to_owned(), "true".to_owned())];
    rows.extend(
        notify
            .params
            .iter()
            .filter(|(key, _)| *key != "sign")
            .map(|(key, value)| (key.to_owned(), value.to_owned())),
    );
    rows
}

/// Prints `rows` as the client commands do: a two-column table, or one JSON object.
pub(crate) fn print_rows(rows: &Rows, json: bool) {
    if json {
        let object: serde_json::Map<String, serde_json::Value> =
            rows.iter().map(|(k, v)| (k.clone(), serde_json::Value::from(v.as_str()))).collect();
        println!("{}", serde_json::Value::Object(object));
        return;
    }
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (key, value) in rows {
        println!("{key:<width$}  {value}");
    }
}

/// Prints `err` and returns its exit code.
fn report(err: &Error, json: bool, sent: bool) -> i32 {
    let (code, kind) = match err.kind() {
        ErrorKind::Gateway(_) => (EXIT_BUSINESS, "gateway"),
        ErrorKind::Invalid { .. } => (EXIT_USAGE, "invalid"),
        ErrorKind::Unreachable { .. } => (EXIT_USAGE, "unreachable"),
        ErrorKind::Transport { .. } => (EXIT_TRANSPORT, "transport"),
        ErrorKind::HttpStatus { .. } if !err.outcome_unknown() => (EXIT_USAGE, "http"),
        ErrorKind::HttpStatus { .. } => (EXIT_TRANSPORT, "http"),
        ErrorKind::Signature(_) => (EXIT_TRANSPORT, "signature"),
        _ => (EXIT_TRANSPORT, "malformed"),
    };
    if json {
        let mut object = serde_json::json!({
            "kind": kind,
            "message": err.to_string(),
            "outcome_unknown": sent && err.outcome_unknown(),
        });
        if let Some(gateway) = err.gateway() {
            object["code"] = gateway.code().into();
            object["msg"] = gateway.msg().into();
            object["sub_code"] = gateway.sub_code().into();
            object["sub_msg"] = gateway.sub_msg().into();
        }
        println!("{}", serde_json::json!({ "error": object }));
    } else {
        eprintln!("hongbao: {err}");
        if let ErrorKind::Unreachable { .. } = err.kind() {
            eprintln!(
                "hongbao: nothing happened; is the server running (`hongbao demo` or `hongbao serve`) at the profile's gateway URL?"
            );
        }
        if let ErrorKind::HttpStatus { status: 404 | 405, .. } = err.kind() {
            eprintln!(
                "hongbao: nothing happened; the profile's gateway URL should end in /gateway.do"
            );
        }
        if sent && err.outcome_unknown() {
            eprintln!(
                "hongbao: the outcome is unknown: resend the same command (same ids) or query it"
            );
        }
    }
    code
}

/// Says what a notification that does not verify failed on: the verdict, the exact content
/// the client checked the signature over and the key it was checked with, so a merchant can
/// tell a changed body from a wrong key.
fn explain_notify_failure(client: &Client, err: &Error, body: &[u8], profile: &Path) {
    let ErrorKind::Signature(failure) = err.kind() else { return };
    // Exit 3 as any signature failure, but not "response rejected": a notification is a request.
    eprintln!("hongbao: the notification is not genuine: {failure}");
    if matches!(failure, hongbao_client::SignatureFailure::Mismatch) {
        // A mismatch comes after the body decoded, so its content is there to show.
        if let Ok(content) = client.notify_sign_content(body) {
            eprintln!(
                "hongbao: checked with the alipay_public_key of {} over:\n  {content}",
                profile.display()
            );
        }
        eprintln!(
            "hongbao: either the body was changed after signing, or it was signed by another key than that one"
        );
    }
}

fn cashier_request(packet: PacketArgs) -> CashierPayRequest {
    let mut request = CashierPayRequest::new(
        OutOrderNo::new(packet.out_order_no),
        OutRequestNo::new(packet.out_request_no),
        packet.title,
        packet.amount,
    );
    request.pay_timeout = packet.pay_timeout;
    request.extra_param = packet.extra_param;
    request.notify_url = packet.notify_url;
    request
}

fn read_notify_body(file: Option<&Path>) -> Result<Vec<u8>, UsageError> {
    let mut body = Vec::new();
    match file {
        Some(path) if path != Path::new("-") => {
            body = std::fs::read(path)
                .map_err(|err| UsageError(format!("cannot read {}: {err}", path.display())))?;
        }
        _ => {
            std::io::stdin()
                .read_to_end(&mut body)
                .map_err(|err| UsageError(format!("cannot read stdin: {err}")))?;
        }
    }
    // A trailing newline from `echo` or an editor is not part of the form.
    while body.last().is_some_and(|b| b.is_ascii_whitespace()) {
        body.pop();
    }
    Ok(body)
}

fn options_of(command: &ClientCommand) -> &ClientOptions {
    match command {
        ClientCommand::Pay { options, .. }
        | ClientCommand::Disburse { options, .. }
        | ClientCommand::Refund { options, .. }
        | ClientCommand::Query { options, .. }
        | ClientCommand::PageUrl { options, .. }
        | ClientCommand::AppString { options, .. }
        | ClientCommand::VerifyNotify { options, .. } => options,
    }
}

/// Runs a client command; returns the process exit code.
pub fn run(command: ClientCommand) -> i32 {
    let json = options_of(&command).json;
    let profile = options_of(&command).profile.clone();
    let client = match load_client(&profile) {
        Ok(client) => client,
        Err(UsageError(message)) => {
            if json {
                println!("{}", serde_json::json!({"error": {"kind": "usage", "message": message}}));
            } else {
                eprintln!("hongbao: {message}");
            }
            return EXIT_USAGE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("hongbao: cannot start the async runtime: {err}");
            return EXIT_USAGE;
        }
    };
    // Only calls that reach a gateway can leave an outcome unknown.
    let sent = matches!(
        command,
        ClientCommand::Pay { .. }
            | ClientCommand::Disburse { .. }
            | ClientCommand::Refund { .. }
            | ClientCommand::Query { .. }
    );
    let outcome: Result<Rows, Error> = match command {
        ClientCommand::Pay { packet, payer_user_id, .. } => {
            let mut request = AgreementPayRequest::new(
                OutOrderNo::new(packet.out_order_no),
                OutRequestNo::new(packet.out_request_no),
                packet.title,
                packet.amount,
                UserId::new(payer_user_id),
            );
            request.pay_timeout = packet.pay_timeout;
            request.extra_param = packet.extra_param;
            request.notify_url = packet.notify_url;
            runtime.block_on(client.agreement_pay(&request)).map(|op| operation_rows(&op))
        }
        ClientCommand::Disburse {
            out_order_no,
            out_request_no,
            deduct_auth_no,
            deduct_out_order_no,
            title,
            amount,
            payee_user_id,
            payee_logon_id,
            notify_url,
            ..
        } => {
            // clap guarantees exactly one of each pair.
            let packet = match (deduct_auth_no, deduct_out_order_no) {
                (Some(auth_no), _) => OrderRef::AuthNo(AuthNo::new(auth_no)),
                (None, out_order_no) => {
                    OrderRef::OutOrderNo(OutOrderNo::new(out_order_no.unwrap_or_default()))
                }
            };
            let payee = match (payee_user_id, payee_logon_id) {
                (Some(user_id), Some(logon_id)) => Payee::UserIdAndLogonId {
                    user_id: UserId::new(user_id),
                    logon_id: LogonId::new(logon_id),
                },
                (Some(user_id), None) => Payee::UserId(UserId::new(user_id)),
                (None, logon_id) => Payee::LogonId(LogonId::new(logon_id.unwrap_or_default())),
            };
            let mut request = DisburseRequest::new(
                OutOrderNo::new(out_order_no),
                packet,
                OutRequestNo::new(out_request_no),
                title,
                amount,
                payee,
            );
            request.notify_url = notify_url;
            runtime.block_on(client.disburse(&request)).map(|op| operation_rows(&op))
        }
        ClientCommand::Refund { auth_no, out_request_no, amount, remark, notify_url, .. } => {
            let mut request = RefundRequest::new(
                AuthNo::new(auth_no),
                OutRequestNo::new(out_request_no),
                amount,
                remark,
            );
            request.notify_url = notify_url;
            runtime.block_on(client.refund(&request)).map(|op| operation_rows(&op))
        }
        ClientCommand::Query { auth_no, out_order_no, operation_id, out_request_no, .. } => {
            let order = match (auth_no, out_order_no) {
                (Some(auth_no), _) => OrderRef::AuthNo(AuthNo::new(auth_no)),
                (None, out_order_no) => {
                    OrderRef::OutOrderNo(OutOrderNo::new(out_order_no.unwrap_or_default()))
                }
            };
            let operation = match (operation_id, out_request_no) {
                (Some(id), _) => OperationRef::OperationId(OperationId::new(id)),
                (None, no) => OperationRef::OutRequestNo(OutRequestNo::new(no.unwrap_or_default())),
            };
            let request = OperationQueryRequest::new(order, operation);
            runtime.block_on(client.operation_query(&request)).map(|op| query_rows(&op))
        }
        ClientCommand::PageUrl { packet, return_url, form, .. } => {
            let mut request = cashier_request(packet);
            request.return_url = return_url;
            let page =
                if form { client.page_pay_form(&request) } else { client.page_pay_url(&request) };
            page.map(|page| rows(vec![(if form { "page_form" } else { "page_url" }, Some(page))]))
        }
        ClientCommand::AppString { packet, .. } => client
            .app_pay_order_string(&cashier_request(packet))
            .map(|order| rows(vec![("order_string", Some(order))])),
        ClientCommand::VerifyNotify { file, .. } => {
            let body = match read_notify_body(file.as_deref()) {
                Ok(body) => body,
                Err(UsageError(message)) => {
                    eprintln!("hongbao: {message}");
                    return EXIT_USAGE;
                }
            };
            match client.verify_notify_form(&body) {
                Ok(notify) => Ok(notify_rows(&notify)),
                Err(err) if !json && matches!(err.kind(), ErrorKind::Signature(_)) => {
                    explain_notify_failure(&client, &err, &body, &profile);
                    return EXIT_TRANSPORT;
                }
                Err(err) => Err(err),
            }
        }
    };
    match outcome {
        Ok(rows) => {
            // A page URL or order string alone is printed bare, ready to paste or pipe.
            if !json && rows.len() == 1 && rows[0].0 != "verified" {
                println!("{}", rows[0].1);
            } else {
                print_rows(&rows, json);
            }
            EXIT_SUCCESS
        }
        Err(err) => report(&err, json, sent),
    }
}
