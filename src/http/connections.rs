//! What the listener enforces before a request reaches the router: a cap on open connections,
//! a deadline for a connection's first request head, and problem details instead of the bare
//! error answers hyper writes on its own for requests it cannot parse (400, 414, 431).
//!
//! Deadlines: hyper's HTTP/1 header timer (set in `http::serve`) bounds every request head
//! once hyper reads it as HTTP/1, and axum-server's handshake timeout bounds TLS. But before
//! that, hyper-util waits with no deadline for enough bytes to tell HTTP/1 from the HTTP/2
//! preface (axum-server always serves with upgrades, which always detects). So a connection
//! that sends nothing, or `PRI` and nothing more, would stay open forever: the first-request
//! deadline here closes it.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum_server::accept::Accept;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Wraps an acceptor (plain or TLS): a connection over the cap is closed at once, without a
/// task waiting on it; an accepted one holds its slot until it closes.
/// A connection that has not delivered a complete request head within `head_timeout` of being
/// accepted is closed.
#[derive(Clone)]
pub struct GuardedAcceptor<A> {
    inner: A,
    slots: Arc<Semaphore>,
    head_timeout: Duration,
}

impl<A> GuardedAcceptor<A> {
    pub fn new(inner: A, max_connections: usize, head_timeout: Duration) -> GuardedAcceptor<A> {
        GuardedAcceptor { inner, slots: Arc::new(Semaphore::new(max_connections)), head_timeout }
    }
}

/// Unix second of the last "connection cap reached" warning (one a second at most: a flood of
/// refused connections must not become a flood of log lines).
static LAST_CAP_WARNING: AtomicI64 = AtomicI64::new(0);

impl<A, I, S> Accept<I, S> for GuardedAcceptor<A>
where
    A: Accept<I, S>,
    A::Future: Send + 'static,
    A::Stream: Send + 'static,
    A::Service: Send + 'static,
{
    type Stream = GuardedStream<A::Stream>;
    type Service = MarkFirstRequest<A::Service>;
    type Future = Pin<Box<dyn Future<Output = io::Result<(Self::Stream, Self::Service)>> + Send>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let Ok(slot) = self.slots.clone().try_acquire_owned() else {
            let now = chrono::Utc::now().timestamp();
            if LAST_CAP_WARNING.swap(now, Ordering::Relaxed) != now {
                tracing::warn!("connection cap reached: closing new connections until some end");
            }
            // `stream` is dropped here: the connection is closed.
            return Box::pin(std::future::ready(Err(io::Error::other("connection cap reached"))));
        };
        // The slot is held during a TLS handshake too (bounded by the handshake timeout).
        let deadline = Box::pin(tokio::time::sleep(self.head_timeout));
        let accepting = self.inner.accept(stream, service);
        Box::pin(async move {
            let (stream, service) = accepting.await?;
            let first_request = Arc::new(AtomicBool::new(false));
            let stream = GuardedStream {
                inner: stream,
                _slot: slot,
                head_deadline: Some(deadline),
                first_request: first_request.clone(),
                replacement: Vec::new(),
                written: 0,
            };
            Ok((stream, MarkFirstRequest { inner: service, seen: first_request }))
        })
    }
}

/// An accepted connection: delegates to the inner stream, and rewrites hyper's own error
/// answers into problem details.
pub struct GuardedStream<S> {
    inner: S,
    _slot: OwnedSemaphorePermit,
    /// Until the first request reaches the router, reads fail once this passes.
    head_deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    first_request: Arc<AtomicBool>,
    /// A rewritten answer and how much of it is written.
    replacement: Vec<u8>,
    written: usize,
}

