//! `hongbao clock now|advance`: the sandbox clock control of a running server, so a merchant's
//! test suite can expire packets and walk the notify schedule in seconds. The server must have
//! `[sandbox] clock_token` set; the command runs on the same machine (loopback only).

use anyhow::{bail, Context, Result};

/// Asks the server at `url` for its business time, or moves it forward by `by` (`90m`, `2h`, `3d`).
pub fn run(url: &str, token: &str, by: Option<&str>) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let client =
            reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build()?;
        let base = url.trim_end_matches('/').trim_end_matches("/gateway.do");
        let request = match by {
            Some(by) => {
                let body: hongbao_protocol::Params = [("by", by)].into_iter().collect();
                client
                    .post(format!("{base}/sandbox/clock/advance"))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body.to_form(hongbao_protocol::Charset::Utf8).unwrap_or_default())
            }
            None => client.get(format!("{base}/sandbox/clock")),
        };
        let response = request
            .bearer_auth(token)
            .send()
            .await
            .with_context(|| format!("cannot reach {base}"))?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if !status.is_success() {
            bail!("the server answered {status}: {body}");
        }
        println!("{body}");
        Ok(())
    })
}
