//! `hongbao`: the server (`serve`), the client commands (`client_cmd`: pay, disburse, refund,
//! query, page-url, app-string, verify-notify), the sandbox CA (`cert_cmd`: issue, rotate) and
//! the operator's (`notify`, `clock`, `backup`, `verify`).
//!
//! Glue only: configuration, start-up, printing. The gateway, ledger and store crates do the work.

mod backup_cmd;
mod cert_cmd;
mod client_cmd;
mod clock_cmd;
mod config;
mod console_cmd;
mod demo;
mod notify_cmd;
mod telemetry;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use hongbao_gateway::{Gateway, SandboxClock, SystemClock};
use hongbao_store::Store;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "hongbao",
    version,
    about = "Alipay-compatible cash red packet (收发现金红包) server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum NotifyCommand {
    /// Lists notifications with their attempts, newest first.
    List {
        /// Only this app's.
        #[arg(long)]
        app: Option<String>,
        /// Only PENDING, DELIVERED or FAILED.
        #[arg(long)]
        status: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Delivers a notification again (same notify_id), starting a new round of attempts.
    Resend {
        /// The notify_id.
        notify_id: String,
    },
}

#[derive(Subcommand)]
enum ConsoleCommand {
    /// Prints the console's login URL (it carries the token: open it in a browser on this
    /// machine, the cookie then keeps you logged in).
    Url,
}

#[derive(Subcommand)]
enum InjectCommand {
    /// The next N calls of a method (from an app) answer CODE SUB_CODE, optionally after the
    /// money moved (the operation succeeds, the merchant sees the failure).
    Call {
        /// The method, e.g. alipay.fund.coupon.order.disburse.
        #[arg(long)]
        method: String,
        /// Only this app's calls (default: any app).
        #[arg(long)]
        app_id: Option<String>,
        /// The answer's code: 20000 or 40004.
        #[arg(long)]
        code: Option<String>,
        /// The answer's sub_code, e.g. isp.unknow-error, SYSTEM_ERROR, MONEY_NOT_ENOUGH.
        #[arg(long)]
        sub_code: Option<String>,
        /// How many calls.
        #[arg(long, default_value_t = 1)]
        count: u32,
        /// Run the method (the money moves), then answer the injected code.
        #[arg(long)]
        after_money_moved: bool,
        /// Answer this many milliseconds late.
        #[arg(long, default_value_t = 0)]
        delay_ms: u64,
    },
    /// Notifications to URLs starting with a prefix: delay each attempt, or fail N unsent.
    Notify {
        /// The URL prefix.
        #[arg(long)]
        url_prefix: String,
        /// Delay before each attempt, in milliseconds.
        #[arg(long, default_value_t = 0)]
        delay_ms: u64,
        /// Fail this many attempts without sending them.
        #[arg(long, default_value_t = 0)]
        fail: u32,
    },
    /// Lists the rules in force.
    List,
    /// Removes a rule.
    Remove {
        /// The rule's id (from list).
        id: u64,
    },
}

#[derive(Subcommand)]
enum ClockCommand {
    /// Prints the server's business time.
    Now,
    /// Moves the server's business time forward: whole minutes, hours or days (90m, 2h, 3d).
    Advance {
        /// How far.
        by: String,
    },
}

#[derive(Subcommand)]
enum CertCommand {
    /// Issues an app certificate (certificate mode) from the sandbox CA, as Alipay's console
    /// does: from a CSR made with Alipay's key tool, or from the app's public key.
    Issue {
        /// The app the certificate is for.
        #[arg(long)]
        app_id: String,
        /// A PEM certificate signing request (its subject is kept).
        #[arg(long, conflicts_with = "public_key", required_unless_present = "public_key")]
        csr: Option<PathBuf>,
        /// The app's public key (PEM or bare base64).
        #[arg(long)]
        public_key: Option<PathBuf>,
        /// Where to write the certificate (PEM).
        #[arg(long)]
        out: PathBuf,
        /// Validity in days (a negative number issues an already expired certificate, to
        /// see isv.app-cert-expired).
        #[arg(long, default_value_t = demo::CERT_DAYS_DEFAULT, allow_negative_numbers = true)]
        days: i64,
    },
    /// Gives the gateway key a new certificate (a new alipay_cert_sn), keeping the old one
    /// downloadable; restart `hongbao serve` to sign with it.
    Rotate {
        /// Validity in days.
        #[arg(long, default_value_t = demo::CERT_DAYS_DEFAULT)]
        days: i64,
    },
}