impl<S: AsyncWrite + Unpin> GuardedStream<S> {
    /// Writes what is left of a replacement answer.
    fn poll_replacement(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.replacement.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.replacement[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for GuardedStream<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Some(deadline) = this.head_deadline.as_mut() {
            if this.first_request.load(Ordering::Relaxed) {
                // From here on hyper's own header timer bounds each request head.
                this.head_deadline = None;
            } else if deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "no complete request head in time",
                )));
            }
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for GuardedStream<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_replacement(cx))?;
        if let Some(answer) = problem_for_bare_error(buf) {
            this.replacement = answer;
            this.written = 0;
            // The original is taken whole; the replacement goes out now or on the next flush.
            if let Poll::Ready(Err(e)) = this.poll_replacement(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_replacement(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_replacement(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }

    // Not vectored: hyper then writes each response head as the start of one buffer, where
    // `problem_for_bare_error` can see it.
    fn is_write_vectored(&self) -> bool {
        false
    }
}

/// The router's service for one connection, noting when the first request reaches it.
#[derive(Clone)]
pub struct MarkFirstRequest<S> {
    inner: S,
    seen: Arc<AtomicBool>,
}

impl<S: tower::Service<R>, R> tower::Service<R> for MarkFirstRequest<S> {
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> S::Future {
        self.seen.store(true, Ordering::Relaxed);
        self.inner.call(request)
    }
}

/// The problem-details version of an answer hyper wrote by itself, if `written` is one: the
/// whole write is a response head (no body) with one of the statuses hyper sends for requests it
/// cannot parse, `content-length: 0` and no content type. The router's own error answers always
/// have a body and a content type, so they never match.
fn problem_for_bare_error(written: &[u8]) -> Option<Vec<u8>> {
    let (status, title, detail) = match written.get(..13)? {
        b"HTTP/1.1 400 " => (
            400,
            "Bad request",
            "the request is not valid HTTP/1.1: its request line or a header is malformed",
        ),
        b"HTTP/1.1 414 " => (414, "URI too long", "the request target is longer than this server accepts"),
        b"HTTP/1.1 431 " => (
            431,
            "Request header fields too large",
            "the request has too many header fields, or they are too large",
        ),
        _ => return None,
    };
    if !written.ends_with(b"\r\n\r\n") || written.len() > 1024 {
        return None;
    }
    let head = String::from_utf8_lossy(written).to_ascii_lowercase();
    if head.matches("\r\n\r\n").count() != 1
        || !head.contains("\r\ncontent-length: 0\r\n")
        || head.contains("\r\ncontent-type:")
    {
        return None;
    }
    let status_line =
        String::from_utf8_lossy(&written[..written.iter().position(|&b| b == b'\r')?]).into_owned();
    let date = String::from_utf8_lossy(written)
        .split("\r\n")
        .find(|line| line.to_ascii_lowercase().starts_with("date:"))
        .map(|line| format!("{line}\r\n"))
        .unwrap_or_default();
    let body = serde_json::json!({"type": "about:blank", "title": title, "status": status, "detail": detail})
        .to_string();
    Some(
        format!(
            "{status_line}\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\nconnection: close\r\n{date}\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyper_s_bare_answers_become_problem_details() {
        let bare = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Tue, 01 Dec 2026 10:00:00 GMT\r\n\r\n";
        let answer = String::from_utf8(problem_for_bare_error(bare).unwrap()).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"), "{head}");
        assert!(head.contains("\r\ncontent-type: application/problem+json\r\n"));
        assert!(head.contains(&format!("\r\ncontent-length: {}\r\n", body.len())));
        assert!(head.contains("\r\ndate: Tue, 01 Dec 2026 10:00:00 GMT"));
        let problem: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(problem["status"], 431);
    }

    #[test]
    fn the_router_s_own_answers_are_left_alone() {
        for written in [
            &b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/problem+json\r\ncontent-length: 0\r\n\r\n"[..],
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 12\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n{}",
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n",
            b"{\"HTTP/1.1 400 \": 1}",
        ] {
            assert!(problem_for_bare_error(written).is_none(), "{}", String::from_utf8_lossy(written));
        }
    }
}
