"""The dashboard's controls: which POST becomes which keeper control, and who may send it.

A control is accepted only when (1) the request carries the page's token in
the `X-Trader-Token` header or a `token` form field (the configured
`status.token`, or one generated at start and embedded in the page when none
is configured), and (2) it is not cross-site: `Sec-Fetch-Site`, `Origin` and
`Referer`, whichever the browser sent, must name this host. A command-line
client that sends none of those three still needs the token. Pure functions.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from actors.messages import (
    ApproveEntry,
    CancelOpenOrder,
    EntryApprovalResolved,
    HaltTrading,
    PauseBuying,
    RejectEntry,
    ResumeTrading,
)

Control = PauseBuying | ResumeTrading | HaltTrading | CancelOpenOrder | ApproveEntry | RejectEntry
ACTIONS = ("pause", "resume", "halt", "flatten", "cancel", "approve", "reject")
MAX_REASON = 200
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]+")


def cross_site(headers: Mapping[str, str], host: str | None) -> str | None:
    """Why this request looks cross-site, or None if it is same-origin (or from no browser at all)."""
    site = headers.get("Sec-Fetch-Site", "").lower()
    if site and site not in ("same-origin", "none"):
        return f"Sec-Fetch-Site is {site}"
    want = (host or "").lower()
    for name in ("Origin", "Referer"):
        value = headers.get(name)
        if value is None:
            continue
        got = urlsplit(value).netloc.lower() if value != "null" else "null"
        if got != want:
            return f"{name} {got or value!r} is not this page"
        return None  # the first one present decides
    return None


def token_ok(given: str | None, want: str) -> bool:
    return bool(want) and given is not None and hmac.compare_digest(given.strip().encode(), want.encode())


def clean_reason(text: Any) -> str:
    """One line, printable, bounded: it is journaled and shown."""
    s = _UNPRINTABLE.sub(" ", str(text or "")).strip()
    return " ".join(s.split())[:MAX_REASON]


def to_control(action: str, reason: str, by: str, approval_id: str = "") -> Control | None:
    """The keeper message for `action`, or None for an unknown one (or an answer that names no entry)."""
    match action:
        case "approve" | "reject" if approval_id:
            cls = ApproveEntry if action == "approve" else RejectEntry
            return cls(approval_id=approval_id[:MAX_REASON], by=by, reason=reason)
        case "pause":
            return PauseBuying(by=by, reason=reason)
        case "resume":
            return ResumeTrading(by=by, reason=reason)
        case "halt":
            return HaltTrading(by=by, reason=reason, flatten=False)
        case "flatten":
            return HaltTrading(by=by, reason=reason, flatten=True)
        case "cancel":
            return CancelOpenOrder(by=by, reason=reason)
    return None


def outcome(action: str, answer: Any) -> dict[str, Any]:
    """For approve / reject, what became of the entry (the keeper's answer) for the page; {} otherwise."""
    if action not in ("approve", "reject"):
        return {}
    if not isinstance(answer, EntryApprovalResolved):
        return {"outcome": None, "detail": "no such entry waits (answered, expired, or from before a restart)"}
    a = answer.approval
    return {"outcome": a.outcome, "detail": a.detail, "approval_id": a.approval_id, "order": a.client_order_id or None}
