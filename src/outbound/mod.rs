//! Requests to URLs an administrator gave Charter (an identity provider's discovery document,
//! keys and token endpoint), all through one guard, so that Charter is no way into the network
//! it runs in.
//!
//! The guard checks every address Charter would connect to: an IP literal in the URL before the
//! request is sent (`url` has normalised `127.1`, `2130706433` and `0x7f000001` to `127.0.0.1`
//! by then), and every address a host name resolves to, at connect time, inside the client's
//! resolver: the connection goes only to an address that was checked, so a name that resolves
//! to a public address first and to loopback next (DNS rebinding) gains nothing. Loopback,
//! private, link-local (the cloud metadata address among them), unique-local, shared, reserved,
//! documentation and multicast addresses, and the IPv6 forms of any of them, are refused unless
//! the operator allows their network (`outbound_allow`). Redirects are not followed, proxies
//! from the environment are not used, answers are bounded in size and time.
//!
//! Whatever goes wrong — a refused address, a closed port, silence, a TLS failure, plain HTTP on
//! a TLS port, an answer too large — the caller gets one and the same [`Unreachable`]: telling
//! these apart would make Charter a port scanner for whoever may configure a URL. The detail is
//! logged at debug level.

pub mod address;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crate::config::OutboundSettings;
use crate::error::chain;

/// The largest answer read: discovery documents and key sets are a few kilobytes.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// The longest a connection may take to open, within the request's own timeout.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The one answer for an outbound request that got no usable response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unreachable;

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not reachable")
    }
}

impl std::error::Error for Unreachable {}

/// Why a delivery got no answer: the time ran out, or anything else (told apart no further,
/// as for [`Unreachable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failed {
    TimedOut,
    Unreachable,
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Failed::TimedOut => "timed out",
            Failed::Unreachable => "not reachable",
        })
    }
}

/// [`unreachable`] for a delivery, keeping whether the time ran out.
fn failed(target: &str, reason: &dyn std::fmt::Display, timed_out: bool) -> Failed {
    unreachable(target, reason);
    if timed_out {
        Failed::TimedOut
    } else {
        Failed::Unreachable
    }
}

/// Which addresses outbound requests may reach: public ones, and those of the networks the
/// operator allows.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    allow: Vec<ipnet::IpNet>,
}

impl Guard {
    pub fn new(allow: Vec<ipnet::IpNet>) -> Self {
        Self { allow }
    }

    /// `Ok` when `ip` may be reached; otherwise the special-use range that holds it. An
    /// IPv4-mapped address counts as its IPv4 address for the allow-list too.
    pub fn check(&self, ip: IpAddr) -> Result<(), &'static str> {
        let canonical = ip.to_canonical();
        if self
            .allow
            .iter()
            .any(|net| net.contains(&ip) || net.contains(&canonical))
        {
            return Ok(());
        }
        match address::special_use(canonical) {
            Some(range) => Err(range),
            None => Ok(()),
        }
    }
}

/// An HTTP client for administrator-given URLs, behind the [`Guard`].
#[derive(Debug, Clone)]
pub struct Outbound {
    client: reqwest::Client,
    guard: Arc<Guard>,
    allow_http: bool,
}

