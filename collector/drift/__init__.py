"""Drift of quality, cost and inputs: a current window against a baseline, computed in ClickHouse."""