#[derive(Subcommand)]
enum Command {
    /// The sandbox CA of a configuration (its folder's certs/sandbox_ca.crt and key).
    Cert {
        /// A TOML configuration file (default: the demo's).
        #[arg(long, global = true)]
        config: Option<PathBuf>,
        /// The demo's data folder (ignored with --config).
        #[arg(long, default_value = "hongbao-data", global = true)]
        data_dir: PathBuf,
        #[command(subcommand)]
        command: CertCommand,
    },
    /// The sandbox clock of a running server (needs `[sandbox] clock_token` in its config).
    Clock {
        /// The server (its /gateway.do URL or base URL).
        #[arg(long, default_value = "http://127.0.0.1:9999", global = true)]
        url: String,
        /// The server's `[sandbox] clock_token`.
        #[arg(long, env = "HONGBAO_SANDBOX_TOKEN", global = true, hide_env_values = true)]
        token: Option<String>,
        /// Print one JSON object instead of a table.
        #[arg(long, global = true)]
        json: bool,
        #[command(subcommand)]
        command: ClockCommand,
    },
    /// The notify outbox of a configuration: attempts, last errors, resends.
    Notify {
        /// A TOML configuration file (default: the demo's).
        #[arg(long, global = true)]
        config: Option<PathBuf>,
        /// The demo's data folder (ignored with --config).
        #[arg(long, default_value = "hongbao-data", global = true)]
        data_dir: PathBuf,
        #[command(subcommand)]
        command: NotifyCommand,
    },
    /// The sandbox console of a configuration's server (needs `[sandbox] console_token`).
    Console {
        /// A TOML configuration file (default: the demo's).
        #[arg(long, global = true)]
        config: Option<PathBuf>,
        /// The demo's data folder (ignored with --config).
        #[arg(long, default_value = "hongbao-data", global = true)]
        data_dir: PathBuf,
        /// The server's base URL (default: from the configuration's listen).
        #[arg(long, global = true)]
        url: Option<String>,
        #[command(subcommand)]
        command: ConsoleCommand,
    },
    /// Makes a configuration's running server go wrong on purpose (sandbox console fault rules).
    Inject {
        /// A TOML configuration file (default: the demo's).
        #[arg(long, global = true)]
        config: Option<PathBuf>,
        /// The demo's data folder (ignored with --config).
        #[arg(long, default_value = "hongbao-data", global = true)]
        data_dir: PathBuf,
        /// The server's base URL (default: from the configuration's listen).
        #[arg(long, global = true)]
        url: Option<String>,
        #[command(subcommand)]
        command: InjectCommand,
    },
    /// Copies a running server's SQLite database to a new file, consistently (online backup).
    Backup {
        /// The backup file to write (must not exist).
        #[arg(long)]
        to: PathBuf,
        /// A TOML configuration file (default: the demo's).
        #[arg(long)]
        config: Option<PathBuf>,
        /// The demo's data folder (ignored with --config).
        #[arg(long, default_value = "hongbao-data")]
        data_dir: PathBuf,
    },
    /// Opens a backup read-only, checks it and its money invariants, prints the totals.
    Verify {
        /// The backup file.
        file: PathBuf,
    },
    /// Runs the gateway. Without --config: the demo (data folder, keys, app and users made once).
    Serve {
        /// A TOML configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// The demo's data folder (ignored with --config).
        #[arg(long, default_value = "hongbao-data")]
        data_dir: PathBuf,
        /// Overrides `listen` (e.g. 127.0.0.1:0 for any free port).
        #[arg(long)]
        listen: Option<String>,
        /// Overrides `listen_tls`: an HTTPS listener too (e.g. 127.0.0.1:443), with `tls_cert`
        /// and `tls_key` (the demo has them, issued by its sandbox CA).
        #[arg(long)]
        listen_tls: Option<String>,
    },
    #[command(flatten)]
    Client(client_cmd::ClientCommand),
}

