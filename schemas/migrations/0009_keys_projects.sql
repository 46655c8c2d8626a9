-- API keys: only a SHA-256 of each key is stored, with a short prefix to recognise it by.
-- Revocation and last use are lightweight UPDATEs (0 = never), so concurrent updates of one key
-- commute instead of one version overwriting the other.
CREATE TABLE IF NOT EXISTS spanscope.api_keys
(
    key_id        String,
    key_hash      String,
    prefix        String,
    project_id    LowCardinality(String),
    scope         LowCardinality(String),
    name          String,
    created_at    DateTime64(3, 'UTC') DEFAULT now64(3),
    last_used_at  DateTime64(3, 'UTC') DEFAULT 0,
    revoked_at    DateTime64(3, 'UTC') DEFAULT 0,
    INDEX idx_key_hash key_hash TYPE bloom_filter(0.001) GRANULARITY 1
)
ENGINE = MergeTree
ORDER BY key_id
SETTINGS enable_block_number_column = 1, enable_block_offset_column = 1;

-- Project settings. A project without a row uses the collector's defaults (retention 30 days).
CREATE TABLE IF NOT EXISTS spanscope.projects
(
    project_id      String,
    retention_days  UInt16,
    updated_at      DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY project_id;

-- Content that arrived as log records expires with its project's retention too (at most 7 days:
-- it only waits for its span).
ALTER TABLE spanscope.span_content ADD COLUMN IF NOT EXISTS retention_days UInt16 DEFAULT 7;

ALTER TABLE spanscope.span_content MODIFY TTL toDateTime(time) + toIntervalDay(least(retention_days, 7));
