//! The configuration file (`hongbao serve --config FILE`): TOML, relative paths resolved against
//! the file's folder, `HONGBAO_LISTEN` / `HONGBAO_LISTEN_TLS` / `HONGBAO_DATABASE` /
//! `HONGBAO_METRICS_LISTEN` override their keys.
//!
//! HTTPS: `listen_tls` with `tls_cert` and `tls_key` adds a TLS listener serving the same routes,
//! for clients that dial 443 or insist on an https gateway URL.
//!
//! Certificate mode (公钥证书模式): `gateway_cert` (the gateway key's certificate, Alipay's
//! `alipayCertPublicKey_RSA2.crt`) and `root_cert` (the root bundle, `alipayRootCert.crt`) at the
//! top, and `app_cert` instead of `app_public_key` in an `[[app]]`. Public-key and certificate
//! apps live side by side. `gateway_cert_previous` names a folder of earlier gateway
//! certificates (`hongbao cert rotate` fills it), still downloadable by SN.
//!
//! Interface content encryption (接口内容加密): `encrypt_key = "BASE64"` in an `[[app]]`, the
//! app's AES key as Alipay's console shows it (16 bytes; 24 and 32 are taken too, as by every
//! official SDK).
//!
//! Every problem stops start-up with one clear line naming the key and the file.

use anyhow::{anyhow, bail, Context, Result};
use hongbao_gateway::{AppCertificate, AppCredential, GatewayCerts};
use hongbao_money::Fen;
use hongbao_sign::{Certificate, EncryptKey, PrivateKey, PublicKey, RootBundle};
use serde::Deserialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// `host:port` to listen on.
    pub listen: Option<String>,
    /// `host:port` of an HTTPS listener beside `listen` (`127.0.0.1:443`), serving the same
    /// routes with `tls_cert` and `tls_key`.
    pub listen_tls: Option<String>,
    /// PEM: the HTTPS listener's certificate, then any intermediates (the demo's is issued by
    /// the sandbox CA for localhost, 127.0.0.1 and Alipay's gateway host names).
    pub tls_cert: Option<String>,
    /// PEM private key of `tls_cert`.
    pub tls_key: Option<String>,
    /// `sqlite://PATH` (default `sqlite://hongbao.db`) or `postgres://user@host:port/db`.
    pub database: Option<String>,
    /// PEM (PKCS#1 or PKCS#8) or bare base64: signs every answer.
    pub gateway_private_key: String,
    /// Certificate mode: the X.509 PEM certificate of the gateway key's public half.
    pub gateway_cert: Option<String>,
    /// Certificate mode: the root bundle, one or more PEM certificates.
    pub root_cert: Option<String>,
    /// Certificate mode: a folder of earlier gateway certificates (`*.crt`), downloadable by SN.
    pub gateway_cert_previous: Option<String>,
    /// Registered apps.
    #[serde(default, rename = "app")]
    pub apps: Vec<AppEntry>,
    /// Sandbox users.
    #[serde(default, rename = "user")]
    pub users: Vec<UserEntry>,
    /// How long a funded packet's remainder waits before it goes back to the payer when the pay
    /// call names no `orderExpiredTime` (`"48h"`, whole m/h/d; default 48h).
    pub packet_expiry_default: Option<String>,
    /// Sandbox controls (all off by default).
    pub sandbox: Option<SandboxEntry>,
    /// Prometheus metrics (off by default).
    pub metrics: Option<MetricsEntry>,
    /// Where notifications and messages may go (the notify destination policy).
    pub notify: Option<NotifyEntry>,
    /// Request bounds.
    pub limits: Option<LimitsEntry>,
}

/// `[notify]`: the notify destination policy (`hongbao_gateway::destination`). By default
/// loopback, private and public addresses are allowed and link-local, unspecified, multicast
/// and broadcast refused; `deny` adds ranges (a platform denies loopback and private ones),
/// `allow` makes exceptions that win over every denial.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyEntry {
    /// CIDR ranges always allowed (`"10.1.2.3/32"`).
    #[serde(default)]
    pub allow: Vec<String>,
    /// CIDR ranges refused besides the default ones (`"127.0.0.0/8"`, `"10.0.0.0/8"`).
    #[serde(default)]
    pub deny: Vec<String>,
}

