//! TLS to PostgreSQL, as libpq understands the URL: `sslmode` (`disable`, `prefer`, `require`,
//! `verify-ca`, `verify-full`), `sslrootcert`, and `sslcert` / `sslkey` for client certificates,
//! through postgres-openssl (openssl is linked already, for signing).
//!
//! tokio-postgres knows only `disable`, `prefer` and `require`, and no file parameters, so the
//! TLS parameters are taken out of the URL here and turned into an openssl connector; the rest of
//! the URL goes to tokio-postgres unchanged. As in libpq:
//!
//! - no `sslmode` means `prefer`: TLS when the server offers it, else plain;
//! - `prefer` and `require` encrypt without checking the server's certificate, except that
//!   `require` with an `sslrootcert` checks the chain (libpq: "the same as verify-ca");
//! - `verify-ca` checks the chain against `sslrootcert` (`system`: the system's roots; none:
//!   `~/.postgresql/root.crt`), `verify-full` also checks the host name (or IP address) against
//!   the certificate;
//! - `allow` (plain first, TLS on refusal) is refused: it protects nothing that `prefer` does not.
//!
//! The pool, the group-commit writer and the scratch-database helper all connect through `parse`.

use crate::StoreError;
use openssl::ssl::{SslConnector, SslFiletype, SslMethod, SslVerifyMode};
use postgres_openssl::MakeTlsConnector;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use tokio_postgres::config::SslMode;

/// The TLS part of a URL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct TlsParams {
    mode: Option<String>,
    root_cert: Option<String>,
    cert: Option<String>,
    key: Option<String>,
}

/// How the server's certificate is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verify {
    /// Encrypt, check nothing (`prefer`, `require`).
    Nothing,
    /// The chain against the root certificates (`verify-ca`).
    Chain,
    /// The chain and the host name (`verify-full`).
    ChainAndHost,
}

/// The tokio-postgres configuration and the TLS connector a database URL names.
pub fn parse(url: &str) -> Result<(tokio_postgres::Config, MakeTlsConnector), StoreError> {
    let (rest, params) = split_tls_params(url)?;
    let mut config = tokio_postgres::Config::from_str(&rest)
        .map_err(|err| StoreError::unavailable(format!("bad PostgreSQL URL: {err}")))?;
    let mode = params.mode.as_deref().unwrap_or("prefer");
    let (ssl_mode, verify) = match mode {
        "disable" => (SslMode::Disable, Verify::Nothing),
        "prefer" => (SslMode::Prefer, Verify::Nothing),
        "require" if params.root_cert.is_some() => (SslMode::Require, Verify::Chain),
        "require" => (SslMode::Require, Verify::Nothing),
        "verify-ca" => (SslMode::Require, Verify::Chain),
        "verify-full" => (SslMode::Require, Verify::ChainAndHost),
        other => {
            return Err(StoreError::unavailable(format!(
                "sslmode={other} is not supported: use disable, prefer, require, verify-ca or verify-full"
            )))
        }
    };
    config.ssl_mode(ssl_mode);
    let connector = connector(&params, verify).map_err(|err| {
        StoreError::unavailable(format!("PostgreSQL TLS (sslmode={mode}): {err}"))
    })?;
    Ok((config, connector))
}