fn main() {
    telemetry::init_logging();
    // Usage errors exit 1, not clap's 2: the client commands use 2 for business failures.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            std::process::exit(if err.use_stderr() { client_cmd::EXIT_USAGE } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Serve { config, data_dir, listen, listen_tls } => {
            serve(config, data_dir, listen, listen_tls)
        }
        Command::Notify { config, data_dir, command } => notify(config, data_dir, command),
        Command::Cert { config, data_dir, command } => {
            let config = config.unwrap_or_else(|| data_dir.join("hongbao.toml"));
            match command {
                CertCommand::Issue { app_id, csr, public_key, out, days } => cert_cmd::issue(
                    &config,
                    &app_id,
                    csr.as_deref(),
                    public_key.as_deref(),
                    &out,
                    days,
                ),
                CertCommand::Rotate { days } => cert_cmd::rotate(&config, days),
            }
        }
        Command::Client(command) => std::process::exit(client_cmd::run(command)),
        Command::Backup { to, config, data_dir } => {
            let config_path = config.unwrap_or_else(|| data_dir.join("hongbao.toml"));
            config::load(&config_path).and_then(|config| backup_cmd::backup(&config.database, &to))
        }
        Command::Verify { file } => backup_cmd::verify(&file),
        Command::Console { config, data_dir, url, command: ConsoleCommand::Url } => {
            config::load(&config.unwrap_or_else(|| data_dir.join("hongbao.toml")))
                .and_then(|config| console_cmd::url(&config, url.as_deref()))
        }
        Command::Inject { config, data_dir, url, command } => {
            let inject = match command {
                InjectCommand::Call {
                    method,
                    app_id,
                    code,
                    sub_code,
                    count,
                    after_money_moved,
                    delay_ms,
                } => console_cmd::Inject::Call {
                    method,
                    app_id,
                    code,
                    sub_code,
                    count,
                    after_money_moved,
                    delay_ms,
                },
                InjectCommand::Notify { url_prefix, delay_ms, fail } => {
                    console_cmd::Inject::Notify { url_prefix, delay_ms, fail }
                }
                InjectCommand::List => console_cmd::Inject::List,
                InjectCommand::Remove { id } => console_cmd::Inject::Remove { id },
            };
            config::load(&config.unwrap_or_else(|| data_dir.join("hongbao.toml")))
                .and_then(|config| console_cmd::inject(&config, url.as_deref(), inject))
        }
        Command::Clock { url, token, json, command } => match token {
            None => Err(anyhow::anyhow!(
                "give the server's [sandbox] clock_token with --token or HONGBAO_SANDBOX_TOKEN"
            )),
            Some(token) => match command {
                ClockCommand::Now => clock_cmd::run(&url, &token, None, json),
                ClockCommand::Advance { by } => clock_cmd::run(&url, &token, Some(&by), json),
            },
        },
    };
    if let Err(err) = result {
        eprintln!("hongbao: {err:#}");
        std::process::exit(1);
    }
}

