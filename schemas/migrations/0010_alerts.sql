-- Alert rules: every create, edit and delete inserts a new row version of (project_id, rule_id);
-- `deleted = 1` marks a deletion. Readers take the latest version with argMax(…, version), which is
-- exact whether or not the engine has merged the versions yet. `spec` is the rule as JSON.
CREATE TABLE IF NOT EXISTS spanscope.alert_rules
(
    project_id  LowCardinality(String),
    rule_id     String,
    version     UInt64,
    deleted     UInt8 DEFAULT 0,
    source      LowCardinality(String),
    name        String,
    enabled     UInt8,
    spec        String CODEC(ZSTD(3)),
    updated_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY (project_id, rule_id);

-- The current state of each rule and group, written only when it changes, so that a restarted
-- collector neither re-notifies an alert that is still firing nor forgets one in its cooldown.
CREATE TABLE IF NOT EXISTS spanscope.alert_state
(
    project_id        LowCardinality(String),
    rule_id           String,
    group_key         String,
    version           UInt64,
    state             LowCardinality(String),
    value             Nullable(Float64),
    samples           UInt64,
    since             DateTime64(3, 'UTC'),
    notified          UInt8,
    last_notified_at  Nullable(DateTime64(3, 'UTC')),
    updated_at        DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree
ORDER BY (project_id, rule_id, group_key);

-- History: state changes (firing, resolved) and the outcome of each webhook delivery.
CREATE TABLE IF NOT EXISTS spanscope.alert_events
(
    project_id    LowCardinality(String),
    event_id      String,
    time          DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    rule_id       String,
    rule_name     String,
    group_key     String,
    event         LowCardinality(String),
    value         Nullable(Float64),
    threshold     Nullable(Float64),
    samples       UInt64,
    message       String CODEC(ZSTD(3)),
    dedup_key     String,
    delivery      LowCardinality(String),
    webhook_url   String,
    http_status   UInt16,
    attempts      UInt8,
    error         String,
    retention_days UInt16 DEFAULT 90
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(time)
ORDER BY (project_id, time, rule_id)
TTL toDateTime(time) + toIntervalDay(retention_days);
