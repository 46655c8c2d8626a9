-- Per-minute rollups read by long-range dashboards instead of raw spans.
-- Percentiles are TDigest states merged with -Merge: never a stored percentile.
CREATE TABLE IF NOT EXISTS spanscope.rollup_minute
(
    project_id        LowCardinality(String),
    minute            DateTime('UTC'),
    service           LowCardinality(String),
    environment       LowCardinality(String),
    kind              LowCardinality(String),
    name              LowCardinality(String),
    model             LowCardinality(String),
    provider          LowCardinality(String),
    prompt_name       LowCardinality(String),
    prompt_version    LowCardinality(String),
    spans             SimpleAggregateFunction(sum, UInt64),
    errors            SimpleAggregateFunction(sum, UInt64),
    roots             SimpleAggregateFunction(sum, UInt64),
    duration_sum      SimpleAggregateFunction(sum, Float64),
    duration_max      SimpleAggregateFunction(max, Float64),
    latency           AggregateFunction(quantilesTDigest(0.5, 0.95, 0.99), Float64),
    root_latency      AggregateFunction(quantilesTDigest(0.5, 0.95, 0.99), Float64),
    input_tokens      SimpleAggregateFunction(sum, UInt64),
    output_tokens     SimpleAggregateFunction(sum, UInt64),
    total_tokens      SimpleAggregateFunction(sum, UInt64),
    cost_usd          SimpleAggregateFunction(sum, Float64),
    llm_calls         SimpleAggregateFunction(sum, UInt64),
    fallbacks         SimpleAggregateFunction(sum, UInt64),
    guardrail_checks  SimpleAggregateFunction(sum, UInt64),
    guardrail_blocks  SimpleAggregateFunction(sum, UInt64),
    validated         SimpleAggregateFunction(sum, UInt64),
    invalid           SimpleAggregateFunction(sum, UInt64),
    retention_days    SimpleAggregateFunction(max, UInt16)
)
ENGINE = AggregatingMergeTree
PARTITION BY toDate(minute)
ORDER BY (project_id, minute, service, environment, kind, name, model, provider, prompt_name, prompt_version)
TTL minute + toIntervalDay(retention_days);

CREATE MATERIALIZED VIEW IF NOT EXISTS spanscope.rollup_minute_mv TO spanscope.rollup_minute AS
SELECT
    project_id,
    toStartOfMinute(start_time) AS minute,
    service, environment, kind, name, model, provider, prompt_name, prompt_version,
    count() AS spans,
    countIf(status = 'ERROR') AS errors,
    countIf(parent_span_id = '') AS roots,
    sum(duration_ms) AS duration_sum,
    max(duration_ms) AS duration_max,
    quantilesTDigestState(0.5, 0.95, 0.99)(duration_ms) AS latency,
    quantilesTDigestStateIf(0.5, 0.95, 0.99)(duration_ms, parent_span_id = '') AS root_latency,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(total_tokens) AS total_tokens,
    sum(cost_usd) AS cost_usd,
    sum(is_llm_call) AS llm_calls,
    sum(fallback_used) AS fallbacks,
    countIf(kind = 'guardrail' AND guardrail_verdict != '') AS guardrail_checks,
    countIf(kind = 'guardrail' AND guardrail_verdict IN ('block', 'modify')) AS guardrail_blocks,
    sum(output_validated) AS validated,
    sumIf(1, output_validated = 1 AND output_valid = 0) AS invalid,
    max(retention_days) AS retention_days
FROM spanscope.spans
GROUP BY project_id, minute, service, environment, kind, name, model, provider, prompt_name, prompt_version;
