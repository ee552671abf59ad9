//! Prometheus metrics through the `metrics` crate family. Each running server has its own
//! recorder (never the process-global one), so tests and tools that run several servers in one
//! process keep their figures apart; with `metrics.listen` off there is no recorder at all and
//! every instrument is a no-op.
//!
//! Counters that happen in one place are instruments held here and bumped where they happen.
//! Figures another part already keeps (the relay's counters, the database pool, who is in
//! voice) are copied in when `/metrics` is scraped, see [`Scrape`].

use std::sync::Arc;
use std::time::Duration;

use ::metrics::{Counter, Gauge, Key, Label, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusRecorder};

/// Request durations, in seconds: from a cached static file to a slow password hash.
const DURATION_BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

/// The metadata the recorder asks for; ours does not filter on it.
const METADATA: Metadata<'static> = Metadata::new(module_path!(), ::metrics::Level::INFO, None);

/// Every series, with its help text and unit, in the order `/metrics` lists them.
const SERIES: [(&str, Kind, &str); 22] = [
    ("cromulent_build_info", Kind::Gauge, "Always 1; the version label says which build runs."),
    ("cromulent_gateway_connections", Kind::Gauge, "Open gateway WebSocket connections."),
    ("cromulent_gateway_events_sent_total", Kind::Counter, "Frames written to gateway connections."),
    ("cromulent_gateway_slow_closes_total", Kind::Counter, "Gateway connections closed because they read too slowly (4010)."),
    ("cromulent_http_requests_total", Kind::Counter, "HTTP requests answered, by route template and status."),
    ("cromulent_http_request_duration_seconds", Kind::Histogram, "Time to answer an HTTP request, by route template."),
    ("cromulent_messages_total", Kind::Counter, "Messages posted."),
    ("cromulent_users", Kind::Gauge, "Accounts, disabled ones included."),
    ("cromulent_voice_sessions", Kind::Gauge, "People in voice channels."),
    ("cromulent_voice_joins_total", Kind::Counter, "Voice joins, by outcome: ok or the refusal's error code."),
    ("cromulent_ice_requests_total", Kind::Counter, "ICE server lists handed out, by provider and outcome (ok or fallback)."),
    ("cromulent_turn_allocations", Kind::Gauge, "Allocations alive on the built-in relay."),
    ("cromulent_turn_relayed_packets_total", Kind::Counter, "Datagrams the built-in relay relayed, by direction."),
    ("cromulent_turn_relayed_bytes_total", Kind::Counter, "Payload bytes the built-in relay relayed, by direction."),
    ("cromulent_turn_auth_failures_total", Kind::Counter, "TURN requests refused for a wrong or expired credential."),
    ("cromulent_turn_refused_peers_total", Kind::Counter, "Permissions refused by the relay's peer policy."),
    ("cromulent_turn_quota_refusals_total", Kind::Counter, "Allocations refused by a per-user or total quota."),
    ("cromulent_turn_bindings_total", Kind::Counter, "STUN Binding requests the relay answered."),
    ("cromulent_turn_dropped_packets_total", Kind::Counter, "Packets the relay dropped: junk, no permission, over budget."),
    (
        "cromulent_turn_internal_deliveries_total",
        Kind::Counter,
        "Datagrams one allocation sent to another of the relay, handed over without a socket.",
    ),
    ("cromulent_db_pool_connections", Kind::Gauge, "Database pool connections, by state (idle or active)."),
    ("cromulent_uptime_seconds", Kind::Gauge, "Seconds since the server started."),
];

#[derive(Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

/// The server's instruments; cheap to clone, all no-ops when metrics are off.
#[derive(Clone)]
pub struct Metrics {
    recorder: Option<Arc<PrometheusRecorder>>,
    /// Open gateway connections.
    pub gateway_connections: Gauge,
    /// Frames written to gateway connections.
    pub gateway_events_sent: Counter,
    /// Gateway connections closed for reading too slowly.
    pub gateway_slow_closes: Counter,
    /// Messages posted.
    pub messages: Counter,
}

impl Metrics {
    /// Instruments that record nothing: `metrics.listen` is off.
    pub fn off() -> Metrics {
        Metrics {
            recorder: None,
            gateway_connections: Gauge::noop(),
            gateway_events_sent: Counter::noop(),
            gateway_slow_closes: Counter::noop(),
            messages: Counter::noop(),
        }
    }

