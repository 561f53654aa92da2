//! The HTTP/1.1 server loop: keep-alive, header read timeout, a cap on open connections, the
//! bounds of every request body (`body`: deadline, cap by route, buffering budget) and graceful
//! shutdown, in clear or over TLS. Written on hyper directly because `axum::serve` exposes none
//! of these.

use crate::tls::TlsConfig;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting (the listener
/// closes) and lets open requests finish within `limits.shutdown_grace`.
pub async fn serve(
    listener: TcpListener,
    router: axum::Router,
    limits: crate::Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    run(listener, None, router, limits, shutdown).await
}

/// [`serve`] over TLS: each accepted connection's handshake runs in its own task, bounded by
/// the header read timeout, and counts against the connection cap like any connection.
pub async fn serve_tls(
    listener: TcpListener,
    tls: TlsConfig,
    router: axum::Router,
    limits: crate::Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    run(listener, Some(tls), router, limits, shutdown).await
}

async fn run(
    listener: TcpListener,
    tls: Option<TlsConfig>,
    router: axum::Router,
    limits: crate::Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.connections_max));
    let budget = crate::body::BodyBudget::new(limits.body_buffer_bytes_max);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout).keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        // The peer address rides in each request's extensions, and its body gets the bounds
        // every route shares. One small wrapper per connection: `Router::layer` here would
        // re-wrap every route for every connection, a cost that grows with the routes and shows
        // under 10,000 idle connections.
        let (limits_here, budget_here) = (limits.clone(), budget.clone());
        let service = TowerToHyperService::new(tower::util::MapRequest::new(
            router.clone(),
            move |request: http::Request<hyper::body::Incoming>| {
                let (mut head, body) = request.into_parts();
                head.extensions.insert(crate::sandbox::PeerAddr(peer));
                let cap = limits_here.body_cap(head.uri.path());
                let body = crate::body::BoundedBody::new(
                    body,
                    limits_here.body_read_timeout,
                    cap,
                    budget_here.clone(),
                );
                http::Request::from_parts(head, body)
            },
        ));
        let http = http.clone();
        let watcher = graceful.watcher();
        match tls.clone() {
            None => {
                tokio::spawn(async move {
                    connection(&http, watcher, stream, service).await;
                    drop(permit);
                });
            }
            Some(tls) => {
                let handshake_timeout = limits.header_read_timeout;
                tokio::spawn(async move {
                    match tokio::time::timeout(handshake_timeout, tls.accept(stream)).await {
                        Ok(Ok(stream)) => connection(&http, watcher, stream, service).await,
                        Ok(Err(err)) => {
                            tracing::debug!(%peer, error = %err, "TLS handshake failed")
                        }
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                    drop(permit);
                });
            }
        }
    }
    drop(listener);
    // Open requests get a bounded time to finish; idle keep-alive connections close at once.
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown()).await.is_err() {
        tracing::warn!(grace = ?limits.shutdown_grace, "requests still open after the grace period; closing them");
    }
    Ok(())
}

/// One connection's requests, in clear or over TLS, watched for graceful shutdown.
async fn connection<S, T>(
    http: &hyper::server::conn::http1::Builder,
    watcher: hyper_util::server::graceful::Watcher,
    stream: S,
    service: T,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    T: hyper::service::Service<
            http::Request<hyper::body::Incoming>,
            Response = http::Response<axum::body::Body>,
        > + Send
        + 'static,
    T::Future: Send + 'static,
    T::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let _ = watcher.watch(http.serve_connection(TokioIo::new(stream), service)).await;
}