/// `[limits]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsEntry {
    /// How long a client may take to send a request body, on every route (`"15s"`, whole
    /// seconds or minutes; default 15s).
    pub body_timeout: Option<String>,
    /// Most answer signatures remembered for answers whose bytes come again (a polled
    /// `operation.query`, a replayed retry); 0 signs every answer afresh (default 4096).
    pub signature_cache: Option<usize>,
}

/// `[metrics]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsEntry {
    /// `host:port` of the listener serving `/metrics` (and nothing else), apart from the
    /// gateway's, so scraping stays on a private address: `127.0.0.1:9100`.
    pub listen: Option<String>,
}

/// `[sandbox]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxEntry {
    /// Enables the clock control (`/sandbox/clock/advance`, `hongbao clock advance`) for
    /// loopback clients presenting this bearer token.
    pub clock_token: Option<String>,
    /// Lists the `[[user]]` accounts (logon id and user id, never a password) on the login card
    /// of the cashier and the wallet: the demo turns it on.
    pub list_users: Option<bool>,
    /// Enables the sandbox console (`/console/`, docs/console.md) and its request log; at least
    /// 16 characters.
    pub console_token: Option<String>,
    /// Serves the console to clients that are not on loopback too (default false).
    pub console_public: Option<bool>,
    /// The request log keeps at most this many rows (default 100,000).
    pub request_log_rows: Option<u64>,
    /// The request log keeps nothing older than this many days (default 7).
    pub request_log_days: Option<u32>,
}

/// One `[[app]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppEntry {
    /// `app_id`.
    pub app_id: String,
    /// Path of the app public key (PEM or bare base64): public-key mode.
    pub app_public_key: Option<String>,
    /// Path of the app's public key certificate (PEM): certificate mode, instead of
    /// `app_public_key`.
    pub app_cert: Option<String>,
    /// The app's own account.
    pub merchant_user_id: String,
    /// Display name.
    pub name: Option<String>,
    /// The app's application gateway (应用网关): where fund.trans messages
    /// (`alipay.fund.trans.order.changed`) are POSTed. Without it, no messages.
    pub message_url: Option<String>,
    /// The app's AES key for interface content encryption, base64 (the text itself, not a
    /// file: Alipay's console shows it as one line). Without it, encrypted requests are refused.
    pub encrypt_key: Option<String>,
}

/// One `[[user]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    /// `2088…`.
    pub user_id: String,
    /// E-mail or phone.
    pub logon_id: String,
    /// Opening balance, `"1000.00"`.
    pub balance: String,
    /// Cashier password (default `111111`).
    pub password: Option<String>,
    /// Real name (optional): a fund.trans payee's `payee_info.name` must match it.
    pub real_name: Option<String>,
}

/// A loaded, checked configuration.
#[derive(Debug)]
pub struct Config {
    /// Listen address.
    pub listen: String,
    /// The HTTPS listener's address, when one is configured.
    pub listen_tls: Option<String>,
    /// `tls_cert` and `tls_key`, loaded, with the certificate's path (for the banner).
    pub tls: Option<(hongbao_gateway::tls::TlsConfig, PathBuf)>,
    /// The database the gateway keeps its ledger in.
    pub database: Database,
    /// The gateway key.
    pub gateway_key: PrivateKey,
    /// Certificate mode's gateway side, when configured.
    pub certs: Option<GatewayCerts>,
    /// Paths of `gateway_cert` and `root_cert` as configured (for the banner).
    pub cert_paths: Option<(PathBuf, PathBuf)>,
    /// Apps.
    pub apps: Vec<hongbao_gateway::App>,
    /// Users.
    pub users: Vec<hongbao_store::SandboxUser>,
    /// Default expiry of funded packets.
    pub packet_expiry_default_ms: i64,
    /// The sandbox clock control's token; `None` keeps it off.
    pub sandbox_clock_token: Option<String>,
    /// `[sandbox] list_users`: the payer pages list the sandbox accounts.
    pub sandbox_list_users: bool,
    /// The sandbox console's token; `None` keeps the console and the request log off.
    pub console_token: Option<String>,
    /// Serve the console to non-loopback clients too.
    pub console_public: bool,
    /// How much of the request log is kept.
    pub request_log_retention: hongbao_store::Retention,
    /// Where `/metrics` is served; `None`: metrics off (nothing recorded).
    pub metrics_listen: Option<String>,
    /// The notify destination policy.
    pub destinations: hongbao_gateway::destination::DestinationPolicy,
    /// The gateway's limits (defaults, with `[limits]` applied).
    pub limits: hongbao_gateway::Limits,
}

