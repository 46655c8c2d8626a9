"""spanscope."""
