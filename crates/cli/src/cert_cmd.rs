//! `hongbao cert`: the sandbox CA at work, as Alipay's console is for merchants.
//!
//! - `issue` certifies an app's key (from a CSR made with Alipay's key tool, or a public key
//!   file) with the sandbox CA of a configuration's folder;
//! - `rotate` gives the gateway key a new certificate (new serial, so a new `alipay_cert_sn`),
//!   keeps the old one in `gateway_cert_previous` and writes the new one where `gateway_cert`
//!   points. Rotation takes effect when `hongbao serve` restarts (a config change + restart, as
//!   any key change): certificate-mode SDKs then meet an SN they do not know, download the new
//!   certificate with `alipay.open.app.alipaycert.download` and check it against the root. The
//!   key stays the same, so public-key-mode apps (which hold the gateway public key) are not
//!   affected.

use crate::config::{read_certificate, ConfigFile};
use crate::demo::{load_ca, subject, validity};
use anyhow::{anyhow, bail, Context, Result};
use hongbao_sign::{PrivateKey, PublicKey};
use std::path::Path;

fn read_config(config_path: &Path) -> Result<ConfigFile> {
    let text = std::fs::read_to_string(config_path)
        .with_context(|| format!("cannot read config {}", config_path.display()))?;
    toml::from_str(&text)
        .map_err(|err| anyhow!("config {}: {}", config_path.display(), err.message()))
}

fn folder(config_path: &Path) -> &Path {
    config_path.parent().unwrap_or(Path::new("."))
}

fn until(not_after_unix: i64) -> String {
    hongbao_protocol::display::format_beijing(not_after_unix.saturating_mul(1000))
}

/// `hongbao cert issue`.
pub fn issue(
    config_path: &Path,
    app_id: &str,
    csr: Option<&Path>,
    public_key: Option<&Path>,
    out: &Path,
    days: i64,
) -> Result<()> {
    if app_id.trim().is_empty() || app_id.len() > 32 {
        bail!("--app-id {app_id:?} must be 1 to 32 characters");
    }
    let ca = load_ca(folder(config_path))?;
    let (from, to) = validity(days);
    let cert = match (csr, public_key) {
        (Some(csr), None) => {
            let text = std::fs::read_to_string(csr)
                .with_context(|| format!("--csr: cannot read {}", csr.display()))?;
            ca.issue_for_csr(&text, from, to)
                .map_err(|err| anyhow!("--csr {}: {err}", csr.display()))?
        }
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("--public-key: cannot read {}", path.display()))?;
            let key = PublicKey::from_text(&text)
                .map_err(|err| anyhow!("--public-key {}: {err}", path.display()))?;
            ca.issue(subject(app_id), &key, from, to)?
        }
        _ => bail!("give --csr FILE or --public-key FILE"),
    };
    std::fs::write(out, cert.to_pem()?)
        .with_context(|| format!("--out: cannot write {}", out.display()))?;
    println!("issued {} for app {app_id} (subject {})", out.display(), cert.subject());
    println!("  app_cert_sn {}, valid until {} (Beijing time)", cert.sn(), until(to));
    println!("  to use it, add to {}:", config_path.display());
    println!(
        "    [[app]]\n    app_id = \"{app_id}\"\n    app_cert = \"{}\"\n    merchant_user_id = \"2088…\"",
        out.display()
    );
    Ok(())
}

/// `hongbao cert rotate`.
pub fn rotate(config_path: &Path, days: i64) -> Result<()> {
    let file = read_config(config_path)?;
    let base = folder(config_path);
    let Some(gateway_cert) = &file.gateway_cert else {
        bail!(
            "config {}: no gateway_cert to rotate (certificate mode is off)",
            config_path.display()
        );
    };
    let old = read_certificate(base, gateway_cert, "gateway_cert")?;
    let key_path = base.join(&file.gateway_private_key);
    let key_text = std::fs::read_to_string(&key_path)
        .with_context(|| format!("gateway_private_key: cannot read {}", key_path.display()))?;
    let key = PrivateKey::from_text(&key_text)
        .map_err(|err| anyhow!("gateway_private_key {}: {err}", file.gateway_private_key))?;
    let ca = load_ca(base)?;
    let (from, to) = validity(days);
    let new = ca.issue(subject("hongbao sandbox gateway"), &key.public_key()?, from, to)?;
    match &file.gateway_cert_previous {
        Some(previous) => {
            let dir = base.join(previous);
            std::fs::create_dir_all(&dir).with_context(|| {
                format!("gateway_cert_previous: cannot create {}", dir.display())
            })?;
            let kept = dir.join(format!("alipay_cert_{}.crt", old.sn()));
            std::fs::write(&kept, old.to_pem()?)
                .with_context(|| format!("cannot write {}", kept.display()))?;
            println!("kept the old certificate (still downloadable): {}", kept.display());
        }
        None => println!("no gateway_cert_previous folder: the old certificate is not kept"),
    }
    let path = base.join(gateway_cert);
    std::fs::write(&path, new.to_pem()?)
        .with_context(|| format!("gateway_cert: cannot write {}", path.display()))?;
    println!(
        "rotated {}: alipay_cert_sn {} -> {}, valid until {} (Beijing time)",
        path.display(),
        old.sn(),
        new.sn(),
        until(to)
    );
    println!("restart `hongbao serve` to sign with it; certificate-mode SDKs download it by SN");
    Ok(())
}
