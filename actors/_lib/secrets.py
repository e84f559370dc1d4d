"""Secrets from the environment (or `.env`), kept out of every repr, log line and report.

A `Secret` never shows its value unless `.reveal()` is called at the one place
that needs it (a request header, an HMAC key). Every secret created is also
registered so that the log filter can redact it wherever it might appear.
"""

from __future__ import annotations

import os
import re
import threading

__all__ = ["REDACTED", "Secret", "from_env", "redact"]

_REGISTRY: set[str] = set()
_LOCK = threading.Lock()
_MIN_LEN = 6  # shorter values would redact ordinary words

# Shapes that are secret whatever their value: query-string signatures, bearer tokens, API key headers.
_PATTERNS = [
    re.compile(r"(signature=)[0-9A-Za-z%+/=_-]+"),
    re.compile(r'("signature"\s*:\s*")[^"]+'),
    re.compile(r"(Bearer\s+)[^\s'\"]+", re.IGNORECASE),
    re.compile(r"(X-MBX-APIKEY['\"]?\s*[:=]\s*['\"]?)[^\s'\",}]+", re.IGNORECASE),
    re.compile(r'("apiKey"\s*:\s*")[^"]+'),
    re.compile(r"(apiKey=)[^&\s]+"),
    re.compile(r"sk-or-v1-[0-9A-Za-z]+"),
]

REDACTED = "***"


class Secret:
    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        if len(value) >= _MIN_LEN:
            with _LOCK:
                _REGISTRY.add(value)

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", len(self._value)))

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a Secret cannot be pickled")


def from_env(name: str) -> Secret | None:
    value = os.environ.get(name, "").strip()
    return Secret(value) if value else None


def redact(text: str) -> str:
    """Remove every registered secret and every secret-shaped token from `text`."""
    if not text:
        return text
    with _LOCK:
        values = sorted(_REGISTRY, key=len, reverse=True)
    for value in values:
        if value in text:
            text = text.replace(value, REDACTED)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + REDACTED, text)
    return text
