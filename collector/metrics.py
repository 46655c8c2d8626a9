"""Prometheus metrics of one collector, in a registry of its own so several apps can share a process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class CollectorMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "spanscope_requests",
            "OTLP and API requests by endpoint and status code",
            ["endpoint", "code"],
            registry=r,
        )
        self.spans_received = Counter("spanscope_spans_received", "Spans received over OTLP", registry=r)
        self.spans_accepted = Counter(
            "spanscope_spans_accepted", "Spans acknowledged (durable in the write-ahead log)", registry=r
        )
        self.spans_stored = Counter("spanscope_spans_stored", "Spans inserted into ClickHouse", registry=r)
        self.spans_rejected = Counter(
            "spanscope_spans_rejected", "Spans refused by validation", ["reason"], registry=r
        )
        self.duplicate_requests = Counter(
            "spanscope_duplicate_requests",
            "Retried OTLP requests recognised and not stored again",
            registry=r,
        )
        self.log_records = Counter(
            "spanscope_log_records",
            "OTLP log records received, by what became of them",
            ["outcome"],
            registry=r,
        )
        self.metric_points = Counter(
            "spanscope_metric_points", "OTLP metric data points received (counted, not stored)", registry=r
        )
        self.queue_depth = Gauge(
            "spanscope_queue_depth_bytes", "Acknowledged bytes not yet in ClickHouse", registry=r
        )
        self.batch_latency = Histogram(
            "spanscope_batch_insert_seconds",
            "Time to insert one batch into ClickHouse",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.batch_rows = Histogram(
            "spanscope_batch_rows",
            "Rows per ClickHouse insert",
            buckets=(1, 10, 100, 1000, 5000, 10000, 25000, 50000, 100000),
            registry=r,
        )
        self.storage_errors = Counter(
            "spanscope_storage_errors", "Failed ClickHouse inserts (retried)", registry=r
        )
        self.overload = Counter(
            "spanscope_overload_responses", "Requests refused with 429/503 to shed load", ["code"], registry=r
        )
        self.redactions = Counter(
            "spanscope_redactions", "Values replaced by redaction before storage, by rule", ["rule"], registry=r
        )
        self.evaluations = Counter(
            "spanscope_evaluations",
            "Online evaluations by evaluator and outcome (scored, skipped, error, timeout)",
            ["evaluator", "outcome"],
            registry=r,
        )
        self.evaluation_dropped = Counter(
            "spanscope_evaluation_dropped",
            "Online evaluation dropped: spans when the queue was full, scores when inserts kept failing",
            ["reason"],
            registry=r,
        )
        self.alert_evaluations = Counter(
            "spanscope_alert_evaluations", "Alert rule evaluations by outcome (ok, error)", ["outcome"], registry=r
        )
        self.alert_notifications = Counter(
            "spanscope_alert_notifications",
            "Alert notifications by outcome (delivered, failed, dropped, suppressed)",
            ["outcome"],
            registry=r,
        )