fn serve(
    config_path: Option<PathBuf>,
    data_dir: PathBuf,
    listen: Option<String>,
    listen_tls: Option<String>,
) -> Result<()> {
    let demo = config_path.is_none();
    let config_path = match config_path {
        Some(path) => path,
        None => demo::ensure(&data_dir)?,
    };
    let mut config = config::load(&config_path)?;
    if let Some(listen) = listen {
        config.listen = listen;
    }
    if let Some(listen_tls) = listen_tls {
        config.listen_tls = Some(listen_tls);
    }
    let tls = match (&config.listen_tls, &config.tls) {
        (None, _) => None,
        (Some(listen_tls), Some((tls, _))) => Some((listen_tls.clone(), tls.clone())),
        (Some(_), None) => bail!(
            "config {}: listen_tls needs tls_cert and tls_key (the demo's are certs/gateway_tls.crt and keys/gateway_tls.key)",
            config_path.display()
        ),
    };
    // Before the store opens: its writer threads record into whatever recorder is installed.
    let metrics =
        config.metrics_listen.as_ref().map(|_| telemetry::install_metrics()).transpose()?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        if let config::Database::Sqlite(path) = &config.database {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
        }
        let store = hongbao_store::open(&config.database.url())
            .await
            .with_context(|| format!("database {}", config.database))?;
        // The OS clock, moved forward only by the sandbox clock control (when enabled).
        let clock = Arc::new(SandboxClock::default());
        let now_ms = hongbao_gateway::Clock::now_ms(clock.as_ref());
        for user in &config.users {
            store.ensure_user(user.clone(), now_ms).await?;
        }
        let listener = tokio::net::TcpListener::bind(&config.listen).await.with_context(|| {
            format!("cannot listen on {}{}", config.listen, privileged_hint(&config.listen))
        })?;
        let address = listener.local_addr()?;
        let metrics_listener = match &config.metrics_listen {
            Some(listen) => Some(
                tokio::net::TcpListener::bind(listen)
                    .await
                    .with_context(|| format!("[metrics] cannot listen on {listen}"))?,
            ),
            None => None,
        };
        let metrics_address = metrics_listener.as_ref().map(|l| l.local_addr()).transpose()?;
        let tls_listener = match tls {
            Some((listen_tls, tls)) => {
                let listener =
                    tokio::net::TcpListener::bind(&listen_tls).await.with_context(|| {
                        format!(
                            "cannot listen on {listen_tls} (listen_tls){}",
                            privileged_hint(&listen_tls)
                        )
                    })?;
                Some((listener, tls))
            }
            None => None,
        };
        let tls_address = tls_listener.as_ref().map(|(l, _)| l.local_addr()).transpose()?;
        // The demo's client profile names the address actually bound (a `--listen :0` too).
        let profile = if demo {
            let aes = config
                .apps
                .iter()
                .find(|app| app.app_id == demo::DEMO_APP_ID)
                .and_then(|app| app.encrypt_key.as_ref())
                .map(|key| key.to_base64());
            Some(demo::write_client_profile(&data_dir, &address.to_string(), aes.as_deref())?)
        } else {
            None
        };
        let banner = Banner {
            config: &config,
            config_path: &config_path,
            address,
            metrics_address,
            tls_address,
            demo,
            profile,
        };
        print_banner(&banner, store.as_ref()).await?;
        let apps = config
            .apps
            .iter()
            .map(|app| (app.app_id.clone(), app.clone()))
            .collect::<HashMap<_, _>>();
        let mut gateway = Gateway::new(apps, config.gateway_key.clone(), store, clock);
        gateway.policy.packet_expiry_default_ms = config.packet_expiry_default_ms;
        gateway.sandbox.clock_token = config.sandbox_clock_token.clone();
        if config.sandbox_list_users {
            gateway.sandbox.login_users = config
                .users
                .iter()
                .map(|user| (user.user_id.clone(), user.logon_id.clone()))
                .collect();
        }
        gateway.sandbox.console_token = config.console_token.clone();
        gateway.sandbox.console_public = config.console_public;
        // The request log is the console's: written only while the console is on.
        let request_log = config.console_token.is_some().then(|| {
            let (log, receiver) =
                hongbao_gateway::reqlog::RequestLog::on(config.request_log_retention);
            gateway.request_log = log;
            receiver
        });
        gateway.certs = config.certs.clone();
        gateway.destinations = Arc::new(config.destinations.clone());
        gateway.set_limits(config.limits.clone());
        let limits = gateway.limits.clone();
        let gateway = Arc::new(gateway);
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let stopping = Arc::clone(&gateway);
        tokio::spawn(async move {
            shutdown_signal().await;
            tracing::info!("stop requested: no new connections; finishing the requests in flight");
            stopping.health.stopping.store(true, std::sync::atomic::Ordering::Release);
            let _ = stop.send(true);
        });
        let metrics_server = match (metrics_listener, metrics) {
            (Some(listener), Some(handle)) => {
                let upkeep = handle.clone();
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(telemetry::UPKEEP_INTERVAL).await;
                        upkeep.run_upkeep();
                    }
                });
                let render: hongbao_gateway::observe::Render = Arc::new(move || handle.render());
                let router = hongbao_gateway::observe::metrics_router(Arc::clone(&gateway), render);
                Some(tokio::spawn(hongbao_gateway::server::serve(
                    listener,
                    router,
                    limits.clone(),
                    stop_requested(stopped.clone()),
                )))
            }
            _ => None,
        };
        let tls_server = tls_listener.map(|(listener, tls)| {
            tokio::spawn(hongbao_gateway::server::serve_tls(
                listener,
                tls,
                gateway.router(),
                limits.clone(),
                stop_requested(stopped.clone()),
            ))
        });
        let (stop_workers, workers_stopped) = tokio::sync::watch::channel(false);
        let scheduler = tokio::spawn(hongbao_gateway::scheduler::run(
            Arc::clone(&gateway),
            std::time::Duration::from_millis(500),
            workers_stopped.clone(),
        ));
        let request_logger = request_log.map(|receiver| {
            tokio::spawn(hongbao_gateway::reqlog::run(
                Arc::clone(&gateway),
                receiver,
                workers_stopped.clone(),
            ))
        });
        let notifier = tokio::spawn(hongbao_gateway::notify::run(
            Arc::clone(&gateway),
            hongbao_gateway::notify::NotifyConfig::default(),
            workers_stopped,
        ));
        hongbao_gateway::server::serve(listener, gateway.router(), limits, stop_requested(stopped))
            .await?;
        // Every request has been answered (or cut off after the grace period), and nothing is
        // answered before its commit: the writers hold nothing anyone waits for. The workers end
        // after their current round and delivery attempts.
        let _ = stop_workers.send(true);
        let _ = notifier.await;
        let _ = scheduler.await;
        if let Some(request_logger) = request_logger {
            // What was queued before the stop is written.
            let _ = request_logger.await;
        }
        if let Some(metrics_server) = metrics_server {
            let _ = metrics_server.await;
        }
        if let Some(tls_server) = tls_server {
            let _ = tls_server.await;
        }
        tracing::info!("stopped");
        Ok(())
    })
}

