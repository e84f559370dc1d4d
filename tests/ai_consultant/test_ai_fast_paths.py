"""The consultant's per-request shortcuts give exactly what the plain code gave.

A backtest asks the consultant on every bar, so its hot path takes shortcuts;
each is checked here against the straightforward version it replaced, on every
input that could tell them apart (for the text: the property it relies on, over every code point).
"""

from __future__ import annotations

import dataclasses
import sys
import unicodedata
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from actors.ai_consultant.cache import _VOL_EDGES, BUCKET_BPS, cache_key
from actors.ai_consultant.reply import clean_text
from actors.ai_consultant.rules import ReplyMeta, hold_advice
from actors.messages import AdviceSource
from actors.settings import AISettings
from tests._support.fakes.openrouter import sample_request

AI = AISettings()
D = Decimal


def reference_clean_text(value: Any, limit: int) -> str:
    """clean_text as it was: every character looked up in the Unicode database."""
    if not isinstance(value, str):
        return ""
    kept = []
    for ch in value:
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Zl", "Zp"):
            kept.append(" ")
        elif cat not in ("Cf", "Cs", "Co", "Cn"):
            kept.append(ch)
    text = " ".join("".join(kept).split())
    if len(text) > limit:
        text = text[: max(limit - 1, 0)].rstrip() + "…"
    return text


def test_a_printable_string_holds_no_character_clean_text_drops_or_replaces() -> None:
    """What the fast path relies on, for every code point of this Python's Unicode database."""
    dropped = ("Cc", "Zl", "Zp", "Cf", "Cs", "Co", "Cn")
    wrong = [hex(c) for c in range(sys.maxunicode + 1)
             if chr(c).isprintable() and unicodedata.category(chr(c)) in dropped]
    assert wrong == []


def test_clean_text_matches_the_plain_version_on_every_code_point_to_u3000() -> None:
    """Controls, Latin, the general punctuation block (bidi marks, zero widths, line separators) and more."""
    chars = [chr(c) for c in range(0x3000)] + ["\ufeff", "\U000e0001", "\ud800", "\ue000", "\U0010ffff"]
    for i in range(0, len(chars), 512):  # each code point between text, in blocks of 512
        block = "".join(f"a{ch}b" for ch in chars[i:i + 512])
        assert clean_text(block, 10_000) == reference_clean_text(block, 10_000), hex(i)


def test_clean_text_matches_the_plain_version_on_the_bot_s_own_texts() -> None:
    texts = [
        "rule-based fallback (no OpenRouter API key): regime range: fast EMA 0.0000171 vs slow EMA 0.00001702",
        "  two  spaces\tand a tab ", "line\nbreak", "nbsp\u00a0here", "bidi \u202eevil\u200b", "", " ",
        "é café ☕ 数字", "x" * 600,
    ]
    for text in texts:
        for limit in (0, 1, 20, 500):
            assert clean_text(text, limit) == reference_clean_text(text, limit), (text, limit)


def test_a_hold_without_a_model_call_is_the_hold_with_an_empty_reply_meta() -> None:
    """hold_advice's shortcut for rule-based holds leaves the meta fields at Advice's defaults: ReplyMeta's."""
    req = sample_request("h1")
    for reason, kw in (("rule-based fallback (no key): no trend", {}),
                       ("request not usable: x", {"rejected_reason": "x", "confidence": D("0.8")})):
        fast = hold_advice(req, AI, reason, source=AdviceSource.FALLBACK, **kw)
        plain = hold_advice(req, AI, reason, source=AdviceSource.FALLBACK, meta=ReplyMeta(), **kw)
        assert fast == plain


def reference_vol_band(volatility: Decimal | None) -> int:
    if volatility is None or not volatility.is_finite():
        return -1
    return sum(1 for edge in _VOL_EDGES if volatility >= edge)


def test_the_cache_key_volatility_band_counts_the_edges_under_it() -> None:
    values = [None, D("NaN"), D("Infinity"), D("-Infinity"), D(0), D("-0.1"), *_VOL_EDGES,
              *(e - D("1e-12") for e in _VOL_EDGES), *(e + D("1e-12") for e in _VOL_EDGES), D(1)]
    base = sample_request("k")
    for v in values:
        req = dataclasses.replace(base, snapshot=dataclasses.replace(base.snapshot, volatility=v))
        assert cache_key(req)[5] == reference_vol_band(v), v


def reference_width_bucket(mid: Decimal, tick: Any) -> tuple[int, int]:
    """The mid bucket as cache_key worked it out before: floor through to_integral_value."""
    mid = mid if mid.is_finite() and mid > 0 else D(0)
    width = max(int((mid * BUCKET_BPS / 10000 / tick).to_integral_value(rounding=ROUND_FLOOR)), 1)
    return width, int((mid / (tick * width)).to_integral_value(rounding=ROUND_FLOOR))


def outcome(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except Exception as e:  # noqa: BLE001 - the exception is the outcome compared
        return type(e), str(e)


def test_the_cache_key_mid_bucket_is_the_floor_it_was_for_any_mid_and_tick() -> None:
    """Including a negative, zero, NaN, infinite or int tick: the same numbers, or the same exception."""
    mids = [D("10.005"), D("0.000017025"), D("99999.99"), D(0), D("-1"), D("NaN"), D("Infinity"), D("1e-30")]
    ticks = [D("0.01"), D("0.00000001"), D("0.001"), D(1), 1, D("-0.01"), D(0), D("-0"), D("NaN"), D("Infinity"),
             D("-Infinity"), D("3e-29"), None]
    base = sample_request("k")
    for mid in mids:
        for tick in ticks:
            req = dataclasses.replace(base, snapshot=dataclasses.replace(base.snapshot, mid=mid),
                                      filters=dataclasses.replace(base.filters, tick_size=tick))
            got = outcome(lambda r: cache_key(r)[2:4], req)
            want = outcome(reference_width_bucket, mid, tick)
            assert got == want, (mid, tick)


def test_the_offline_consultant_loads_no_http_client() -> None:
    """OpenRouter's module and aiohttp load only when a key asks for them (in a fresh interpreter)."""
    import os
    import subprocess
    from pathlib import Path

    code = ("import sys, actors.ai_consultant, actors.ai_consultant.actor; "
            "print(sorted(m for m in ('aiohttp', 'actors.ai_consultant.openrouter') if m in sys.modules))")
    root = str(Path(__file__).resolve().parents[2])
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60,
                         cwd=root, env={**os.environ, "PYTHONPATH": root})
    assert out.stdout.strip() == "[]"
