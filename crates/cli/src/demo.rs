//! The zero-setup demo: `hongbao serve` with no `--config` makes (once) a data folder with a
//! gateway key pair, one demo app with its key pair, demo users and a config file, and reuses it
//! on every later run.

use anyhow::{Context, Result};
use hongbao_sign::PrivateKey;
use std::path::{Path, PathBuf};

/// The demo app's id.
pub const DEMO_APP_ID: &str = "2021000000000001";
/// The demo merchant account (the app's own account, the agreement.pay payer).
pub const DEMO_MERCHANT_USER_ID: &str = "2088102000000001";

const DEMO_USERS: &[(&str, &str, &str)] = &[
    (DEMO_MERCHANT_USER_ID, "merchant@example.com", "1000000.00"),
    ("2088102000000002", "alice@example.com", "1000.00"),
    ("2088102000000003", "bob@example.com", "1000.00"),
    ("2088102000000004", "13800138000", "500.00"),
];

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

    let mut config = String::from(
        "# hongbao demo configuration, made by the first `hongbao serve`; edit freely.\n\
         listen = \"127.0.0.1:9999\"\n\
         database = \"sqlite://hongbao.db\"\n\
         gateway_private_key = \"keys/gateway_private.pem\"\n\n",
    );
    config.push_str(&format!(
        "[[app]]\napp_id = \"{DEMO_APP_ID}\"\nname = \"hongbao demo shop\"\n\
         app_public_key = \"keys/app_public.pem\"\nmerchant_user_id = \"{DEMO_MERCHANT_USER_ID}\"\n"
    ));
    for (user_id, logon_id, balance) in DEMO_USERS {
        config.push_str(&format!(
            "\n[[user]]\nuser_id = \"{user_id}\"\nlogon_id = \"{logon_id}\"\nbalance = \"{balance}\"\npassword = \"111111\"\n"
        ));
    }
    std::fs::write(&config_path, config)
        .with_context(|| format!("cannot write {}", config_path.display()))?;
    Ok(config_path)
}
