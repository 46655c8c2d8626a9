-- One row per trace (after merges) with the trace-level facts a trace list shows: the root span's
-- fields and short previews of its input/output, counts, cost, tokens, models, flags. Trace search
-- finds a page of trace ids on `spans`, then reads their summaries here by primary key instead of
-- re-reading every span of the page. Partial rows of a trace (spans arrive in several inserts) are
-- combined by the engine's merges; readers still aggregate with GROUP BY trace_id.
-- Root fields are maxIf(value, is_root): only the root contributes (others leave the default).
-- Small granules and compression blocks: the table is read by point lookups of a page of ids, never
-- scanned, and a lookup decompresses a block of every column it reads (3x faster than the defaults).
-- (`spans.start_time` in the view: the bare name would mean the min(start_time) alias.)
CREATE TABLE IF NOT EXISTS spanscope.trace_summary
(
    project_id        LowCardinality(String),
    trace_id          String,
    start_time        SimpleAggregateFunction(min, DateTime64(6, 'UTC')),
    end_time          SimpleAggregateFunction(max, DateTime64(6, 'UTC')),
    root_span_id      SimpleAggregateFunction(max, String),
    root_name         SimpleAggregateFunction(max, String),
    root_kind         SimpleAggregateFunction(max, String),
    root_service      SimpleAggregateFunction(max, String),
    root_environment  SimpleAggregateFunction(max, String),
    root_release      SimpleAggregateFunction(max, String),
    root_status       SimpleAggregateFunction(max, String),
    root_status_message SimpleAggregateFunction(max, String),
    root_start        SimpleAggregateFunction(max, DateTime64(6, 'UTC')),
    root_end          SimpleAggregateFunction(max, DateTime64(6, 'UTC')),
    root_duration_ms  SimpleAggregateFunction(max, Float64),
    root_input        SimpleAggregateFunction(max, String),
    root_output       SimpleAggregateFunction(max, String),
    spans             SimpleAggregateFunction(sum, UInt64),
    errors            SimpleAggregateFunction(sum, UInt64),
    llm_calls         SimpleAggregateFunction(sum, UInt64),
    cost_usd          SimpleAggregateFunction(sum, Float64),
    input_tokens      SimpleAggregateFunction(sum, UInt64),
    output_tokens     SimpleAggregateFunction(sum, UInt64),
    total_tokens      SimpleAggregateFunction(sum, UInt64),
    fallbacks         SimpleAggregateFunction(sum, UInt64),
    guardrail_blocks  SimpleAggregateFunction(sum, UInt64),
    off_format        SimpleAggregateFunction(sum, UInt64),
    models            SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    tags              SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    prompts           SimpleAggregateFunction(groupUniqArrayArray, Array(String)),
    session_id        SimpleAggregateFunction(max, String),
    user_id           SimpleAggregateFunction(max, String),
    retention_days    SimpleAggregateFunction(max, UInt16)
)
ENGINE = AggregatingMergeTree
ORDER BY (project_id, trace_id)
TTL toDateTime(end_time) + toIntervalDay(retention_days)
SETTINGS index_granularity = 256, min_compress_block_size = 4096, max_compress_block_size = 16384;

CREATE MATERIALIZED VIEW IF NOT EXISTS spanscope.trace_summary_mv TO spanscope.trace_summary AS
SELECT
    project_id,
    trace_id,
    min(start_time) AS start_time,
    max(end_time) AS end_time,
    maxIf(span_id, parent_span_id = '') AS root_span_id,
    maxIf(toString(name), parent_span_id = '') AS root_name,
    maxIf(toString(kind), parent_span_id = '') AS root_kind,
    maxIf(toString(service), parent_span_id = '') AS root_service,
    maxIf(toString(environment), parent_span_id = '') AS root_environment,
    maxIf(toString(release), parent_span_id = '') AS root_release,
    maxIf(toString(status), parent_span_id = '') AS root_status,
    maxIf(status_message, parent_span_id = '') AS root_status_message,
    maxIf(spans.start_time, parent_span_id = '') AS root_start,
    maxIf(spans.end_time, parent_span_id = '') AS root_end,
    maxIf(duration_ms, parent_span_id = '') AS root_duration_ms,
    maxIf(leftUTF8(input, 1000), parent_span_id = '') AS root_input,
    maxIf(leftUTF8(output, 1000), parent_span_id = '') AS root_output,
    count() AS spans,
    countIf(status = 'ERROR') AS errors,
    sum(is_llm_call) AS llm_calls,
    sum(cost_usd) AS cost_usd,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(total_tokens) AS total_tokens,
    countIf(fallback_used = 1) AS fallbacks,
    countIf(kind = 'guardrail' AND guardrail_verdict IN ('block', 'modify')) AS guardrail_blocks,
    countIf(output_validated = 1 AND output_valid = 0) AS off_format,
    groupUniqArrayIf(toString(model), model != '') AS models,
    groupUniqArrayArray(tags) AS tags,
    groupUniqArrayIf(concat(prompt_name, '@', prompt_version), prompt_name != '') AS prompts,
    max(session_id) AS session_id,
    max(user_id) AS user_id,
    max(retention_days) AS retention_days
FROM spanscope.spans
GROUP BY project_id, trace_id;

INSERT INTO spanscope.trace_summary
SELECT
    project_id,
    trace_id,
    min(start_time),
    max(end_time),
    maxIf(span_id, parent_span_id = ''),
    maxIf(toString(name), parent_span_id = ''),
    maxIf(toString(kind), parent_span_id = ''),
    maxIf(toString(service), parent_span_id = ''),
    maxIf(toString(environment), parent_span_id = ''),
    maxIf(toString(release), parent_span_id = ''),
    maxIf(toString(status), parent_span_id = ''),
    maxIf(status_message, parent_span_id = ''),
    maxIf(start_time, parent_span_id = ''),
    maxIf(end_time, parent_span_id = ''),
    maxIf(duration_ms, parent_span_id = ''),
    maxIf(leftUTF8(input, 1000), parent_span_id = ''),
    maxIf(leftUTF8(output, 1000), parent_span_id = ''),
    count(),
    countIf(status = 'ERROR'),
    sum(is_llm_call),
    sum(cost_usd),
    sum(input_tokens),
    sum(output_tokens),
    sum(total_tokens),
    countIf(fallback_used = 1),
    countIf(kind = 'guardrail' AND guardrail_verdict IN ('block', 'modify')),
    countIf(output_validated = 1 AND output_valid = 0),
    groupUniqArrayIf(toString(model), model != ''),
    groupUniqArrayArray(tags),
    groupUniqArrayIf(concat(prompt_name, '@', prompt_version), prompt_name != ''),
    max(session_id),
    max(user_id),
    max(retention_days)
FROM spanscope.spans
GROUP BY project_id, trace_id;