/// Where the ledger lives, as `database` (or `HONGBAO_DATABASE`) says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Database {
    /// An SQLite file (relative paths resolved against the config's folder): one process.
    Sqlite(PathBuf),
    /// A PostgreSQL URL: any number of processes on one database.
    Postgres(String),
}

impl Database {
    /// The URL `hongbao_store::open` takes.
    pub fn url(&self) -> String {
        match self {
            Database::Sqlite(path) => format!("sqlite://{}", path.display()),
            Database::Postgres(url) => url.clone(),
        }
    }
}

/// Shows the database without its password, for banners and error messages.
impl std::fmt::Display for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(path) => write!(f, "{}", path.display()),
            Database::Postgres(url) => {
                let Some((scheme, rest)) = url.split_once("://") else { return f.write_str(url) };
                match rest.rsplit_once('@') {
                    Some((user_info, host)) => {
                        let user = user_info.split(':').next().unwrap_or("");
                        let hidden = if user_info.contains(':') { ":***" } else { "" };
                        write!(f, "{scheme}://{user}{hidden}@{host}")
                    }
                    None => f.write_str(url),
                }
            }
        }
    }
}

/// Default listen address.
pub const LISTEN_DEFAULT: &str = "127.0.0.1:9999";
/// Default sandbox password.
pub const PASSWORD_DEFAULT: &str = "111111";

fn is_user_id(text: &str) -> bool {
    text.len() == 16 && text.starts_with("2088") && text.bytes().all(|b| b.is_ascii_digit())
}

fn read_key_text(base: &Path, path: &str, what: &str) -> Result<String> {
    let full = base.join(path);
    std::fs::read_to_string(&full)
        .with_context(|| format!("{what}: cannot read {}", full.display()))
}

/// Warns when a private key file is readable by group or others.
fn warn_if_loose(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(file = %path.display(), "private key file is readable by group or others; chmod 600 it");
            }
        }
    }
}

/// Loads and checks `path`.
pub fn load(path: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config {}", path.display()))?;
    let file: ConfigFile = toml::from_str(&text)
        .map_err(|err| anyhow!("config {}: {}", path.display(), err.message()))?;
    let base = path.parent().unwrap_or(Path::new(".")).to_owned();
    resolve(file, &base).with_context(|| format!("config {}", path.display()))
}

