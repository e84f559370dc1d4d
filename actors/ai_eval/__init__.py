"""Evaluating the AI: record/replay comparisons against the rule-based advisor (`compare.py`)."""
