-- Replays of a dataset version through a target function. Item results are written first, the run row
-- last; a run is listed only once its row exists.
CREATE TABLE IF NOT EXISTS spanscope.eval_run_items
(
    project_id   LowCardinality(String),
    run_id       String,
    item_id      String,
    output       String CODEC(ZSTD(3)),
    error        String,
    latency_ms   Float64,
    scores       Map(LowCardinality(String), Float64),
    reasons      Map(LowCardinality(String), String) CODEC(ZSTD(3)),
    trace_id     String,
    span_id      String,
    created_at   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
ORDER BY (project_id, run_id, item_id)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS spanscope.eval_runs
(
    project_id       LowCardinality(String),
    run_id           String,
    dataset          String,
    dataset_version  UInt32,
    target           String,
    metadata         String,
    item_count       UInt32,
    error_count      UInt32,
    score_means      Map(LowCardinality(String), Float64),
    score_counts     Map(LowCardinality(String), UInt32),
    created_at       DateTime64(6, 'UTC')
)
ENGINE = MergeTree
ORDER BY (project_id, dataset, created_at, run_id)
SETTINGS non_replicated_deduplication_window = 10000;
