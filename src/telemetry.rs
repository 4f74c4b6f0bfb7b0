//! Logs and traces. Logs go to standard error as text or, with `log_format = "json"`, as one
//! JSON object per line carrying the fields of the spans they happen in (the request's
//! `request_id` and `trace_id`). Traces go over OTLP/HTTP to `otlp_endpoint` when it is set
//! (off by default): a span per request (whose parent is the caller's W3C `traceparent`), per
//! GraphQL operation, per batch of SQL a request's loaders run, per webhook delivery and per
//! directory sign-in; the `traceparent` of the span that makes an outbound request (a webhook,
//! an identity provider) goes with it.

use std::collections::HashMap;
use std::io::IsTerminal;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{TraceContextExt, TracerProvider as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Level;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::filter::{EnvFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

use crate::config::{LogFormat, Settings};

/// What [`init`] set up; [`Telemetry::shutdown`] sends the spans still buffered.
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(err) = provider.shutdown()
        {
            eprintln!("sending the last traces failed: {err}");
        }
    }
}

/// The default filter: Charter's own lines at info, the migration runner's one line per
/// migration only when asked for.
const DEFAULT_FILTER: &str = "info,sea_orm_migration=warn";

/// Installs the global subscriber for `settings` (text logs without them: the configuration
/// did not load, and the command says why). `CHARTER_LOG` filters the log lines only: traces
/// take Charter's spans whatever it says.
pub fn init(settings: Option<&Settings>) -> Telemetry {
    let filter =
        EnvFilter::try_from_env("CHARTER_LOG").unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let json = settings.is_some_and(|settings| settings.log_format == LogFormat::Json);
    let provider = settings
        .and_then(|settings| settings.otlp_endpoint.as_deref())
        .and_then(|endpoint| match tracer_provider(endpoint) {
            Ok(provider) => Some(provider),
            Err(err) => {
                eprintln!("traces are off: {err:#}");
                None
            }
        });
    let logs: Box<dyn Layer<Registry> + Send + Sync> = if json {
        tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .with_writer(std::io::stderr)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .boxed()
    };
    let traces = provider.as_ref().map(|provider| {
        opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer("charter"))
            .with_filter(Targets::new().with_target("charter", Level::INFO))
    });
    tracing_subscriber::registry()
        .with(logs.with_filter(filter))
        .with(traces)
        .init();
    Telemetry { provider }
}

fn tracer_provider(endpoint: &str) -> anyhow::Result<SdkTracerProvider> {
    use opentelemetry_otlp::WithExportConfig;
    let url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(url)
        .with_timeout(std::time::Duration::from_secs(10))
        .build()?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name("charter")
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// Makes `span` the child of the caller's `traceparent` (when traces are on).
pub fn adopt(span: &tracing::Span, traceparent: Option<&str>) {
    let Some(traceparent) = traceparent else {
        return;
    };
    let carrier = HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
    let parent = TraceContextPropagator::new().extract(&carrier);
    if parent.span().span_context().is_valid() {
        let _ = span.set_parent(parent);
    }
}

/// The W3C `traceparent` of `span`, when traces are on and it is sampled.
pub fn traceparent_of(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.remove("traceparent")
}

/// The trace id of `span` (32 hex digits), when traces are on.
pub fn trace_id_of(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    let span_context = context.span().span_context().clone();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

/// The trace id a W3C `traceparent` names, when it is well formed.
pub fn trace_id_in(traceparent: &str) -> Option<&str> {
    let mut parts = traceparent.split('-');
    let (_version, trace_id) = (parts.next()?, parts.next()?);
    (trace_id.len() == 32 && trace_id.bytes().all(|byte| byte.is_ascii_hexdigit()))
        .then_some(trace_id)
}
