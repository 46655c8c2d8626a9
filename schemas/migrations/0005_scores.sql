-- Scores of traces and spans: evaluations, user feedback, human labels. One immutable row per score.
-- `value` is NULL for categorical scores without a numeric meaning; booleans are 0/1 with
-- string_value 'true'/'false'. Inserts carry a deduplication token, so a retried batch is a no-op.
CREATE TABLE IF NOT EXISTS spanscope.scores
(
    project_id      LowCardinality(String),
    score_id        String,
    trace_id        String,
    span_id         String,
    name            LowCardinality(String),
    value           Nullable(Float64),
    string_value    String,
    data_type       LowCardinality(String),
    source          LowCardinality(String),
    comment         String CODEC(ZSTD(3)),
    author          String,
    timestamp       DateTime64(6, 'UTC') CODEC(Delta, ZSTD(1)),
    retention_days  UInt16 DEFAULT 30,
    created_at      DateTime64(3, 'UTC') DEFAULT now64(3) CODEC(Delta, ZSTD(1)),
    INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(timestamp)
ORDER BY (project_id, trace_id, name)
TTL toDateTime(timestamp) + toIntervalDay(retention_days)
SETTINGS non_replicated_deduplication_window = 10000;
