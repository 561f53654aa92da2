//! Logs and metrics of the binary: the tracing subscriber (`HONGBAO_LOG` filter,
//! `HONGBAO_LOG_FORMAT=json` for collectors) and the Prometheus recorder behind `[metrics]`.
//!
//! The recorder is installed only when `[metrics] listen` is set; without it every `counter!` and
//! `histogram!` in the gateway and the store is a no-op (metrics off).

use anyhow::{Context, Result};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::time::Duration;

/// How often the exporter folds recorded histogram samples into its buckets; between scrapes
/// samples would otherwise pile up in memory.
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Installs the global subscriber: text lines on stderr, or one JSON object per line with
/// `HONGBAO_LOG_FORMAT=json` (the event's fields at the top level, the span's, such as
/// `request_id`, under `span`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("HONGBAO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    use std::io::IsTerminal;
    // Colours only for a person at a terminal, never into a file or a collector.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    if std::env::var("HONGBAO_LOG_FORMAT").is_ok_and(|format| format.eq_ignore_ascii_case("json")) {
        builder.json().flatten_event(true).with_current_span(true).with_span_list(false).init();
    } else {
        builder.init();
    }
}

/// Installs the Prometheus recorder (durations and batch sizes as histograms with fixed
/// buckets) and describes the metrics.
pub fn install_metrics() -> Result<PrometheusHandle> {
    use hongbao_gateway::observe::{BATCH_SIZE_BUCKETS, DURATION_BUCKETS};
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &DURATION_BUCKETS)
        .and_then(|b| {
            b.set_buckets_for_metric(
                Matcher::Full("hongbao_store_batch_size".into()),
                &BATCH_SIZE_BUCKETS,
            )
        })
        .context("metrics buckets")?
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    hongbao_gateway::observe::describe_metrics();
    Ok(handle)
}