impl Outbound {
    /// A client under `settings`; `allow_http` lets it send plain `http://` requests as well
    /// as `https://` ones (a provider on loopback in development).
    pub fn new(settings: &OutboundSettings, allow_http: bool) -> anyhow::Result<Self> {
        let guard = Arc::new(Guard::new(settings.allow.clone()));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                guard: guard.clone(),
            }))
            .connect_timeout(CONNECT_TIMEOUT.min(settings.timeout))
            .timeout(settings.timeout)
            .user_agent(concat!("charter/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            client,
            guard,
            allow_http,
        })
    }

    /// The guard every request of this client passes.
    pub fn guard(&self) -> &Guard {
        &self.guard
    }

    /// Sends `request` and reads its answer (at most [`MAX_RESPONSE_BYTES`]), or fails with
    /// [`Unreachable`] whatever the reason.
    pub async fn fetch(
        &self,
        request: http::Request<Vec<u8>>,
    ) -> Result<http::Response<Vec<u8>>, Unreachable> {
        let request = reqwest::Request::try_from(traced(request))
            .map_err(|err| unreachable("(unparsable)", &err))?;
        let target = describe(request.url());
        self.admit(request.url())
            .map_err(|reason| unreachable(&target, &reason))?;
        let response = self
            .client
            .execute(request)
            .await
            .map_err(|err| unreachable(&target, &err))?;
        let mut answer = http::Response::builder()
            .status(response.status())
            .version(response.version());
        if let Some(headers) = answer.headers_mut() {
            headers.extend(response.headers().clone());
        }
        let body = read_bounded(response)
            .await
            .map_err(|reason| unreachable(&target, &reason))?;
        answer.body(body).map_err(|err| unreachable(&target, &err))
    }

    /// Sends `request` for a delivery and keeps at most `keep` bytes of its answer (the rest
    /// is not read): any status is an answer. What goes wrong before one arrives is
    /// [`Failed::TimedOut`] when the time ran out and [`Failed::Unreachable`] otherwise, the
    /// detail logged at debug level as for [`Self::fetch`].
    pub async fn send(
        &self,
        request: http::Request<Vec<u8>>,
        keep: usize,
    ) -> Result<http::Response<Vec<u8>>, Failed> {
        let request = reqwest::Request::try_from(traced(request))
            .map_err(|err| failed("(unparsable)", &err, false))?;
        let target = describe(request.url());
        self.admit(request.url())
            .map_err(|reason| failed(&target, &reason, false))?;
        let mut response = self
            .client
            .execute(request)
            .await
            .map_err(|err| failed(&target, &chain(&err), err.is_timeout()))?;
        let mut answer = http::Response::builder().status(response.status());
        if let Some(headers) = answer.headers_mut() {
            headers.extend(response.headers().clone());
        }
        let mut body = Vec::new();
        while body.len() < keep {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = keep - body.len();
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                Ok(None) => break,
                Err(err) => return Err(failed(&target, &chain(&err), err.is_timeout())),
            }
        }
        answer
            .body(body)
            .map_err(|err| failed(&target, &err, false))
    }

    /// A TCP connection to `host`:`port` for a protocol other than HTTP (a directory): the
    /// host resolved, its addresses kept only where the guard allows them, the first that
    /// accepts within `timeout` connected. [`Unreachable`] whatever goes wrong.
    pub async fn connect_tcp(
        &self,
        host: &str,
        port: u16,
        timeout: Duration,
    ) -> Result<tokio::net::TcpStream, Unreachable> {
        let target = format!("{host}:{port}");
        let resolving = tokio::time::timeout(timeout, tokio::net::lookup_host((host, port)));
        let found: Vec<SocketAddr> = match resolving.await {
            Ok(Ok(found)) => found.collect(),
            Ok(Err(err)) => return Err(unreachable(&target, &err)),
            Err(_) => return Err(unreachable(&target, &"resolving timed out")),
        };
        let mut last = "no address outside the special-use ranges or outbound_allow".to_owned();
        for address in found {
            if let Err(range) = self.guard.check(address.ip()) {
                last = format!("{} is {range}", address.ip());
                continue;
            }
            match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(address)).await {
                Ok(Ok(stream)) => return Ok(stream),
                Ok(Err(err)) => last = err.to_string(),
                Err(_) => last = "connecting timed out".to_owned(),
            }
        }
        Err(unreachable(&target, &last))
    }

    /// Whether `url` may be requested before anything is sent: its scheme, and its host when
    /// it is an IP address (reqwest connects to those without asking the resolver).
    fn admit(&self, url: &url::Url) -> Result<(), String> {
        match url.scheme() {
            "https" => {}
            "http" if self.allow_http => {}
            scheme => return Err(format!("the scheme {scheme} is not allowed")),
        }
        let ip = match url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            Some(url::Host::Domain(_)) => return Ok(()),
            None => return Err("the URL has no host".to_owned()),
        };
        self.guard
            .check(ip)
            .map_err(|range| format!("{ip} is {range}, which outbound_allow does not list"))
    }
}

