"""Scores from online evaluators, curated golden datasets and their replay as a CI gate."""
