"""Projects, API keys, redaction and retention: who may see what, and what is kept."""
