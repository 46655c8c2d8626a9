"""The spanscope collector: OTLP ingest, normalisation, pricing, storage and the query API."""

from spanscope.collector.native import use_sources_if_stale

use_sources_if_stale()
