"""The status page's pure rendering, under its old names (view, metrics and dashboard modules)."""

from __future__ import annotations

from actors.status.dashboard import live_html, mode_of, render_html
from actors.status.fmt import e
from actors.status.metrics import render_metrics
from actors.status.view import LIVE_SKEW_MS, View, age_s, feed_age_s, iso, jsonable, page_json, status_json

__all__ = ["LIVE_SKEW_MS", "View", "age_s", "e", "feed_age_s", "iso", "jsonable", "live_html", "mode_of",
           "page_json", "render_html", "render_metrics", "status_json"]