    /// Instruments recorded for `/metrics`.
    pub fn prometheus() -> Metrics {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full("cromulent_http_request_duration_seconds".to_owned()), &DURATION_BUCKETS)
            .expect("the buckets are not empty")
            .build_recorder();
        for (name, kind, help) in SERIES {
            let unit = name.ends_with("_seconds").then_some(Unit::Seconds);
            match kind {
                Kind::Counter => recorder.describe_counter(name.into(), unit, help.into()),
                Kind::Gauge => recorder.describe_gauge(name.into(), unit, help.into()),
                Kind::Histogram => recorder.describe_histogram(name.into(), unit, help.into()),
            }
        }
        let recorder = Arc::new(recorder);
        let gauge = |name: &'static str| recorder.register_gauge(&Key::from_static_name(name), &METADATA);
        let counter = |name: &'static str| recorder.register_counter(&Key::from_static_name(name), &METADATA);
        let metrics = Metrics {
            gateway_connections: gauge("cromulent_gateway_connections"),
            gateway_events_sent: counter("cromulent_gateway_events_sent_total"),
            gateway_slow_closes: counter("cromulent_gateway_slow_closes_total"),
            messages: counter("cromulent_messages_total"),
            recorder: Some(recorder),
        };
        metrics.gauge("cromulent_build_info", &[("version", env!("CARGO_PKG_VERSION"))]).set(1.0);
        metrics
    }

    /// Whether anything is recorded.
    pub fn enabled(&self) -> bool {
        self.recorder.is_some()
    }

    /// One answered HTTP request: `route` is the route template (`/api/v1/channels/{channel_id}`),
    /// never the raw path, so the number of series stays bounded.
    pub fn http_request(&self, route: &str, status: u16, elapsed: Duration) {
        let Some(recorder) = &self.recorder else { return };
        let route = Label::new("route", route.to_owned());
        let status = Label::new("status", status.to_string());
        let key = Key::from_parts("cromulent_http_requests_total", vec![route.clone(), status]);
        recorder.register_counter(&key, &METADATA).increment(1);
        let key = Key::from_parts("cromulent_http_request_duration_seconds", vec![route]);
        recorder.register_histogram(&key, &METADATA).record(elapsed.as_secs_f64());
    }

    /// One `voice_join`: `outcome` is `ok` or the refusal's error code.
    pub fn voice_join(&self, outcome: &str) {
        self.counter("cromulent_voice_joins_total", &[("outcome", outcome)]).increment(1);
    }

    /// One ICE server list handed out by `provider`: `ok`, or `fallback` when it failed and
    /// clients got STUN only.
    pub fn ice_request(&self, provider: &str, outcome: &str) {
        self.counter("cromulent_ice_requests_total", &[("provider", provider), ("outcome", outcome)]).increment(1);
    }

    /// The gauge `name` with `labels`.
    pub fn gauge(&self, name: &'static str, labels: &[(&'static str, &str)]) -> Gauge {
        match &self.recorder {
            Some(recorder) => recorder.register_gauge(&key(name, labels), &METADATA),
            None => Gauge::noop(),
        }
    }

    /// The counter `name` with `labels`.
    pub fn counter(&self, name: &'static str, labels: &[(&'static str, &str)]) -> Counter {
        match &self.recorder {
            Some(recorder) => recorder.register_counter(&key(name, labels), &METADATA),
            None => Counter::noop(),
        }
    }

    /// Every series in the Prometheus text format.
    pub fn render(&self) -> String {
        self.recorder.as_ref().map(|r| r.handle().render()).unwrap_or_default()
    }

    /// Folds recorded histogram samples into their buckets, so they do not pile up between
    /// scrapes; run every few seconds while metrics are on.
    pub fn upkeep(&self) {
        if let Some(recorder) = &self.recorder {
            recorder.handle().run_upkeep();
        }
    }
}

fn key(name: &'static str, labels: &[(&'static str, &str)]) -> Key {
    Key::from_parts(name, labels.iter().map(|(k, v)| Label::new(*k, (*v).to_owned())).collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_records_nothing_and_on_renders_each_series_with_its_help() {
        let off = Metrics::off();
        off.messages.increment(1);
        off.http_request("/healthz", 200, Duration::from_millis(1));
        assert_eq!(off.render(), "");

        let on = Metrics::prometheus();
        on.messages.increment(2);
        on.http_request("/api/v1/channels/{channel_id}", 404, Duration::from_millis(3));
        on.voice_join("timed_out");
        let text = on.render();
        assert!(text.contains("# HELP cromulent_messages_total Messages posted.\n"), "{text}");
        assert!(text.contains("cromulent_messages_total 2\n"), "{text}");
        assert!(
            text.contains(r#"cromulent_http_requests_total{route="/api/v1/channels/{channel_id}",status="404"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"cromulent_http_request_duration_seconds_bucket{route="/api/v1/channels/{channel_id}",le="0.005"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains(r#"cromulent_voice_joins_total{outcome="timed_out"} 1"#), "{text}");
        assert!(text.contains(&format!(r#"cromulent_build_info{{version="{}"}} 1"#, env!("CARGO_PKG_VERSION"))), "{text}");
    }

    #[test]
    fn two_servers_in_one_process_keep_their_figures_apart() {
        let (a, b) = (Metrics::prometheus(), Metrics::prometheus());
        a.messages.increment(5);
        assert!(b.render().contains("cromulent_messages_total 0\n"), "{}", b.render());
    }
}
