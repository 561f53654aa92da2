//! The zero-setup demo: `hongbao serve` with no `--config` makes (once) a data folder with a
//! gateway key pair, a public-key demo app with its key pair, demo users and a config file, and
//! reuses it on every later run.
//!
//! It also sets up certificate mode the way Alipay's console does for a merchant: a sandbox CA
//! (an RSA root, and an EC root beside it in the bundle as real bundles have), the gateway
//! key's certificate and a certificate-mode demo app, each file where an SDK's configuration
//! points (`certs/`). `hongbao cert issue` and `hongbao cert rotate` use the same CA.
//!
//! Each demo app gets its own AES key for interface content encryption (`encrypt_key` in the
//! config), as Alipay's console issues one per app; the banner prints them for the SDKs'
//! `encryptKey` / `encrypt_key`.

use anyhow::{Context, Result};
use hongbao_sign::cert::ec_root_pem;
use hongbao_sign::{Authority, Certificate, EncryptKey, PrivateKey, Subject};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

/// The demo app's id (public-key mode).
pub const DEMO_APP_ID: &str = "2021000000000001";
/// The certificate-mode demo app's id.
pub const DEMO_CERT_APP_ID: &str = "2021000000000003";
/// The sandbox CA's certificate and key, in the data folder.
pub const CA_CERT: &str = "certs/sandbox_ca.crt";
/// The CA key (never leaves the data folder).
pub const CA_KEY: &str = "keys/sandbox_ca_private.pem";
/// How long the sandbox issues certificates for: five years, as Alipay's app certificates.
pub const CERT_DAYS_DEFAULT: i64 = 5 * 365;
/// How long the sandbox roots last.
const ROOT_DAYS: i64 = 20 * 365;

/// A subject in the shape of Alipay's (`CN=…,OU=…,O=…,C=CN`; python-alipay-sdk needs all four).
pub fn subject(common_name: &str) -> Subject<'_> {
    Subject {
        common_name,
        organizational_unit: "Certification Authority",
        organization: "hongbao sandbox",
        country: "CN",
    }
}

/// The certificate-mode demo app's certificate and private key (PKCS#1), in `base`.
pub fn cert_app_files(base: &Path) -> (PathBuf, PathBuf) {
    (
        base.join(format!("certs/app_{DEMO_CERT_APP_ID}.crt")),
        base.join(format!("keys/app_{DEMO_CERT_APP_ID}_private.pem")),
    )
}

/// The sandbox CA of a data folder.
pub fn load_ca(data_dir: &Path) -> Result<Authority> {
    let cert_path = data_dir.join(CA_CERT);
    let key_path = data_dir.join(CA_KEY);
    let cert_text = std::fs::read_to_string(&cert_path)
        .with_context(|| format!("the sandbox CA: cannot read {}", cert_path.display()))?;
    let key_text = std::fs::read_to_string(&key_path)
        .with_context(|| format!("the sandbox CA: cannot read {}", key_path.display()))?;
    let cert = Certificate::from_pem(&cert_text)
        .with_context(|| format!("the sandbox CA {}", cert_path.display()))?;
    let key = PrivateKey::from_text(&key_text)
        .with_context(|| format!("the sandbox CA key {}", key_path.display()))?;
    Ok(Authority::from_parts(cert, &key)?)
}

/// Now and `days` from now, Unix seconds; certificates start an hour early so that a client
/// clock a little behind still accepts them.
pub fn validity(days: i64) -> (i64, i64) {
    let now = chrono::Utc::now().timestamp();
    (now - 3600, now + days * 86_400)
}

