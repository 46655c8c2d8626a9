-- Golden datasets as an append-only change log. A dataset version is committed by its row in
-- `dataset_versions`, written after the version's item rows: item rows of a version without that row
-- (an interrupted write) are never read. Version N of a dataset is, per item_id, the latest item row
-- with version <= N among committed versions, unless that row marks the item deleted.
CREATE TABLE IF NOT EXISTS spanscope.dataset_items
(
    project_id       LowCardinality(String),
    dataset          String,
    item_id          String,
    version          UInt32,
    deleted          UInt8,
    input            String CODEC(ZSTD(3)),
    expected_output  String CODEC(ZSTD(3)),
    metadata         String CODEC(ZSTD(3)),
    tags             Array(String),
    source_trace_id  String,
    source_span_id   String,
    created_at       DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
ORDER BY (project_id, dataset, item_id, version)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE TABLE IF NOT EXISTS spanscope.dataset_versions
(
    project_id   LowCardinality(String),
    dataset      String,
    version      UInt32,
    description  String,
    message      String,
    added        UInt32,
    updated      UInt32,
    removed      UInt32,
    item_count   UInt32,
    created_at   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
ORDER BY (project_id, dataset, version)
SETTINGS non_replicated_deduplication_window = 10000;
