//! Accepting connections with bounds on slow and idle clients, and a drain at shutdown that ends.
//!
//! axum's own `serve` sets no timeout, so an idle socket, a request head sent a byte a second or
//! an unfinished body would hold a connection for good, and a graceful shutdown would wait on
//! it forever. This loop serves HTTP/1.1 with hyper directly: the header-read timeout runs from
//! a connection's start and from the end of each response, the body and the handling of each
//! request have their own deadlines, and the drain after SIGTERM is capped.

use std::future::Future;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tower::ServiceExt;

use crate::config::Timeouts;
use crate::error::ErrorCode;

/// The largest request body: room for a call adding 10,000 list entries of ordinary length.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// How large a route's request bodies may be, and its answer to a larger one.
#[derive(Clone, Copy)]
pub struct BodyBound {
    pub limit: usize,
    pub refuse: fn() -> Response,
}

impl BodyBound {
    /// [`MAX_BODY_BYTES`], refused in the shape of a GraphQL error.
    pub const DEFAULT: BodyBound = BodyBound {
        limit: MAX_BODY_BYTES,
        refuse: || {
            refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::InvalidInput,
                &format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
            )
        },
    };

    /// The refusal, on a connection that closes after it: the rest of the body may still be
    /// on its way and must not be read as the next request.
    fn too_large(&self) -> Response {
        let mut response = (self.refuse)();
        response.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
        response
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets open requests finish for
/// at most `timeouts.shutdown_grace`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    timeouts: Timeouts,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_on(listener, router, timeouts, None, shutdown).await
}

/// [`serve`] over TLS with `config` (Charter's own TLS listener): each request carries the
/// client certificates its connection presented ([`super::tls::PeerCertificates`]).
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    router: Router,
    timeouts: Timeouts,
    config: std::sync::Arc<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    serve_on(listener, router, timeouts, Some(acceptor), shutdown).await
}

async fn serve_on(
    listener: tokio::net::TcpListener,
    router: Router,
    timeouts: Timeouts,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Hygiene headers outermost, so that the server's own refusals carry them too.
    let router = router
        .layer(axum::middleware::from_fn_with_state(timeouts, bounded))
        .layer(axum::middleware::from_fn(super::headers::hygiene));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read)
        .keep_alive(true);
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors, say: wait rather than spin.
                    tracing::warn!(error = %err, "accepting a connection failed");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let connection = Connection {
            router: router.clone(),
            http: http.clone(),
            watcher: graceful.watcher(),
            peer,
            handshake: timeouts.header_read,
        };
        tokio::spawn(connection.run(stream, tls.clone()));
    }
    drop(listener);
    let open = graceful.count();
    tracing::info!(open, "draining open connections");
    if tokio::time::timeout(timeouts.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_seconds = timeouts.shutdown_grace.as_secs(),
            "connections still open after the shutdown grace; closing them"
        );
    }
    Ok(())
}

/// One accepted connection and what serving it needs.
struct Connection {
    router: Router,
    http: hyper::server::conn::http1::Builder,
    watcher: hyper_util::server::graceful::Watcher,
    peer: std::net::SocketAddr,
    /// How long a TLS handshake may take (the header read timeout).
    handshake: std::time::Duration,
}

impl Connection {
    /// Serves `stream`, after its TLS handshake when `tls` is given.
    async fn run(self, stream: tokio::net::TcpStream, tls: Option<tokio_rustls::TlsAcceptor>) {
        let Some(acceptor) = tls else {
            return self.serve(TokioIo::new(stream), None).await;
        };
        let handshake = tokio::time::timeout(self.handshake, acceptor.accept(stream)).await;
        let stream = match handshake {
            Ok(Ok(stream)) => stream,
            Ok(Err(err)) => {
                tracing::debug!(peer = %self.peer, error = %err, "a TLS handshake failed");
                return;
            }
            Err(_) => return,
        };
        let presented = stream.get_ref().1.peer_certificates().map(|chain| {
            super::tls::PeerCertificates(chain.iter().map(|cert| cert.to_vec()).collect())
        });
        self.serve(TokioIo::new(stream), presented).await;
    }

    async fn serve<I>(self, io: TokioIo<I>, presented: Option<super::tls::PeerCertificates>)
    where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (router, peer) = (self.router, self.peer);
        let service =
            hyper::service::service_fn(move |mut request: Request<hyper::body::Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                if let Some(presented) = &presented {
                    request.extensions_mut().insert(presented.clone());
                }
                router.clone().oneshot(request.map(Body::new))
            });
        let connection = self.http.serve_connection(io, service);
        if let Err(err) = self.watcher.watch(connection).await {
            tracing::debug!(%peer, error = %err, "connection closed with an error");
        }
    }
}

/// Reads the whole body within `body_read`, up to its route's bound (a larger declared length
/// is refused before anything is read), and answers within `request` after that.
async fn bounded(State(timeouts): State<Timeouts>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bound = super::body_bound(parts.uri.path());
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > bound.limit as u64) {
        return bound.too_large();
    }
    let limited = http_body_util::Limited::new(body, bound.limit);
    let bytes = match tokio::time::timeout(timeouts.body_read, limited.collect()).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(err)) if err.is::<http_body_util::LengthLimitError>() => {
            return bound.too_large();
        }
        Ok(Err(_)) => {
            return refusal(
                StatusCode::BAD_REQUEST,
                ErrorCode::InvalidInput,
                "the request body could not be read",
            );
        }
        Err(_) => {
            return refusal(
                StatusCode::REQUEST_TIMEOUT,
                ErrorCode::InvalidInput,
                &format!(
                    "the request body did not arrive within {} seconds",
                    timeouts.body_read.as_secs()
                ),
            );
        }
    };
    let request = Request::from_parts(parts, Body::from(bytes));
    match tokio::time::timeout(timeouts.request, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(
                seconds = timeouts.request.as_secs(),
                "a request ran out of time"
            );
            refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Internal,
                "the request took too long; try again",
            )
        }
    }
}

/// A refusal in the shape of a GraphQL error, which every client of Charter can read.
fn refusal(status: StatusCode, code: ErrorCode, message: &str) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code.as_str() } }]
    });
    let mut response = (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response();
    if status == StatusCode::REQUEST_TIMEOUT {
        // The rest of the body may still be on its way: do not read it as the next request.
        response.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
    }
    response
}