fn notify(config_path: Option<PathBuf>, data_dir: PathBuf, command: NotifyCommand) -> Result<()> {
    let config_path = config_path.unwrap_or_else(|| data_dir.join("hongbao.toml"));
    let config = config::load(&config_path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let store = hongbao_store::open(&config.database.url())
            .await
            .with_context(|| format!("database {}", config.database))?;
        match command {
            NotifyCommand::List { app, status, limit, json } => {
                notify_cmd::list(store.as_ref(), app, status, limit, json).await
            }
            NotifyCommand::Resend { notify_id } => {
                let now_ms = hongbao_gateway::Clock::now_ms(&SystemClock);
                notify_cmd::resend(store.as_ref(), &notify_id, now_ms).await
            }
        }
    })
}

/// Resolves once `stopped` turns true (or its sender is gone).
async fn stop_requested(mut stopped: tokio::sync::watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Why binding a port below 1024 fails, when it does: Linux reserves them for root unless
/// `net.ipv4.ip_unprivileged_port_start` says otherwise.
fn privileged_hint(listen: &str) -> &'static str {
    let port = listen.rsplit_once(':').and_then(|(_, port)| port.parse::<u16>().ok());
    match port {
        Some(port) if port != 0 && port < 1024 => {
            " (ports below 1024 need root, or sudo sysctl net.ipv4.ip_unprivileged_port_start=80)"
        }
        _ => "",
    }
}

/// What the start-up banner shows.
struct Banner<'a> {
    config: &'a config::Config,
    config_path: &'a std::path::Path,
    address: std::net::SocketAddr,
    metrics_address: Option<std::net::SocketAddr>,
    tls_address: Option<std::net::SocketAddr>,
    demo: bool,
    /// The demo's client profile, when it wrote one.
    profile: Option<PathBuf>,
}