/// Checks a parsed file; relative paths are resolved against `base`.
pub fn resolve(mut file: ConfigFile, base: &Path) -> Result<Config> {
    let user_entries = std::mem::take(&mut file.users);
    let app_entries = std::mem::take(&mut file.apps);
    let listen = std::env::var("HONGBAO_LISTEN")
        .ok()
        .or(file.listen.clone())
        .unwrap_or_else(|| LISTEN_DEFAULT.to_owned());
    let listen_tls = std::env::var("HONGBAO_LISTEN_TLS")
        .ok()
        .or(file.listen_tls.clone())
        .filter(|listen| !listen.is_empty());
    let tls = tls_files(&file, base)?;
    let database = std::env::var("HONGBAO_DATABASE")
        .ok()
        .or(file.database.clone())
        .unwrap_or_else(|| "sqlite://hongbao.db".to_owned());
    let database = match database.strip_prefix("sqlite://") {
        Some(rest) if !rest.is_empty() => Database::Sqlite(base.join(rest)),
        _ if database.starts_with("postgres://") || database.starts_with("postgresql://") => {
            Database::Postgres(database)
        }
        _ => bail!("database: {database:?} is neither sqlite://PATH nor postgres://…"),
    };
    let key_text = read_key_text(base, &file.gateway_private_key, "gateway_private_key")?;
    warn_if_loose(&base.join(&file.gateway_private_key));
    let gateway_key = PrivateKey::from_text(&key_text)
        .map_err(|err| anyhow!("gateway_private_key {}: {err}", file.gateway_private_key))?;
    let now_s = chrono::Utc::now().timestamp();
    let certs = gateway_certs(&file, base, &gateway_key, now_s)?;
    let cert_paths = match (&file.gateway_cert, &file.root_cert) {
        (Some(gateway_cert), Some(root_cert)) => {
            Some((base.join(gateway_cert), base.join(root_cert)))
        }
        _ => None,
    };

    let destinations = destination_policy(file.notify.take().unwrap_or_default())?;
    let limits = limits(file.limits.take().unwrap_or_default())?;
    let mut users = Vec::new();
    let mut user_ids = HashSet::new();
    let mut issued = Fen::ZERO;
    let mut logon_ids = HashSet::new();
    for user in user_entries {
        if !is_user_id(&user.user_id) {
            bail!("[[user]] user_id {:?} is not 2088 followed by 12 digits", user.user_id);
        }
        if !user_ids.insert(user.user_id.clone()) {
            bail!("[[user]] user_id {} appears twice", user.user_id);
        }
        if user.logon_id.trim().is_empty() || !logon_ids.insert(user.logon_id.clone()) {
            bail!("[[user]] logon_id {:?} is empty or appears twice", user.logon_id);
        }
        let balance = Fen::parse_non_negative(&user.balance)
            .map_err(|err| anyhow!("[[user]] {} balance: {err}", user.user_id))?;
        // The opening balances are issued from one account: their total must be a balance.
        issued = issued.checked_add(balance).ok_or_else(|| {
            anyhow!(
                "[[user]] opening balances add up to more than {} (the most the issuance account can hold); lower them",
                Fen::from_fen(i64::MAX)
            )
        })?;
        users.push(hongbao_store::SandboxUser {
            user_id: user.user_id,
            logon_id: user.logon_id,
            password: user.password.unwrap_or_else(|| PASSWORD_DEFAULT.to_owned()),
            opening_balance: balance,
            real_name: user.real_name.filter(|name| !name.trim().is_empty()),
        });
    }

    let mut apps = Vec::new();
    let mut app_ids = HashSet::new();
    for app in app_entries {
        if app.app_id.trim().is_empty() || app.app_id.len() > 32 {
            bail!("[[app]] app_id {:?} must be 1 to 32 characters", app.app_id);
        }
        if !app_ids.insert(app.app_id.clone()) {
            bail!("[[app]] app_id {} appears twice", app.app_id);
        }
        if !user_ids.contains(&app.merchant_user_id) {
            bail!(
                "[[app]] {} merchant_user_id {} is not a [[user]]",
                app.app_id,
                app.merchant_user_id
            );
        }
        let credential = app_credential(&app, base, certs.as_ref(), &file, now_s)?;
        if let Some(url) = &app.message_url {
            let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
            if !scheme_ok || url.len() > 256 || url.chars().any(|c| c.is_whitespace()) {
                bail!("[[app]] {} message_url {url:?} is not an http(s) URL of at most 256 characters", app.app_id);
            }
            if let Err(refused) = destinations.check_url(url) {
                bail!("[[app]] {} message_url {url:?} {refused}", app.app_id);
            }
        }
        let encrypt_key = match &app.encrypt_key {
            None => None,
            Some(text) => Some(
                EncryptKey::from_base64(text)
                    .map_err(|err| anyhow!("[[app]] {} encrypt_key {err}", app.app_id))?,
            ),
        };
        apps.push(hongbao_gateway::App {
            name: app.name.unwrap_or_else(|| format!("App {}", app.app_id)),
            app_id: app.app_id,
            credential,
            merchant_user_id: app.merchant_user_id,
            message_url: app.message_url,
            encrypt_key,
        });
    }
    if apps.is_empty() {
        bail!("no [[app]] is configured");
    }
    let packet_expiry_default_ms = match file.packet_expiry_default.as_deref() {
        None => 48 * 3_600_000,
        Some(text) => {
            let minutes = hongbao_protocol::biz::parse_duration_minutes(text, 366 * 24 * 60)
                .ok_or_else(|| {
                    anyhow!("packet_expiry_default {text:?} is not a whole number of m, h or d")
                })?;
            i64::from(minutes) * 60_000
        }
    };
    let sandbox = file.sandbox.unwrap_or_default();
    let sandbox_list_users = sandbox.list_users.unwrap_or(false);
    let sandbox_clock_token = sandbox.clock_token;
    if sandbox_clock_token.as_deref().is_some_and(|token| token.len() < 16) {
        bail!("[sandbox] clock_token must be at least 16 characters");
    }
    let console_token = sandbox.console_token;
    if console_token.as_deref().is_some_and(|token| {
        token.chars().count() < hongbao_gateway::console::TOKEN_CHARS_MIN
            || !token.chars().all(|c| c.is_ascii_alphanumeric() || "-_.~".contains(c))
    }) {
        bail!(
            "[sandbox] console_token must be at least {} characters of A-Z, a-z, 0-9, -, _, . or ~ (it travels in a URL and a cookie)",
            hongbao_gateway::console::TOKEN_CHARS_MIN
        );
    }
    let defaults = hongbao_store::Retention::default();
    let request_log_retention = hongbao_store::Retention {
        rows_max: match sandbox.request_log_rows {
            Some(0) => bail!("[sandbox] request_log_rows must be at least 1"),
            Some(rows) => rows,
            None => defaults.rows_max,
        },
        age_max_ms: match sandbox.request_log_days {
            Some(0) => bail!("[sandbox] request_log_days must be at least 1"),
            Some(days) if days > 3_660 => bail!("[sandbox] request_log_days must be at most 3660"),
            Some(days) => i64::from(days) * 24 * 3_600_000,
            None => defaults.age_max_ms,
        },
    };
    let metrics_listen = std::env::var("HONGBAO_METRICS_LISTEN")
        .ok()
        .or(file.metrics.and_then(|metrics| metrics.listen))
        .filter(|listen| !listen.is_empty());
    Ok(Config {
        listen,
        listen_tls,
        tls,
        database,
        gateway_key,
        certs,
        cert_paths,
        apps,
        users,
        packet_expiry_default_ms,
        sandbox_clock_token,
        sandbox_list_users,
        console_token,
        console_public: sandbox.console_public.unwrap_or(false),
        request_log_retention,
        metrics_listen,
        destinations,
        limits,
    })
}

