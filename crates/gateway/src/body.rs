//! Request bodies as every route receives them: bounded in the server layer, once, so no
//! handler can forget it (`server::serve` wraps each request's body in a `BoundedBody`).
//!
//! Three bounds, each answered with its own `BodyError`:
//! - a deadline: the whole body within `Limits::body_read_timeout` of its request's head, so a
//!   client that sends headers and part of a body never holds its connection (and its file
//!   descriptor) longer than that, whichever route it chose and whether or not the handler reads;
//! - a cap by route (`Limits::body_cap`): 1 MiB for `/gateway.do`, a few KiB for the pages' forms;
//! - a share of one budget for every body still arriving (`Limits::body_buffer_bytes_max`): a
//!   frame that finds the budget spent fails the request as overloaded at once, so stalled
//!   bodies never hold more memory in total than the budget, however many there are.
//!
//! A handler that answers without reading its body lets hyper close the connection after the
//! answer (it drains only what is already buffered).

use axum::body::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use std::error::Error as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// Why a body was not received.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Longer than the route's cap (declared or sent).
    #[error("request body exceeds {limit} bytes")]
    TooLarge {
        /// The route's cap.
        limit: usize,
    },
    /// Not complete within the deadline.
    #[error("request body not complete within {0:?}")]
    TimedOut(Duration),
    /// The bodies arriving at once already hold the whole buffering budget.
    #[error("too many request bodies arriving at once")]
    Overloaded,
    /// The framing is broken (a malformed chunk) or the connection ended mid-body.
    #[error("{0}")]
    Malformed(String),
}

impl BodyError {
    /// The `BodyError` behind an error of a body read through axum (`axum::Error` boxes it);
    /// a body not wrapped by the server (a router driven directly) reports its own error as
    /// malformed.
    pub fn of(err: axum::Error) -> BodyError {
        let inner = err.into_inner();
        match inner.downcast::<BodyError>() {
            Ok(ours) => *ours,
            Err(other) => BodyError::Malformed(other.to_string()),
        }
    }
}

/// The bytes of every body now arriving, shared by all connections of a server.
#[derive(Clone, Debug)]
pub struct BodyBudget(Arc<Semaphore>);

impl BodyBudget {
    /// A budget of `bytes`.
    pub fn new(bytes: usize) -> BodyBudget {
        BodyBudget(Arc::new(Semaphore::new(bytes.min(Semaphore::MAX_PERMITS))))
    }

    /// Bytes not held by any body now.
    pub fn available(&self) -> usize {
        self.0.available_permits()
    }
}

/// A request body under the server's bounds (see the module doc).
pub struct BoundedBody<B> {
    inner: B,
    deadline: Instant,
    timeout: Duration,
    /// Created at the first poll: a body nobody reads costs no timer.
    timer: Option<Pin<Box<Sleep>>>,
    cap: usize,
    received: usize,
    budget: BodyBudget,
    held: Option<OwnedSemaphorePermit>,
    failed: bool,
}

impl<B> BoundedBody<B> {
    /// Bounds `inner`, whose request head arrived now.
    pub fn new(inner: B, timeout: Duration, cap: usize, budget: BodyBudget) -> BoundedBody<B> {
        BoundedBody {
            inner,
            deadline: Instant::now() + timeout,
            timeout,
            timer: None,
            cap,
            received: 0,
            budget,
            held: None,
            failed: false,
        }
    }

    fn fail(&mut self, err: BodyError) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        self.failed = true;
        // The bytes already in go with the failed body: release its share now.
        self.held = None;
        Poll::Ready(Some(Err(err)))
    }
}

impl<B> Body for BoundedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: std::error::Error + 'static,
{
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        if this.failed {
            return Poll::Ready(None);
        }
        let declared = this.inner.size_hint().lower();
        if usize::try_from(declared).map_or(true, |declared| declared > this.cap) {
            return this.fail(BodyError::TooLarge { limit: this.cap });
        }
        let deadline = this.deadline;
        let timer = this.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if timer.as_mut().poll(cx).is_ready() {
            let timeout = this.timeout;
            return this.fail(BodyError::TimedOut(timeout));
        }
        let frame = match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(None) => return Poll::Ready(None),
            Poll::Ready(Some(Err(err))) => {
                let mut what = err.to_string();
                let mut cause = err.source();
                while let Some(inner) = cause {
                    what.push_str(": ");
                    what.push_str(&inner.to_string());
                    cause = inner.source();
                }
                return this.fail(BodyError::Malformed(format!(
                    "the request body is malformed or was cut off ({what})"
                )));
            }
            Poll::Ready(Some(Ok(frame))) => frame,
        };
        if let Some(data) = frame.data_ref() {
            let len = data.len();
            this.received = this.received.saturating_add(len);
            if this.received > this.cap {
                return this.fail(BodyError::TooLarge { limit: this.cap });
            }
            // Frames are at most the connection's read buffer, far below u32.
            let Ok(permits) = u32::try_from(len) else {
                return this.fail(BodyError::TooLarge { limit: this.cap });
            };
            match Arc::clone(&this.budget.0).try_acquire_many_owned(permits) {
                Ok(permit) => match &mut this.held {
                    Some(held) => held.merge(permit),
                    None => this.held = Some(permit),
                },
                Err(_) => return this.fail(BodyError::Overloaded),
            }
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Reads a whole body that went through the server's bounds.
pub async fn read(body: axum::body::Body) -> Result<Bytes, BodyError> {
    use http_body_util::BodyExt;
    body.collect().await.map(|collected| collected.to_bytes()).map_err(BodyError::of)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, Full};

    #[tokio::test]
    async fn a_declared_length_over_the_cap_fails_before_any_byte() {
        let body = Full::new(Bytes::from(vec![b'x'; 100]));
        let bounded = BoundedBody::new(body, Duration::from_secs(5), 10, BodyBudget::new(1000));
        assert_eq!(bounded.collect().await.err(), Some(BodyError::TooLarge { limit: 10 }));
    }

    #[tokio::test]
    async fn the_budget_is_shared_and_given_back() {
        let budget = BodyBudget::new(150);
        let first = BoundedBody::new(
            Full::new(Bytes::from(vec![b'x'; 100])),
            Duration::from_secs(5),
            1000,
            budget.clone(),
        );
        let mut first = Box::pin(first);
        let frame = std::future::poll_fn(|cx| first.as_mut().poll_frame(cx)).await;
        assert!(frame.is_some_and(|f| f.is_ok()));
        assert_eq!(budget.available(), 50, "the first body holds its bytes");
        let second = BoundedBody::new(
            Full::new(Bytes::from(vec![b'y'; 100])),
            Duration::from_secs(5),
            1000,
            budget.clone(),
        );
        assert_eq!(second.collect().await.err(), Some(BodyError::Overloaded));
        drop(first);
        assert_eq!(budget.available(), 150, "a finished body gives its share back");
    }

    /// A client that stopped sending: its body never yields.
    struct Stalled;

    impl Body for Stalled {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Pending
        }
    }

    #[tokio::test]
    async fn a_stalled_body_fails_at_its_deadline() {
        let timeout = Duration::from_millis(50);
        let bounded = BoundedBody::new(Stalled, timeout, 1000, BodyBudget::new(1000));
        let result = bounded.collect().await;
        assert_eq!(result.err(), Some(BodyError::TimedOut(timeout)));
    }
}
