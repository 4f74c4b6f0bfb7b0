//! What a process counts, for Prometheus to scrape at `/metrics` (the text format, 0.0.4).
//!
//! One registry per process, as Prometheus' own clients keep it: the counters are bumped where
//! the thing happens (a request, a sign-in, a delivery, an audit event) without threading a
//! handle through every call. Every label value comes from a closed set Charter defines (an
//! error code, a sign-in method, a route of the router, a root field of the schema): none
//! carries a user id, an email, an organization or anything else a caller chooses, so no
//! caller can grow the number of series.

use std::sync::LazyLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// A GraphQL operation: its type and first root field (`query.viewer`), or `invalid` for a
/// document that names no field of the schema, and its outcome: `OK` or the first error's code.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationLabels {
    pub operation: String,
    pub outcome: &'static str,
}

/// An operation's type: `query`, `mutation` or `invalid`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OperationTypeLabels {
    pub operation_type: &'static str,
}

/// An HTTP request: the route it matched (`/graphql`, `/sso/{organization}/start`, or
/// `unmatched`), its method and the class of its status (`2xx` …).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
    pub method: &'static str,
    pub status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteOnlyLabels {
    pub route: String,
}

/// A sign-in: how (`password`, `single_sign_on` for every provider and directory,
/// `second_factor`,
/// `client_credentials`) and what came of it (`session`, `challenge` for a second factor,
/// `issued` for a client-credentials token, `refused`, `throttled`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SignInLabels {
    pub method: &'static str,
    pub outcome: &'static str,
}

/// A webhook delivery attempt's outcome: `delivered`, `retrying`, `failed`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    pub outcome: &'static str,
}

/// Database connections: `in_use`, `idle`, or the pool's `max`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PoolLabels {
    pub state: &'static str,
}

fn latency() -> Histogram {
    // 1 ms to about 16 s.
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.001, 2.0, 15,
    ))
}

/// The process's metrics.
pub struct Metrics {
    registry: Registry,
    pub graphql_operations: Family<OperationLabels, Counter>,
    pub graphql_seconds: Family<OperationTypeLabels, Histogram, fn() -> Histogram>,
    pub http_requests: Family<RouteLabels, Counter>,
    pub http_seconds: Family<RouteOnlyLabels, Histogram, fn() -> Histogram>,
    pub sign_ins: Family<SignInLabels, Counter>,
    pub throttled_accounts: Gauge,
    pub webhook_deliveries: Family<DeliveryLabels, Counter>,
    pub webhook_queue: Gauge,
    pub audit_events: Counter,
    pub db_connections: Family<PoolLabels, Gauge>,
    pub db_begin_seconds: Histogram,
}

impl Metrics {
    fn new() -> Self {
        let mut metrics = Self {
            registry: Registry::with_prefix("charter"),
            graphql_operations: Family::default(),
            graphql_seconds: Family::new_with_constructor(latency),
            http_requests: Family::default(),
            http_seconds: Family::new_with_constructor(latency),
            sign_ins: Family::default(),
            throttled_accounts: Gauge::default(),
            webhook_deliveries: Family::default(),
            webhook_queue: Gauge::default(),
            audit_events: Counter::default(),
            db_connections: Family::default(),
            db_begin_seconds: latency(),
        };
        metrics.register_requests();
        metrics.register_work();
        metrics
    }

    /// Requests, operations and sign-ins.
    fn register_requests(&mut self) {
        let registry = &mut self.registry;
        registry.register(
            "graphql_operations",
            "GraphQL operations by type and first root field, and outcome code",
            self.graphql_operations.clone(),
        );
        registry.register(
            "graphql_operation_duration_seconds",
            "Time to answer a GraphQL operation, by operation type",
            self.graphql_seconds.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status class",
            self.http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request, by route",
            self.http_seconds.clone(),
        );
        registry.register(
            "sign_ins",
            "Sign-ins by method and outcome",
            self.sign_ins.clone(),
        );
    }

    /// What the process does besides answering: throttles, deliveries, audit, the database.
    fn register_work(&mut self) {
        let registry = &mut self.registry;
        registry.register(
            "throttled_accounts",
            "Accounts (emails) whose sign-ins are delayed now after failed attempts",
            self.throttled_accounts.clone(),
        );
        registry.register(
            "webhook_deliveries",
            "Webhook delivery attempts by outcome",
            self.webhook_deliveries.clone(),
        );
        registry.register(
            "webhook_queue_depth",
            "Webhook deliveries waiting to be sent or retried",
            self.webhook_queue.clone(),
        );
        registry.register(
            "audit_events_written",
            "Audit events written by this process",
            self.audit_events.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Database pool connections in use, idle, and the pool's maximum",
            self.db_connections.clone(),
        );
        registry.register(
            "db_transaction_begin_duration_seconds",
            "Time a write waited for its transaction: a pooled connection and, on SQLite, the write lock",
            self.db_begin_seconds.clone(),
        );
    }

    /// Every metric in the Prometheus text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &self.registry)
            .expect("writing to a String does not fail");
        text
    }

    /// Counts a sign-in.
    pub fn sign_in(&self, method: &'static str, outcome: &'static str) {
        self.sign_ins
            .get_or_create(&SignInLabels { method, outcome })
            .inc();
    }
}

/// The content type of [`Metrics::encode`].
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_names_every_family_with_the_prefix_and_counts() {
        let metrics = Metrics::new();
        metrics.sign_in("password", "session");
        metrics.sign_in("password", "session");
        metrics.audit_events.inc();
        let text = metrics.encode();
        assert!(
            text.contains(r#"charter_sign_ins_total{method="password",outcome="session"} 2"#),
            "{text}"
        );
        assert!(
            text.contains("charter_audit_events_written_total 1"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE charter_webhook_queue_depth gauge"),
            "{text}"
        );
    }
}