/// `tls_cert` and `tls_key`: both or neither.
fn tls_files(
    file: &ConfigFile,
    base: &Path,
) -> Result<Option<(hongbao_gateway::tls::TlsConfig, PathBuf)>> {
    let (cert, key) = match (&file.tls_cert, &file.tls_key) {
        (None, None) => return Ok(None),
        (Some(cert), Some(key)) => (base.join(cert), base.join(key)),
        _ => bail!("tls_cert and tls_key go together: set both or neither"),
    };
    let cert_pem = std::fs::read(&cert)
        .with_context(|| format!("tls_cert: cannot read {}", cert.display()))?;
    let key_pem =
        std::fs::read(&key).with_context(|| format!("tls_key: cannot read {}", key.display()))?;
    warn_if_loose(&key);
    let config = hongbao_gateway::tls::TlsConfig::from_pem(&cert_pem, &key_pem)
        .map_err(|err| anyhow!("tls_cert {} / tls_key {}: {err}", cert.display(), key.display()))?;
    Ok(Some((config, cert)))
}

/// `[notify]` as a policy; a range that is not CIDR stops start-up.
fn destination_policy(
    entry: NotifyEntry,
) -> Result<hongbao_gateway::destination::DestinationPolicy> {
    let ranges = |list: &[String], key: &str| -> Result<Vec<ipnet::IpNet>> {
        list.iter()
            .map(|text| {
                text.trim().parse().map_err(|_| {
                    anyhow!("[notify] {key} {text:?} is not a CIDR range (e.g. \"10.0.0.0/8\", \"::1/128\")")
                })
            })
            .collect()
    };
    let allow = ranges(&entry.allow, "allow")?;
    let deny = ranges(&entry.deny, "deny")?;
    Ok(hongbao_gateway::destination::DestinationPolicy::new(&allow, &deny))
}

/// The gateway's limits with `[limits]` applied.
fn limits(entry: LimitsEntry) -> Result<hongbao_gateway::Limits> {
    let mut limits = hongbao_gateway::Limits::default();
    if let Some(text) = entry.body_timeout {
        let seconds = text
            .strip_suffix('s')
            .and_then(|n| n.parse::<u64>().ok())
            .or_else(|| text.strip_suffix('m').and_then(|n| n.parse::<u64>().ok()).map(|m| m * 60))
            .filter(|s| (1..=600).contains(s))
            .ok_or_else(|| {
                anyhow!("[limits] body_timeout {text:?} is not whole seconds or minutes between 1s and 10m (e.g. \"15s\")")
            })?;
        limits.body_read_timeout = std::time::Duration::from_secs(seconds);
    }
    if let Some(entries) = entry.signature_cache {
        if entries > 1_000_000 {
            bail!(
                "[limits] signature_cache {entries} is over 1000000 entries (about 400 bytes each)"
            );
        }
        limits.signature_cache_entries = entries;
    }
    Ok(limits)
}