fn write_certs(data_dir: &Path, gateway: &PrivateKey, app: &PrivateKey) -> Result<()> {
    let certs = data_dir.join("certs");
    std::fs::create_dir_all(certs.join("previous"))
        .with_context(|| format!("cannot create {}", certs.display()))?;
    let (from, to) = validity(ROOT_DAYS);
    let ca_key = PrivateKey::generate(2048)?;
    let ca = Authority::new_root(subject("hongbao Sandbox Root CA R1"), &ca_key, from, to)?;
    write_private(&data_dir.join(CA_KEY), &ca_key.to_pkcs8_pem()?)?;
    let ca_pem = ca.certificate().to_pem()?;
    std::fs::write(data_dir.join(CA_CERT), &ca_pem)?;
    // The bundle holds an EC root too, as Alipay's does (an SM2 root): the root SN skips it.
    let ec = ec_root_pem(subject("hongbao Sandbox EC Root CA"), from, to)?;
    std::fs::write(
        certs.join("alipay_root.crt"),
        format!(
            "{}

{ec}",
            ca_pem.trim_end()
        ),
    )?;
    let (from, to) = validity(CERT_DAYS_DEFAULT);
    let gateway_cert =
        ca.issue(subject("hongbao sandbox gateway"), &gateway.public_key()?, from, to)?;
    std::fs::write(certs.join("alipay_cert.crt"), gateway_cert.to_pem()?)?;
    let app_cert = ca.issue(subject(DEMO_CERT_APP_ID), &app.public_key()?, from, to)?;
    let (cert_path, key_path) = cert_app_files(data_dir);
    std::fs::write(cert_path, app_cert.to_pem()?)?;
    write_private(&key_path, &app.to_pkcs1_pem()?)?;
    write_private(
        &data_dir.join(format!("keys/app_{DEMO_CERT_APP_ID}_private_pkcs8.pem")),
        &app.to_pkcs8_pem()?,
    )?;
    // The HTTPS listener's certificate, from the same CA: a client that trusts the sandbox CA
    // reaches hongbao under Alipay's own gateway host names through a hosts-file entry.
    let tls_key = PrivateKey::generate(2048)?;
    let ips = [IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST)];
    let tls_cert = ca.issue_tls_server(TLS_NAMES, &ips, &tls_key.public_key()?, from, to)?;
    std::fs::write(data_dir.join(TLS_CERT), tls_cert.to_pem()?)?;
    write_private(&data_dir.join(TLS_KEY), &tls_key.to_pkcs8_pem()?)?;
    Ok(())
}
/// The host names the demo's TLS certificate is for: loopback's, and Alipay's gateways'
/// (production, and the sandbox's new and old names), so that a client keeps its https URL.
pub const TLS_NAMES: &[&str] = &[
    "localhost",
    "openapi.alipay.com",
    "openapi-sandbox.dl.alipaydev.com",
    "openapi.alipaydev.com",
];
/// The demo's TLS certificate and key, in the data folder.
pub const TLS_CERT: &str = "certs/gateway_tls.crt";
/// See [`TLS_CERT`].
pub const TLS_KEY: &str = "keys/gateway_tls.key";

/// The demo merchant account (the app's own account, the agreement.pay payer).
pub const DEMO_MERCHANT_USER_ID: &str = "2088102000000001";

/// The demo users: id, logon id, opening balance, real name (fund.trans payee names are
/// checked against it).
const DEMO_USERS: &[(&str, &str, &str, &str)] = &[
    (DEMO_MERCHANT_USER_ID, "merchant@example.com", "1000000.00", "红包商户"),
    ("2088102000000002", "alice@example.com", "1000.00", "王小红"),
    ("2088102000000003", "bob@example.com", "1000.00", "李小明"),
    ("2088102000000004", "13800138000", "500.00", "张三"),
];
/// The demo users' cashier password.
pub const DEMO_PASSWORD: &str = "111111";
/// The client profile the demo writes for the CLI's client commands (`hongbao pay …`).
pub const CLIENT_PROFILE: &str = "client.toml";

