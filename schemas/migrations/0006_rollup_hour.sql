-- Hourly rollups for long ranges (summaries over days read ~60x fewer rows than rollup_minute).
-- Filled from rollup_minute by a cascading materialized view, so the per-span work is done once;
-- the TDigest states are merged with -MergeState, never turned into stored percentiles.
-- The backfill at the end copies what rollup_minute already holds; migrations run before the
-- collector starts flushing, so nothing is inserted between the view's creation and the backfill.
CREATE TABLE IF NOT EXISTS spanscope.rollup_hour
(
    project_id        LowCardinality(String),
    hour              DateTime('UTC'),
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
PARTITION BY toYYYYMM(hour)
ORDER BY (project_id, hour, service, environment, kind, name, model, provider, prompt_name, prompt_version)
TTL hour + toIntervalDay(retention_days);

CREATE MATERIALIZED VIEW IF NOT EXISTS spanscope.rollup_hour_mv TO spanscope.rollup_hour AS
SELECT
    project_id,
    toStartOfHour(minute) AS hour,
    service, environment, kind, name, model, provider, prompt_name, prompt_version,
    sum(spans) AS spans,
    sum(errors) AS errors,
    sum(roots) AS roots,
    sum(duration_sum) AS duration_sum,
    max(duration_max) AS duration_max,
    quantilesTDigestMergeState(0.5, 0.95, 0.99)(latency) AS latency,
    quantilesTDigestMergeState(0.5, 0.95, 0.99)(root_latency) AS root_latency,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(total_tokens) AS total_tokens,
    sum(cost_usd) AS cost_usd,
    sum(llm_calls) AS llm_calls,
    sum(fallbacks) AS fallbacks,
    sum(guardrail_checks) AS guardrail_checks,
    sum(guardrail_blocks) AS guardrail_blocks,
    sum(validated) AS validated,
    sum(invalid) AS invalid,
    max(retention_days) AS retention_days
FROM spanscope.rollup_minute
GROUP BY project_id, hour, service, environment, kind, name, model, provider, prompt_name, prompt_version;

INSERT INTO spanscope.rollup_hour
SELECT
    project_id,
    toStartOfHour(minute) AS hour,
    service, environment, kind, name, model, provider, prompt_name, prompt_version,
    sum(spans), sum(errors), sum(roots), sum(duration_sum), max(duration_max),
    quantilesTDigestMergeState(0.5, 0.95, 0.99)(latency),
    quantilesTDigestMergeState(0.5, 0.95, 0.99)(root_latency),
    sum(input_tokens), sum(output_tokens), sum(total_tokens), sum(cost_usd), sum(llm_calls), sum(fallbacks),
    sum(guardrail_checks), sum(guardrail_blocks), sum(validated), sum(invalid), max(retention_days)
FROM spanscope.rollup_minute
GROUP BY project_id, hour, service, environment, kind, name, model, provider, prompt_name, prompt_version;
