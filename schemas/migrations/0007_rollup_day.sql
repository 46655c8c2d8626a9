-- Daily rollups for ranges of days and weeks: a TDigest state holds a bounded number of centroids
-- whatever it summarises, so merging 7 daily states per series is ~24x less work than 168 hourly ones.
-- Filled from rollup_hour by a cascading materialized view (spans -> minute -> hour -> day).
-- Backfilled from rollup_hour; see 0006 for why nothing is lost or counted twice.
CREATE TABLE IF NOT EXISTS spanscope.rollup_day
(
    project_id        LowCardinality(String),
    day               DateTime('UTC'),
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
PARTITION BY toYear(day)
ORDER BY (project_id, day, service, environment, kind, name, model, provider, prompt_name, prompt_version)
TTL day + toIntervalDay(retention_days);

CREATE MATERIALIZED VIEW IF NOT EXISTS spanscope.rollup_day_mv TO spanscope.rollup_day AS
SELECT
    project_id,
    toStartOfDay(hour) AS day,
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
FROM spanscope.rollup_hour
GROUP BY project_id, day, service, environment, kind, name, model, provider, prompt_name, prompt_version;

INSERT INTO spanscope.rollup_day
SELECT
    project_id,
    toStartOfDay(hour) AS day,
    service, environment, kind, name, model, provider, prompt_name, prompt_version,
    sum(spans), sum(errors), sum(roots), sum(duration_sum), max(duration_max),
    quantilesTDigestMergeState(0.5, 0.95, 0.99)(latency),
    quantilesTDigestMergeState(0.5, 0.95, 0.99)(root_latency),
    sum(input_tokens), sum(output_tokens), sum(total_tokens), sum(cost_usd), sum(llm_calls), sum(fallbacks),
    sum(guardrail_checks), sum(guardrail_blocks), sum(validated), sum(invalid), max(retention_days)
FROM spanscope.rollup_hour
GROUP BY project_id, day, service, environment, kind, name, model, provider, prompt_name, prompt_version;
