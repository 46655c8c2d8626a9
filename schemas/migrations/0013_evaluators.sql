-- Evaluator configuration stored with PUT /api/evaluators: one JSON document per project
-- ({evaluators, schemas}); every change inserts a new version, readers take argMax(document, version).
-- An empty document means the stored configuration was removed (SPANSCOPE_EVALUATORS_FILE applies).
CREATE TABLE IF NOT EXISTS spanscope.evaluator_config
(
    project_id  LowCardinality(String),
    version     UInt64,
    document    String CODEC(ZSTD(3)),
    updated_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY project_id;