async fn print_banner(banner: &Banner<'_>, store: &dyn Store) -> Result<()> {
    let Banner { config, config_path, address, metrics_address, tls_address, demo, .. } = *banner;
    let base = config_path.parent().unwrap_or(std::path::Path::new("."));
    println!("hongbao gateway listening on http://{address}/gateway.do");
    // The second line, so scripts (and ServerProcess) find it without parsing the rest.
    if let Some(metrics_address) = metrics_address {
        println!("hongbao metrics on http://{metrics_address}/metrics");
    }
    if let (Some(tls_address), Some((_, cert))) = (tls_address, &config.tls) {
        println!(
            "hongbao gateway also on https://{tls_address}/gateway.do (certificate {}{})",
            cert.display(),
            if demo {
                ", issued by the sandbox CA certs/sandbox_ca.crt: trust it in your client"
            } else {
                ""
            }
        );
    }
    println!("  config:   {}", config_path.display());
    println!("  database: {}", config.database);
    if demo {
        let keys = base.join("keys");
        println!(
            "  gateway public key (\"alipay public key\" for your SDK): {}",
            keys.join("gateway_public.pem").display()
        );
        println!("      bare base64: {}", keys.join("gateway_public.txt").display());
        println!(
            "  app private key (PKCS#1, Python/Node/PHP): {}",
            keys.join("app_private.pem").display()
        );
        println!(
            "  app private key (PKCS#8, Java/.NET):       {}",
            keys.join("app_private_pkcs8.pem").display()
        );
    }
    for app in &config.apps {
        let mode = match app.certificate() {
            Some(cert) => format!("certificate mode, app_cert_sn {}", cert.certificate.sn()),
            None => "public-key mode".to_owned(),
        };
        println!(
            "  app_id {} ({}), merchant account {}, {mode}",
            app.app_id, app.name, app.merchant_user_id
        );
        // The demo's keys are the user's to copy into an SDK; a configured key stays unprinted.
        match &app.encrypt_key {
            Some(key) if demo => {
                println!(
                    "    AES content encryption key (encryptKey / encrypt_key): {}",
                    key.to_base64()
                )
            }
            Some(key) => println!("    AES content encryption on (AES-{})", key.bits()),
            None => {}
        }
    }
    if let (Some(certs), Some((gateway_cert, root_cert))) = (&config.certs, &config.cert_paths) {
        println!("  certificate mode (公钥证书模式), the files for your SDK:");
        if demo {
            let (cert, key) = demo::cert_app_files(base);
            println!("    app certificate      (appCertPath):          {}", cert.display());
            println!("    app private key      (privateKey):           {}", key.display());
        }
        println!(
            "    Alipay certificate   (alipayPublicCertPath): {}  alipay_cert_sn {}",
            gateway_cert.display(),
            certs.signing().sn()
        );
        println!(
            "    Alipay root bundle   (alipayRootCertPath):   {}  alipay_root_cert_sn {}",
            root_cert.display(),
            certs.root().sn()
        );
    }
    println!("  payer pages: page.pay opens the cashier (http://{address}/cashier/…);");
    println!(
        "      app.pay order strings open in the wallet: http://{address}/wallet?order_string=…"
    );
    let passwords: std::collections::BTreeSet<&str> =
        config.users.iter().map(|user| user.password.as_str()).collect();
    match passwords.iter().collect::<Vec<_>>().as_slice() {
        [one] => println!("  sandbox users (cashier password {one}):"),
        _ => println!("  sandbox users (cashier passwords in the config):"),
    }
    for user in &config.users {
        let balance =
            store.balance(&user.user_id).await?.map(|b| b.to_string()).unwrap_or_default();
        println!("    {}  {:<24} balance {}", user.user_id, user.logon_id, balance);
    }
    match &config.sandbox_clock_token {
        Some(token) => println!(
            "  sandbox clock control: on, loopback only: hongbao clock advance 2h --url http://{address} --token {token}"
        ),
        None => println!("  sandbox clock control: off ([sandbox] clock_token in the config turns it on)"),
    }
    match &config.console_token {
        Some(token) => println!(
            "  sandbox console: {} (request log, notifications, money, faults, clock; docs/console.md)",
            console_cmd::login_url(&format!("http://{address}"), token)
        ),
        None => println!("  sandbox console: off ([sandbox] console_token in the config turns it on)"),
    }
    if let Some(profile) = &banner.profile {
        println!(
            "  CLI client profile: {} (e.g. hongbao query --profile {} --out-order-no …); client-cert.toml: the certificate-mode app, client-aes.toml: encrypted calls",
            profile.display(),
            profile.display()
        );
    }
    println!(
        "  every call is logged below, one line each (HONGBAO_LOG=warn for fewer, debug for more)"
    );
    Ok(())
}