/// A certificate file's text, loaded; `what` names the key for the error line.
pub fn read_certificate(base: &Path, path: &str, what: &str) -> Result<Certificate> {
    let text = read_key_text(base, path, what)?;
    Certificate::from_pem(&text).map_err(|err| anyhow!("{what} {path}: {err}"))
}

/// `gateway_cert`, `root_cert` and `gateway_cert_previous`: both or neither of the first two;
/// the certificate must certify the gateway key and chain to the bundle, valid now.
fn gateway_certs(
    file: &ConfigFile,
    base: &Path,
    gateway_key: &PrivateKey,
    now_s: i64,
) -> Result<Option<GatewayCerts>> {
    let (gateway_cert_path, root_path) = match (&file.gateway_cert, &file.root_cert) {
        (None, None) => {
            if file.gateway_cert_previous.is_some() {
                bail!("gateway_cert_previous needs gateway_cert and root_cert");
            }
            return Ok(None);
        }
        (Some(_), None) => {
            bail!("gateway_cert is set but root_cert is not: certificate mode needs both")
        }
        (None, Some(_)) => {
            bail!("root_cert is set but gateway_cert is not: certificate mode needs both")
        }
        (Some(cert), Some(root)) => (cert, root),
    };
    let root_text = read_key_text(base, root_path, "root_cert")?;
    let root =
        RootBundle::from_pem(&root_text).map_err(|err| anyhow!("root_cert {root_path}: {err}"))?;
    let signing = read_certificate(base, gateway_cert_path, "gateway_cert")?;
    let certified =
        signing.public_key().map_err(|err| anyhow!("gateway_cert {gateway_cert_path}: {err}"))?;
    if certified != gateway_key.public_key()? {
        bail!(
            "gateway_cert {gateway_cert_path} does not certify the public half of gateway_private_key {}",
            file.gateway_private_key
        );
    }
    root.verify(&signing, now_s).map_err(|err| {
        anyhow!("gateway_cert {gateway_cert_path} does not chain to root_cert {root_path}: {err}")
    })?;
    let mut previous = Vec::new();
    if let Some(folder) = &file.gateway_cert_previous {
        let dir = base.join(folder);
        if dir.exists() {
            let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
                .with_context(|| format!("gateway_cert_previous: cannot read {}", dir.display()))?
                .filter_map(|entry| entry.ok().map(|entry| entry.path()))
                .filter(|path| path.extension().is_some_and(|ext| ext == "crt"))
                .collect();
            paths.sort();
            for path in paths {
                let shown = path.display().to_string();
                previous.push(read_certificate(base, &shown, "gateway_cert_previous")?);
            }
        }
    }
    let certs = GatewayCerts::new(root, signing, &previous)
        .map_err(|err| anyhow!("gateway_cert {gateway_cert_path}: {err}"))?;
    Ok(Some(certs))
}

