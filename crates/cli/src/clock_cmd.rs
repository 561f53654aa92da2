//! `hongbao clock now|advance`: the sandbox clock control of a running server, so a merchant's
//! test suite can expire packets and walk the notify schedule in seconds. The server must have
//! `[sandbox] clock_token` set; the command runs on the same machine (loopback only).

use anyhow::{bail, Context, Result};

/// Asks the server at `url` for its business time, or moves it forward by `by` (`90m`, `2h`, `3d`),
/// and prints the time as the client commands print (a table, or one JSON object with `json`).
pub fn run(url: &str, token: &str, by: Option<&str>, json: bool) -> Result<()> {
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
        let answer: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        if !status.is_success() {
            match answer.get("error").and_then(|e| e.as_str()) {
                Some(error) => bail!("the server answered {status}: {error}"),
                None => bail!("the server answered {status}: {body}"),
            }
        }
        let field = |name: &str| match answer.get(name) {
            Some(serde_json::Value::String(text)) => Some(text.clone()),
            Some(serde_json::Value::Number(number)) => Some(number.to_string()),
            _ => None,
        };
        let (Some(now), Some(now_ms)) = (field("now"), field("now_ms")) else {
            bail!("{base} did not answer with the clock's time: {body}");
        };
        let mut rows = vec![("now".to_owned(), now), ("now_ms".to_owned(), now_ms)];
        if let Some(by) = by {
            rows.insert(0, ("advanced_by".to_owned(), by.to_owned()));
        }
        crate::client_cmd::print_rows(&rows, json);
        Ok(())
    })
}
