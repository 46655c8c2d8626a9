"""Alert rules on metrics and drift, evaluated periodically and delivered to webhooks."""
