-- trace_id -> time range, so a trace lookup reads one narrow time range of spans.
CREATE TABLE IF NOT EXISTS spanscope.trace_index
(
    project_id  LowCardinality(String),
    trace_id    String,
    start_time  SimpleAggregateFunction(min, DateTime64(6, 'UTC')),
    end_time    SimpleAggregateFunction(max, DateTime64(6, 'UTC')),
    span_count  SimpleAggregateFunction(sum, UInt64)
)
ENGINE = AggregatingMergeTree
ORDER BY (project_id, trace_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS spanscope.trace_index_mv TO spanscope.trace_index AS
SELECT project_id, trace_id, min(start_time) AS start_time, max(end_time) AS end_time,
       count() AS span_count
FROM spanscope.spans
GROUP BY project_id, trace_id;