/// An `[[app]]`'s `app_public_key` or `app_cert` (exactly one); a certificate must chain to
/// `root_cert` and be valid now.
fn app_credential(
    app: &AppEntry,
    base: &Path,
    certs: Option<&GatewayCerts>,
    file: &ConfigFile,
    now_s: i64,
) -> Result<AppCredential> {
    let app_id = &app.app_id;
    match (&app.app_public_key, &app.app_cert) {
        (Some(_), Some(_)) => {
            bail!("[[app]] {app_id} has both app_public_key and app_cert: give one")
        }
        (None, None) => bail!("[[app]] {app_id} has neither app_public_key nor app_cert"),
        (Some(path), None) => {
            let what = format!("[[app]] {app_id} app_public_key");
            let key_text = read_key_text(base, path, &what)?;
            let key =
                PublicKey::from_text(&key_text).map_err(|err| anyhow!("{what} {path}: {err}"))?;
            Ok(AppCredential::PublicKey(key))
        }
        (None, Some(path)) => {
            let what = format!("[[app]] {app_id} app_cert");
            let Some(certs) = certs else {
                bail!("{what} {path}: certificate mode needs gateway_cert and root_cert");
            };
            let cert = read_certificate(base, path, &what)?;
            let root_path = file.root_cert.as_deref().unwrap_or_default();
            certs.root().verify(&cert, now_s).map_err(|err| {
                anyhow!("{what} {path} does not chain to root_cert {root_path} or is not valid now: {err}")
            })?;
            let cert = AppCertificate::new(cert).map_err(|err| anyhow!("{what} {path}: {err}"))?;
            Ok(AppCredential::Certificate(cert))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_with(dir: &Path, extra: &str) -> Result<Config> {
        config_of_app(dir, "", extra)
    }

    fn config_of_app(dir: &Path, app_extra: &str, extra: &str) -> Result<Config> {
        let key = PrivateKey::generate(1024)?;
        std::fs::write(dir.join("gateway.pem"), key.to_pkcs8_pem()?)?;
        std::fs::write(dir.join("app.pem"), key.public_key()?.to_pem()?)?;
        let text = format!(
            "gateway_private_key = \"gateway.pem\"\n\
             [[app]]\napp_id = \"2021000000000001\"\napp_public_key = \"app.pem\"\nmerchant_user_id = \"2088100000000001\"\n{app_extra}\
             [[user]]\nuser_id = \"2088100000000001\"\nlogon_id = \"m@example.com\"\nbalance = \"1.00\"\n{extra}"
        );
        let path = dir.join("hongbao.toml");
        std::fs::write(&path, text)?;
        load(&path)
    }

    #[test]
    fn opening_balances_that_overflow_together_stop_start_up_in_one_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Each is an amount a balance may hold (about 10^18 fen); ten of them overflow i64.
        let huge = "9999999999999999.99";
        let extra: String = (0..10)
            .map(|i| {
                format!(
                    "[[user]]\nuser_id = \"20881000000001{i:02}\"\nlogon_id = \"u{i}@example.com\"\nbalance = \"{huge}\"\n"
                )
            })
            .collect();
        let err = config_with(dir.path(), &extra).expect_err("refused");
        let text = format!("{err:#}");
        assert!(text.contains("opening balances add up to more than"), "{text}");
        assert!(!text.contains('\n'), "one line: {text}");
    }

    #[test]
    fn the_notify_policy_is_read_and_checked_against_message_urls() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = config_with(
            dir.path(),
            "[notify]\ndeny = [\"127.0.0.0/8\"]\nallow = [\"127.0.0.2/32\"]\n",
        )
        .expect("valid");
        assert!(!config.destinations.allows("127.0.0.1".parse().expect("ip")));
        assert!(config.destinations.allows("127.0.0.2".parse().expect("ip")));
        assert!(!config.destinations.allows("169.254.169.254".parse().expect("ip")));
        let err = config_with(dir.path(), "[notify]\ndeny = [\"10.0.0.0/33\"]\n").expect_err("bad");
        assert!(format!("{err:#}").contains("[notify] deny \"10.0.0.0/33\" is not a CIDR range"));
        // A message_url at a refused literal address stops start-up.
        let err = config_of_app(dir.path(), "message_url = \"http://169.254.169.254/x\"\n", "")
            .expect_err("refused");
        assert!(format!("{err:#}").contains("message_url"), "{err:#}");
    }

    #[test]
    fn the_body_timeout_is_configurable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = config_with(dir.path(), "[limits]\nbody_timeout = \"2s\"\n").expect("valid");
        assert_eq!(config.limits.body_read_timeout, std::time::Duration::from_secs(2));
        assert!(config_with(dir.path(), "[limits]\nbody_timeout = \"0s\"\n").is_err());
    }

    #[test]
    fn the_signature_memo_is_configurable_and_bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let default = config_with(dir.path(), "").expect("valid");
        assert_eq!(default.limits.signature_cache_entries, 4096);
        let off = config_with(dir.path(), "[limits]\nsignature_cache = 0\n").expect("valid");
        assert_eq!(off.limits.signature_cache_entries, 0);
        assert!(config_with(dir.path(), "[limits]\nsignature_cache = 2000000\n").is_err());
        assert!(config_with(dir.path(), "[limits]\nsignature_cache = -1\n").is_err());
    }

    #[test]
    fn database_display_hides_the_password() {
        let shown = Database::Postgres("postgres://hb:secret@db:5432/hongbao".into()).to_string();
        assert_eq!(shown, "postgres://hb:***@db:5432/hongbao");
        let shown = Database::Postgres("postgres://hb@db/hongbao".into()).to_string();
        assert_eq!(shown, "postgres://hb@db/hongbao");
    }
}
