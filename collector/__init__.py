"""The spanscope collector: OTLP ingest, normalisation, pricing, storage and the query API."""
