-- trace_summary (0008) holds everything trace_index held (a trace's first start, last end and span
-- count) with the project's retention, so the trace index is dropped: one derived table per trace,
-- one materialized view less to write on every insert.
DROP VIEW IF EXISTS spanscope.trace_index_mv;

DROP TABLE IF EXISTS spanscope.trace_index;
