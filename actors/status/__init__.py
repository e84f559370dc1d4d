"""The status page: the dashboard (pushed updates, controls), JSON and Prometheus views of the keeper.

`StatusServerActor.start(settings, keeper, peers={"ai": ref, ...}, port=None)`;
ask it `GetBoundPort()` for the port it really listens on.
"""

from __future__ import annotations

from actors.status.actor import GetBoundPort, StatusServerActor, is_loopback

__all__ = ["GetBoundPort", "StatusServerActor", "is_loopback"]