fn connector(params: &TlsParams, verify: Verify) -> Result<MakeTlsConnector, String> {
    let mut builder = SslConnector::builder(SslMethod::tls_client()).map_err(|e| e.to_string())?;
    if verify == Verify::Nothing {
        builder.set_verify(SslVerifyMode::NONE);
    } else {
        match params.root_cert.as_deref() {
            Some("system") => builder.set_default_verify_paths().map_err(|e| e.to_string())?,
            Some(path) => {
                builder.set_ca_file(path).map_err(|err| format!("sslrootcert {path}: {err}"))?
            }
            None => {
                let default = default_root_cert().ok_or_else(|| {
                    "no sslrootcert given and ~/.postgresql/root.crt does not exist".to_owned()
                })?;
                builder
                    .set_ca_file(&default)
                    .map_err(|err| format!("sslrootcert {}: {err}", default.display()))?;
            }
        }
        builder.set_verify(SslVerifyMode::PEER);
    }
    match (&params.cert, &params.key) {
        (Some(cert), Some(key)) => {
            builder
                .set_certificate_chain_file(cert)
                .map_err(|err| format!("sslcert {cert}: {err}"))?;
            builder
                .set_private_key_file(key, SslFiletype::PEM)
                .map_err(|err| format!("sslkey {key}: {err}"))?;
        }
        (None, None) => {}
        _ => return Err("sslcert and sslkey go together".into()),
    }
    let mut connector = MakeTlsConnector::new(builder.build());
    let check_host = verify == Verify::ChainAndHost;
    connector.set_callback(move |ssl, _domain| {
        ssl.set_verify_hostname(check_host);
        if !check_host && verify == Verify::Nothing {
            ssl.set_verify(SslVerifyMode::NONE);
        }
        Ok(())
    });
    Ok(connector)
}

fn default_root_cert() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    let path = Path::new(&home).join(".postgresql/root.crt");
    path.exists().then_some(path)
}

/// `url` without its TLS parameters, and those parameters (values percent-decoded).
fn split_tls_params(url: &str) -> Result<(String, TlsParams), StoreError> {
    let Some((head, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), TlsParams::default()));
    };
    let mut params = TlsParams::default();
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let slot = match key {
            "sslmode" => &mut params.mode,
            "sslrootcert" => &mut params.root_cert,
            "sslcert" => &mut params.cert,
            "sslkey" => &mut params.key,
            _ => {
                kept.push(pair);
                continue;
            }
        };
        *slot = Some(percent_decode(value).ok_or_else(|| {
            StoreError::unavailable(format!("bad PostgreSQL URL: {key} is not valid UTF-8"))
        })?);
    }
    let rest = if kept.is_empty() { head.to_owned() } else { format!("{head}?{}", kept.join("&")) };
    Ok((rest, params))
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        let hex = |at: usize| bytes.get(at).and_then(|b| (*b as char).to_digit(16));
        match (byte, hex(index + 1), hex(index + 2)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                index += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                index += 1;
            }
            _ => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_parameters_leave_the_url_and_the_rest_stays() {
        let (rest, params) = split_tls_params(
            "postgres://u@h:5/db?application_name=x&sslmode=verify-full&sslrootcert=%2Ftmp%2Fca%20dir%2Fca.crt",
        )
        .expect("parses");
        assert_eq!(rest, "postgres://u@h:5/db?application_name=x");
        assert_eq!(params.mode.as_deref(), Some("verify-full"));
        assert_eq!(params.root_cert.as_deref(), Some("/tmp/ca dir/ca.crt"));
        let (rest, params) = split_tls_params("postgres://u@h/db?sslmode=disable").expect("parses");
        assert_eq!((rest.as_str(), params.mode.as_deref()), ("postgres://u@h/db", Some("disable")));
    }

    #[test]
    fn every_libpq_mode_but_allow_is_understood() {
        for mode in ["disable", "prefer", "require"] {
            let (config, _) = parse(&format!("postgres://u@h/db?sslmode={mode}")).expect(mode);
            let expected = match mode {
                "disable" => SslMode::Disable,
                "prefer" => SslMode::Prefer,
                _ => SslMode::Require,
            };
            assert_eq!(config.get_ssl_mode(), expected, "{mode}");
        }
        let (config, _) = parse("postgres://u@h/db").expect("no sslmode");
        assert_eq!(config.get_ssl_mode(), SslMode::Prefer, "libpq's default is prefer");
        let refused = parse("postgres://u@h/db?sslmode=allow").err().map(|e| e.to_string());
        assert!(refused.is_some_and(|text| text.contains("sslmode=allow")));
        let missing = parse("postgres://u@h/db?sslmode=verify-ca&sslrootcert=/nonexistent/ca.crt")
            .err()
            .map(|e| e.to_string());
        assert!(missing.is_some_and(|text| text.contains("/nonexistent/ca.crt")));
    }
}
