"""`python bootstrap.py resume`: lift a halt that the journal keeps across restarts.

A halt (the drawdown limit, an account that disagrees with the journal, the
operator) survives a restart on purpose: the bot must not start trading again
by itself after what stopped it. Resuming is one fact appended to the journal,
with who and why, applied at the next start through the same code as live.
"""

from __future__ import annotations

from pathlib import Path

from actors.messages import RiskState
from actors.settings import Settings
from actors.state_keeper import facts
from actors.state_keeper.core import KeeperCore, replay
from actors.state_keeper.journal import Journal


def resume_journal(settings: Settings, path: Path, by: str, reason: str = "") -> str:
    """Append the resume fact if the journal is halted or paused; the answer says what was done."""
    journal = Journal(path)
    try:
        core = KeeperCore(settings)
        replay(core, journal.facts())
        was = core.halted or (core.risk.reason if core.risk.state is not RiskState.ACTIVE else None)
        if was is None:
            return f"journal {path}: not halted or paused, nothing to resume"
        ts = core.last_snapshot.ts_snapshot_ms if core.last_snapshot else (core.equity[-1].ts_ms if core.equity else 0)
        why = f"resumed by {by}" + (f": {reason}" if reason else "")
        kind, payload = facts.to_row(facts.RiskStateSet(state=RiskState.ACTIVE, reason=why, ts_ms=ts, by=by or "operator"))
        journal.append(kind, payload, ts, "")
        journal.commit()
    finally:
        journal.close()
    return f"journal {path}: was halted ({was}); {why}. The next start trades again."
