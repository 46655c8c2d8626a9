-- Message content that arrived as OTLP log events (instrumentations that keep content out of spans).
-- Kept so content that arrives before its span survives a restart; the span row is patched too.
CREATE TABLE IF NOT EXISTS spanscope.span_content
(
    project_id  LowCardinality(String),
    trace_id    String,
    span_id     String,
    time        DateTime64(6, 'UTC'),
    input       String CODEC(ZSTD(3)),
    output      String CODEC(ZSTD(3)),
    finish_reasons Array(LowCardinality(String))
)
ENGINE = MergeTree
ORDER BY (project_id, trace_id, span_id)
TTL toDateTime(time) + toIntervalDay(7);
