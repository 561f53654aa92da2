//! `hongbao console url` and `hongbao inject …`: the sandbox console of a configuration's
//! running server (docs/console.md). `url` prints the browser's login URL; `inject` adds, lists
//! and removes fault rules through `/console/api/rules` with the configuration's
//! `[sandbox] console_token`, on the same machine (the console answers loopback clients).

use crate::config::Config;
use anyhow::{anyhow, bail, Context, Result};
use serde_json::{json, Value};

/// The console's login URL on `base` (`http://host:port`).
pub fn login_url(base: &str, token: &str) -> String {
    format!("{}/console/?token={token}", base.trim_end_matches('/'))
}

/// `http://<listen>`, with an unspecified address replaced by loopback (where the console
/// answers).
pub fn base_url(config: &Config) -> String {
    let listen = config.listen.as_str();
    let local = if let Some(port) = listen.strip_prefix("0.0.0.0:") {
        format!("127.0.0.1:{port}")
    } else if let Some(port) = listen.strip_prefix("[::]:") {
        format!("[::1]:{port}")
    } else {
        listen.to_owned()
    };
    format!("http://{local}")
}

fn token(config: &Config) -> Result<&str> {
    config.console_token.as_deref().ok_or_else(|| {
        anyhow!("the sandbox console is off: set [sandbox] console_token in the configuration")
    })
}

/// Prints the login URL of the configuration's server.
pub fn url(config: &Config, base: Option<&str>) -> Result<()> {
    let base = base.map(str::to_owned).unwrap_or_else(|| base_url(config));
    println!("{}", login_url(&base, token(config)?));
    Ok(())
}

/// What `hongbao inject` does.
pub enum Inject {
    /// A call rule.
    Call {
        /// The method's name.
        method: String,
        /// Only this app's calls.
        app_id: Option<String>,
        /// The answer's code.
        code: Option<String>,
        /// Its sub_code.
        sub_code: Option<String>,
        /// How many calls.
        count: u32,
        /// Run the method first.
        after_money_moved: bool,
        /// Delay before the answer.
        delay_ms: u64,
    },
    /// A notify endpoint rule.
    Notify {
        /// URLs starting with this.
        url_prefix: String,
        /// Delay before each attempt.
        delay_ms: u64,
        /// Attempts to fail unsent.
        fail: u32,
    },
    /// The rules in force.
    List,
    /// Removes a rule.
    Remove {
        /// Its id.
        id: u64,
    },
}

/// Sends an injection command to the configuration's server and prints its JSON answer.
pub fn inject(config: &Config, base: Option<&str>, command: Inject) -> Result<()> {
    let base = base.map(str::to_owned).unwrap_or_else(|| base_url(config));
    let token = token(config)?.to_owned();
    let (method, path, body) = match command {
        Inject::Call { method, app_id, code, sub_code, count, after_money_moved, delay_ms } => (
            reqwest::Method::POST,
            "/console/api/rules/calls".to_owned(),
            Some(json!({
                "method": method, "app_id": app_id, "code": code, "sub_code": sub_code,
                "count": count, "after_money_moved": after_money_moved, "delay_ms": delay_ms,
            })),
        ),
        Inject::Notify { url_prefix, delay_ms, fail } => (
            reqwest::Method::POST,
            "/console/api/rules/notify".to_owned(),
            Some(json!({"url_prefix": url_prefix, "delay_ms": delay_ms, "fail": fail})),
        ),
        Inject::List => (reqwest::Method::GET, "/console/api/rules".to_owned(), None),
        Inject::Remove { id } => {
            (reqwest::Method::DELETE, format!("/console/api/rules/{id}"), None)
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let client =
            reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build()?;
        let mut request = client.request(method, format!("{base}{path}")).bearer_auth(&token);
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        let response = request.send().await.with_context(|| format!("cannot reach {base}"))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            let error = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_owned))
                .unwrap_or(text);
            bail!("the server answered {status}: {error}");
        }
        println!("{text}");
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_login_url_names_the_console_and_the_token() {
        assert_eq!(
            login_url("http://127.0.0.1:9999/", "0123456789abcdef"),
            "http://127.0.0.1:9999/console/?token=0123456789abcdef"
        );
    }
}