/// A token for the sandbox controls: 16 bytes from OpenSSL's CSPRNG, as 32 hex characters.
fn random_token() -> Result<String> {
    let mut bytes = [0u8; 16];
    openssl::rand::rand_bytes(&mut bytes).context("no randomness for the sandbox token")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The profile of the demo's certificate-mode app.
pub const CLIENT_PROFILE_CERT: &str = "client-cert.toml";
/// The profile of the demo app with interface content encryption on.
pub const CLIENT_PROFILE_AES: &str = "client-aes.toml";

/// The CLI's client profile for the demo app (public-key mode), beside the config.
fn client_profile(listen: &str) -> String {
    format!(
        "# The demo app's client profile for `hongbao pay|disburse|refund|query|…` (made by the\n\
         # first `hongbao serve`). Key paths are relative to this file.\n\
         gateway = \"http://{listen}/gateway.do\"\n\
         app_id = \"{DEMO_APP_ID}\"\n\
         app_private_key = \"keys/app_private.pem\"\n\
         alipay_public_key = \"keys/gateway_public.pem\"\n\
         charset = \"utf-8\"\n\
         sign_type = \"RSA2\"\n"
    )
}

/// Writes the demo's client profile for the address the server listens on (rewritten at every
/// demo start, so that it always names the running server).
///
/// Beside it, `client-cert.toml` (the certificate-mode app) and, when the demo app has an AES
/// key, `client-aes.toml` (the same app with interface content encryption on).
pub fn write_client_profile(
    data_dir: &Path,
    listen: &str,
    aes_key: Option<&str>,
) -> Result<PathBuf> {
    let write = |name: &str, text: String| {
        let path = data_dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
        Ok::<PathBuf, anyhow::Error>(path)
    };
    let plain = client_profile(listen);
    let cert = format!(
        "# The demo's certificate-mode app (公钥证书模式): `hongbao pay --profile {CLIENT_PROFILE_CERT} …`.\n\
         gateway = \"http://{listen}/gateway.do\"\n\
         app_id = \"{DEMO_CERT_APP_ID}\"\n\
         app_private_key = \"keys/app_{DEMO_CERT_APP_ID}_private.pem\"\n\
         app_cert = \"certs/app_{DEMO_CERT_APP_ID}.crt\"\n\
         alipay_cert = \"certs/alipay_cert.crt\"\n\
         alipay_root_cert = \"certs/alipay_root.crt\"\n"
    );
    write(CLIENT_PROFILE_CERT, cert)?;
    if let Some(aes_key) = aes_key {
        let aes = format!(
            "{plain}# Interface content encryption (接口内容加密): encrypt_type=AES on every call.\n\
             encrypt_key = \"{aes_key}\"\n"
        );
        write(CLIENT_PROFILE_AES, aes)?;
    }
    write(CLIENT_PROFILE, plain)
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

/// Makes the demo folder unless it has a config already; returns the config path.
pub fn ensure(data_dir: &Path) -> Result<PathBuf> {
    let config_path = data_dir.join("hongbao.toml");
    if config_path.exists() {
        return Ok(config_path);
    }
    let keys = data_dir.join("keys");
    std::fs::create_dir_all(&keys).with_context(|| format!("cannot create {}", keys.display()))?;
    let gateway = PrivateKey::generate(2048)?;
    write_private(&keys.join("gateway_private.pem"), &gateway.to_pkcs8_pem()?)?;
    let gateway_public = gateway.public_key()?;
    std::fs::write(keys.join("gateway_public.pem"), gateway_public.to_pem()?)?;
    std::fs::write(keys.join("gateway_public.txt"), gateway_public.to_bare_base64()? + "\n")?;
    let app = PrivateKey::generate(2048)?;
    write_private(&keys.join("app_private.pem"), &app.to_pkcs1_pem()?)?;
    write_private(&keys.join("app_private_pkcs8.pem"), &app.to_pkcs8_pem()?)?;
    std::fs::write(keys.join("app_public.pem"), app.public_key()?.to_pem()?)?;
    let cert_app = PrivateKey::generate(2048)?;
    write_certs(data_dir, &gateway, &cert_app)?;

    let clock_token = random_token()?;
    let console_token = random_token()?;
    let mut config = String::from(
        "# hongbao demo configuration, made by the first `hongbao serve`; edit freely.\n\
         listen = \"127.0.0.1:9999\"\n\
         database = \"sqlite://hongbao.db\"\n\
         gateway_private_key = \"keys/gateway_private.pem\"\n\
         # Certificate mode (公钥证书模式): the gateway key's certificate, the root bundle, and\n\
         # where `hongbao cert rotate` keeps earlier gateway certificates.\n\
         gateway_cert = \"certs/alipay_cert.crt\"\n\
         root_cert = \"certs/alipay_root.crt\"\n\
         gateway_cert_previous = \"certs/previous\"\n\
         # HTTPS beside http (`hongbao serve --listen-tls 127.0.0.1:443`, or uncomment): the\n\
         # certificate is the sandbox CA's (certs/sandbox_ca.crt) for localhost, 127.0.0.1 and\n\
         # Alipay's gateway host names.\n\
         # listen_tls = \"127.0.0.1:443\"\n\
         tls_cert = \"certs/gateway_tls.crt\"\n\
         tls_key = \"keys/gateway_tls.key\"\n\n",
    );
    let aes = EncryptKey::generate()?.to_base64();
    let cert_aes = EncryptKey::generate()?.to_base64();
    config.push_str(&format!(
        "[[app]]\napp_id = \"{DEMO_APP_ID}\"\nname = \"hongbao demo shop\"\n\
         app_public_key = \"keys/app_public.pem\"\nmerchant_user_id = \"{DEMO_MERCHANT_USER_ID}\"\n\
         # Interface content encryption (接口内容加密): the app's AES key, for encrypt_type=AES calls.\n\
         encrypt_key = \"{aes}\"\n\n\
         # The same shop in certificate mode: app_cert instead of app_public_key.\n\
         [[app]]\napp_id = \"{DEMO_CERT_APP_ID}\"\nname = \"hongbao demo shop (certificate mode)\"\n\
         app_cert = \"certs/app_{DEMO_CERT_APP_ID}.crt\"\nmerchant_user_id = \"{DEMO_MERCHANT_USER_ID}\"\n\
         encrypt_key = \"{cert_aes}\"\n"
    ));
    for (user_id, logon_id, balance, real_name) in DEMO_USERS {
        config.push_str(&format!(
            "\n[[user]]\nuser_id = \"{user_id}\"\nlogon_id = \"{logon_id}\"\nbalance = \"{balance}\"\n\
             password = \"{DEMO_PASSWORD}\"\nreal_name = \"{real_name}\"\n"
        ));
    }
    config.push_str(&format!(
        "\n# The sandbox clock control (hongbao clock advance 2h --token …), loopback only.\n\
         [sandbox]\nclock_token = \"{clock_token}\"\n\
         # The cashier's and the wallet's login card list the sandbox accounts above.\n\
         list_users = true\n\
         # The sandbox console (hongbao console url prints its login URL), loopback only.\n\
         console_token = \"{console_token}\"\n"
    ));
    std::fs::write(&config_path, config)
        .with_context(|| format!("cannot write {}", config_path.display()))?;
    Ok(config_path)
}
