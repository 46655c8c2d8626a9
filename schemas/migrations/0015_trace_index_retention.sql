-- Trace index rows expire with their spans: the view carries the spans' retention into the index,
-- so a trace id is not kept (and findable) after its project's retention has passed.
ALTER TABLE spanscope.trace_index ADD COLUMN IF NOT EXISTS retention_days SimpleAggregateFunction(max, UInt16) DEFAULT 30;

ALTER TABLE spanscope.trace_index_mv MODIFY QUERY
SELECT project_id, trace_id, min(start_time) AS start_time, max(end_time) AS end_time,
       count() AS span_count, max(retention_days) AS retention_days
FROM spanscope.spans
GROUP BY project_id, trace_id;

ALTER TABLE spanscope.trace_index MODIFY TTL toDateTime(end_time) + toIntervalDay(retention_days);
