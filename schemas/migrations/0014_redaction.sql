-- Redaction rules set per project through the API. One row per change; the latest row of a project
-- wins (`deleted = 1` hands the project back to the file or built-in configuration). Every collector
-- sharing the database reads it, so a change made on one collector reaches all of them.
CREATE TABLE IF NOT EXISTS spanscope.redaction_rules
(
    project_id  LowCardinality(String),
    config      String,
    deleted     UInt8,
    updated_at  DateTime64(6, 'UTC')
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY project_id;
