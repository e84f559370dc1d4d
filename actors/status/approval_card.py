"""The dashboard's card for entries that wait for the owner's approval, with Approve / Reject (pure).

The buttons belong to the controls form (`form="controls"`) though they sit
in the pushed part of the page: they post to `control/approve` or
`control/reject` with the entry's `approval_id`, carrying the page's token,
under the same token and same-origin rules as every other control.
"""

from __future__ import annotations

from actors.messages import EntryApproval, StatusSnapshot
from actors.notify.answers import resolution
from actors.notify.notes import _span
from actors.status import fmt
from actors.status.fmt import e


def _row(name: str, ident: str, value: object) -> str:
    return f'<dt>{e(name)}</dt><dd id="{e(ident)}">{e(value)}</dd>'


def _plan(a: EntryApproval) -> str:
    parts = [f"target {fmt.dec(a.target_price)}" if a.target_price is not None else "",
             f"stop {fmt.dec(a.stop_price)}" if a.stop_price is not None else "",
             f"time limit {_span(a.time_limit_s * 1000)}" if a.time_limit_s else ""]
    return ", ".join(p for p in parts if p) or "the risk limits only"


def _pending(a: EntryApproval, now_ms: int, live: bool) -> str:
    left = (a.expires_ms - now_ms) // 1000 if live else None
    expires = (fmt.when(a.expires_ms) or "") + (f" (in {max(0, left)} s)" if left is not None else "")
    rows = "".join((
        _row("buy", "approval-size", f"{a.quantity} at {a.price}"),
        _row("costs", "approval-quote", fmt.dec(a.quote)),
        _row("exit plan", "approval-plan", _plan(a)),
        _row("proposed by", "approval-source", f"{a.source}{' ' + a.model if a.model else ''} ({a.advice_id})"),
        _row("confidence", "approval-confidence", a.confidence),
        _row("expires", "approval-expires", expires),
    ))
    ident = e(a.approval_id)
    return (f'<div class="approval" id="approval-{ident}"><dl>{rows}</dl>'
            f'<div class="reasoning" id="approval-reasoning">{e(a.reasoning or "no reasoning given")}</div>'
            '<div class="approval-buttons">'
            f'<button type="submit" form="controls" id="btn-approve" class="approve" formaction="control/approve" '
            f'name="approval_id" value="{ident}">Approve</button>'
            f'<button type="submit" form="controls" id="btn-reject" class="danger" formaction="control/reject" '
            f'name="approval_id" value="{ident}">Reject</button></div>'
            '<p class="muted">Approve places it only if the risk gate and the market still agree; it is dropped '
            "if the price leaves the advice's band first.</p></div>")


def approval_card(st: StatusSnapshot, now_ms: int, live: bool) -> str:
    """The waiting entry first (with its buttons), then what became of the last ones; nothing when none ever waited."""
    if not st.approvals:
        return ""
    pending = [a for a in st.approvals if a.outcome == "pending"]
    body = "".join(_pending(a, now_ms, live) for a in pending)
    done = [a for a in reversed(st.approvals) if a.outcome != "pending"]
    if done:
        items = "".join(f'<li class="outcome-{e(a.outcome)}">{e((fmt.when(a.ts_ms) or "")[11:19])} '
                        f"{e(a.approval_id)}: {e(resolution(a))}</li>" for a in done)
        body += f'<h3>Answered</h3><ul class="events" id="approvals-done">{items}</ul>'
    title = "Entry waiting for your approval" if pending else "Entry approvals"
    return (f'<section class="card wide{" approval-pending" if pending else ""}" id="approvals">'
            f"<h2>{e(title)}</h2>{body}</section>")
