"""The spanscope SDK."""