/// Reads `response`'s body, refusing one larger than [`MAX_RESPONSE_BYTES`].
async fn read_bounded(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let too_large = || format!("the answer is larger than {MAX_RESPONSE_BYTES} bytes");
    if response
        .content_length()
        .is_some_and(|length| length > MAX_RESPONSE_BYTES as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|err| chain(&err))? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Logs why a request to `target` failed, for the operator, and returns the answer that says
/// nothing of it.
fn unreachable(target: &str, reason: &dyn std::fmt::Display) -> Unreachable {
    tracing::debug!(%target, %reason, "an outbound request failed");
    Unreachable
}

/// A URL for the log without its query (which may carry secrets).
fn describe(url: &url::Url) -> String {
    format!("{}{}", url.origin().ascii_serialization(), url.path())
}

/// The system's resolver, keeping only the addresses the guard allows: connections go to
/// those alone, so an answer that changes between a check and the connection (DNS rebinding)
/// cannot lead anywhere else.
struct GuardedResolver {
    guard: Arc<Guard>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.guard.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let (allowed, refused): (Vec<SocketAddr>, Vec<SocketAddr>) = found
                .into_iter()
                .partition(|address| guard.check(address.ip()).is_ok());
            if allowed.is_empty() {
                let refused: Vec<String> = refused
                    .iter()
                    .map(|address| address.ip().to_string())
                    .collect();
                return Err(format!(
                    "{host} resolves to no address outside the special-use ranges or \
                     outbound_allow ({})",
                    refused.join(", ")
                )
                .into());
            }
            Ok(Box::new(allowed.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// `request` with the `traceparent` of the span that sends it, when traces are on (whatever
/// the request carried under that name is replaced).
fn traced(mut request: http::Request<Vec<u8>>) -> http::Request<Vec<u8>> {
    if let Some(traceparent) = crate::telemetry::traceparent_of(&tracing::Span::current())
        && let Ok(value) = http::HeaderValue::from_str(&traceparent)
    {
        request.headers_mut().insert("traceparent", value);
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(text: &str) -> ipnet::IpNet {
        text.parse().unwrap()
    }

    #[test]
    fn the_allow_list_opens_special_ranges_and_nothing_else() {
        let guard = Guard::new(vec![net("127.0.0.1/32"), net("10.1.0.0/16")]);
        let check = |ip: &str| guard.check(ip.parse().unwrap());
        assert_eq!(check("127.0.0.1"), Ok(()));
        assert_eq!(check("::ffff:127.0.0.1"), Ok(()));
        assert_eq!(check("10.1.2.3"), Ok(()));
        assert!(check("127.0.0.2").is_err());
        assert!(check("10.2.0.1").is_err());
        assert!(check("::1").is_err());
        assert_eq!(check("8.8.8.8"), Ok(()));
        assert!(
            Guard::default()
                .check("127.0.0.1".parse().unwrap())
                .is_err()
        );
    }

    fn outbound(allow_http: bool) -> Outbound {
        let settings = OutboundSettings::default();
        Outbound::new(&settings, allow_http).unwrap()
    }

    #[test]
    fn ip_literals_are_checked_in_their_normalised_form() {
        let client = outbound(true);
        for url in [
            "http://127.1:8080/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[::ffff:7f00:1]/",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.1/",
            "http://0.0.0.0/",
        ] {
            let parsed = url::Url::parse(url).unwrap();
            assert!(client.admit(&parsed).is_err(), "{url} was admitted");
        }
        let public = url::Url::parse("http://93.184.216.34/").unwrap();
        assert_eq!(client.admit(&public), Ok(()));
    }

    #[test]
    fn plain_http_needs_its_setting() {
        let url = url::Url::parse("http://idp.example.com/").unwrap();
        assert!(outbound(false).admit(&url).is_err());
        assert_eq!(outbound(true).admit(&url), Ok(()));
        let ftp = url::Url::parse("ftp://idp.example.com/").unwrap();
        assert!(outbound(true).admit(&ftp).is_err());
    }
}
