"""Starting and stopping the actor system, in dependency order, behind a readiness check.

Start: market data (idle) → AI consultant → order executor (subscribes to
the market first, so in lockstep its fills reach the keeper before the
snapshot that caused them) → state keeper (recovers from the journal) →
status page → `StartFeed`. Stop runs in reverse. Adding an actor means one
more `_start` line here and nothing else.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pykka
from loguru import logger

from actors._lib.secrets import Secret, from_env
from actors._lib.shared_thread import SharedThread
from actors.messages import (
    BalanceUpdated,
    FeesUpdated,
    FiltersUpdated,
    GetStats,
    StartFeed,
    Stats,
    StopTrading,
    Subscribe,
    SubscribeCandles,
    Unsubscribe,
)
from actors.settings import Settings
from actors.state_keeper.journal import Journal, Owner, fingerprint

READY_TIMEOUT_S = 30.0
PREFLIGHT_WAIT_S = 15.0  # how long a real-money start waits for exchangeInfo and the balance
FEES_WAIT_S = 5.0  # ...and then for the account's commission, so the keeper starts with it


@dataclass
class Keys:
    openrouter: Secret | None = None
    binance_key: Secret | None = None
    binance_secret: Secret | None = None
    binance_key_name: str = "BINANCE_API_KEY"  # the variable the Binance key came from (said at start)

    @classmethod
    def from_env(cls, network: str = "mainnet") -> Keys:
        """The Spot Testnet's keys come from BINANCE_TESTNET_API_KEY / _SECRET when either is set, else the usual
        names; mainnet never reads the testnet's. The pair is taken whole: never a key of one and a secret of the other."""
        ai = from_env("OPENROUTER_API_KEY")
        main_key, main_secret = from_env("BINANCE_API_KEY"), from_env("BINANCE_API_SECRET")
        if network == "testnet":
            key, secret = from_env("BINANCE_TESTNET_API_KEY"), from_env("BINANCE_TESTNET_API_SECRET")
            if key is not None or secret is not None:
                return cls(ai, key, secret, "BINANCE_TESTNET_API_KEY")
        return cls(ai, main_key, main_secret)

    def describe_binance(self) -> str:
        """Which key, by its hash prefix as the journal records it (never the key)."""
        if self.binance_key is None:
            return f"no {self.binance_key_name}"
        return f"{self.binance_key_name} {fingerprint(self.binance_key.reveal())}"


@dataclass
class Running:
    settings: Settings
    journal: Journal
    actors: dict[str, pykka.ActorRef[Any]] = field(default_factory=dict)  # in start order
    started_monotonic: float = field(default_factory=time.monotonic)

    def __getitem__(self, name: str) -> pykka.ActorRef[Any]:
        return self.actors[name]

    def stats(self, name: str, timeout: float = 5.0) -> dict[str, Any] | None:
        ref = self.actors.get(name)
        if ref is None:
            return None
        try:
            reply = ref.ask(GetStats(), timeout=timeout)
        except (pykka.ActorDeadError, pykka.Timeout):
            return None
        return reply.as_dict() if isinstance(reply, Stats) else None


def is_backtest(settings: Settings) -> bool:
    return settings.market.source in ("synthetic", "replay")


def mode(settings: Settings) -> str:
    """backtest (a simulated or recorded market), paper-live (live data, paper fills), real (real orders) or
    testnet (real orders on Binance's Spot Testnet: fake funds)."""
    if settings.exchange.kind == "binance":
        return "testnet" if settings.exchange.network == "testnet" else "real"
    return "backtest" if is_backtest(settings) else "paper-live"


def shared_thread_for(settings: Settings, name: str = "backtest") -> SharedThread | None:
    """A lockstep backtest (replay or synthetic, as fast as it goes, paper fills) runs its actors on one
    thread: each snapshot waits for the last acknowledgement anyway, so they trade exactly as on their
    own threads, without a thread hand-off per hop. Anything live or paced keeps a thread per actor."""
    if is_backtest(settings) and not settings.market.speed and settings.exchange.kind == "paper":
        return SharedThread(name)
    return None


def journal_path(settings: Settings, report_dir: Path) -> Path:
    """A backtest journals into its report folder, afresh each run; live runs one journal per mode.

    The live journal is `[storage] path` with the mode before its suffix:
    data/trader.sqlite3 gives data/trader.paper.sqlite3 (paper on live data),
    data/trader.testnet.sqlite3 (the Spot Testnet) and data/trader.real.sqlite3
    (real money), so they can never be mixed up.
    """
    if is_backtest(settings):
        return report_dir / "journal.sqlite3"
    if settings.storage.path == ":memory:":
        return Path(settings.storage.path)
    path = Path(settings.storage.path)
    tag = {"real": "real", "testnet": "testnet"}.get(mode(settings), "paper")
    return path.with_name(f"{path.stem}.{tag}{path.suffix}")


def journal_owner(settings: Settings, keys: Keys) -> Owner:
    """Who this run is, as the journal records it (the account as a key fingerprint, never the key)."""
    m = mode(settings)
    if m in ("real", "testnet"):
        key = keys.binance_key.reveal() if keys.binance_key else ""
        return Owner(m, _host(settings.exchange.rest_url), fingerprint(key) if key else "no key")
    if m == "paper-live":
        return Owner(m, _host(settings.market.stream_url), "paper")
    venue = f"replay {settings.market.replay_path}" if settings.market.source == "replay" else (
        f"synthetic seed {settings.market.seed}")
    return Owner(m, venue, "paper")


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def start(settings: Settings, keys: Keys, report_dir: Path, *, status_port: int | None = None,
          shared: SharedThread | None = None) -> Running:
    """Start the actors; with `shared` (a lockstep backtest), the core four run on that one thread."""
    from actors.ai_consultant.actor import AIConsultantActor
    from actors.market_data.actor import MarketDataActor
    from actors.notify import start_notifier
    from actors.order_executor.actor import OrderExecutorActor
    from actors.state_keeper import approval
    from actors.state_keeper.actor import StateKeeperActor

    notices = _startup_checks(settings, keys) if settings.exchange.kind == "binance" else ()
    path = journal_path(settings, report_dir)
    if is_backtest(settings) and path.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    journal = Journal(path, journal_owner(settings, keys))
    run = Running(settings=settings, journal=journal)
    spawn: Any = shared.start if shared is not None else (lambda cls, *a, **kw: cls.start(*a, **kw))
    try:
        run.actors["market"] = _ready(spawn(MarketDataActor, settings))
        run.actors["ai"] = _ready(spawn(AIConsultantActor, settings, keys.openrouter))
        run.actors["market"].tell(SubscribeCandles(subscriber=run.actors["ai"]))  # the strategy's bars
        run.actors["executor"] = _ready(spawn(
            OrderExecutorActor, settings, market=run.actors["market"], api_key=keys.binance_key,
            api_secret=keys.binance_secret, paper_base_balance=_held(settings, journal)))
        if settings.exchange.kind == "binance":
            _preflight_live(settings, run.actors["executor"], journal)
        run.actors["keeper"] = _ready(spawn(
            StateKeeperActor,
            settings, market=run.actors["market"], executor=run.actors["executor"],
            consultant=run.actors["ai"], journal=journal, commit_when_idle=shared is None))
        port = settings.status.port if status_port is None else status_port
        approval.say_at_start(settings, dashboard=bool(port))  # entries that wait for the owner (issue 28)
        if port:
            from actors.status.actor import StatusServerActor

            peers = {k: run.actors[k] for k in ("ai", "market", "executor")}
            run.actors["status"] = StatusServerActor.start(settings, run.actors["keeper"], peers, port=port,
                                                           notices=notices)
        run.actors.update(start_notifier(settings, run.actors["keeper"], backtest=is_backtest(settings)))
        run.actors["market"].tell(StartFeed())
    except BaseException:
        stop(run)
        raise
    logger.info("all actors started: {}", ", ".join(run.actors))
    return run


def _held(settings: Settings, journal: Journal) -> Decimal:
    """A paper wallet lives in memory: a restarted paper run starts it with what the journal says is held."""
    if settings.exchange.kind != "paper":
        return Decimal(0)
    from actors.state_keeper.core import KeeperCore, replay

    core = KeeperCore(settings)
    replay(core, journal.facts())
    return core.ledger.qty


class _Greeting(pykka.ThreadingActor):
    """Collects what the executor tells a new subscriber: the exchange's filters and balances, the account's fees."""

    def __init__(self, quote: str, found: dict[str, Any], done: threading.Event, fees: threading.Event) -> None:
        super().__init__()
        self.quote, self.found, self.done, self.fees = quote, found, done, fees

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, FiltersUpdated):
            self.found.setdefault("filters", message.filters)
        elif isinstance(message, BalanceUpdated) and message.asset == self.quote:
            self.found.setdefault("free_quote", message.free)
        elif isinstance(message, FeesUpdated):
            self.fees.set()
        if "filters" in self.found and "free_quote" in self.found:
            self.done.set()
        return None


def _preflight_live(settings: Settings, executor: pykka.ActorRef[Any], journal: Journal) -> None:
    """Before the keeper (and so any order) starts: can this trade size ever trade on this account?

    Waits up to PREFLIGHT_WAIT_S for Binance's answers; without them the run
    starts (the keeper reports what blocks it later) with one warning.
    """
    from actors import preflight
    from actors.state_keeper.core import KeeperCore, replay

    found: dict[str, Any] = {}
    done, fees = threading.Event(), threading.Event()
    ref = _Greeting.start(settings.exchange.quote_asset, found, done, fees)
    try:
        executor.tell(Subscribe(subscriber=ref))
        answered = done.wait(PREFLIGHT_WAIT_S)
        if answered and not fees.wait(FEES_WAIT_S):  # the keeper starts with the account's rates when it can
            logger.warning("the account's commission is not known yet: break-even uses the settings' rates "
                           "until Binance gives it")
        executor.tell(Unsubscribe(subscriber=ref))
    finally:
        ref.stop()
    if not answered:
        logger.warning("preflight: Binance did not give the symbol's rules and the {} balance within {} s; "
                       "starting without checking the trade size", settings.exchange.quote_asset, PREFLIGHT_WAIT_S)
        return
    core = KeeperCore(settings)
    replay(core, journal.facts())
    active = core.ledger.orders.get(core.active_id or "")
    flat = not core.ledger.qty and (active is None or active.status.is_terminal)
    refused = preflight.live_trade_size_refusals(settings, found["filters"].min_notional, found["free_quote"], flat)
    if refused:
        raise preflight.PreflightRefused(" ".join(refused))


def _startup_checks(settings: Settings, keys: Keys) -> tuple[tuple[str, str], ...]:
    """Before any actor starts: the key, the symbol and the clock (actors/binance/startup.py).

    A failed check stops the start (exit 2) naming what to change; warnings and
    notes go to the console here and to the status page (level, text).
    """
    from actors import preflight
    from actors.binance import startup

    if keys.binance_key is None or keys.binance_secret is None:
        return ()  # the executor says what is missing
    where = "the Spot Testnet" if settings.exchange.network == "testnet" else "Binance"
    head = f"start-up checks on {where} ({_host(settings.exchange.rest_url)}), key {keys.describe_binance()}"
    print(head, file=sys.stderr, flush=True)
    logger.info(head)
    v = startup.judge(startup.read(settings, keys.binance_key, keys.binance_secret, PREFLIGHT_WAIT_S), settings)
    if v.refusals:
        raise preflight.PreflightRefused(" ".join(v.refusals))
    for note in v.notes:
        print(f"  {note}", file=sys.stderr, flush=True)
        logger.info("start-up check: {}", note)
    for warning in v.warnings:
        logger.warning("start-up check: {}", warning)
    return tuple(("warning", w) for w in v.warnings) + tuple(("note", n) for n in v.notes)


def _ready(ref: pykka.ActorRef[Any]) -> pykka.ActorRef[Any]:
    """Wait until the actor has run `on_start` (it answers its first message after that)."""
    ref.ask(GetStats(), timeout=READY_TIMEOUT_S)
    return ref


def stop_trading(run: Running, reason: str, cancel_open_orders: bool) -> None:
    keeper = run.actors.get("keeper")
    if keeper is not None:
        try:
            keeper.ask(StopTrading(reason=reason, cancel_open_orders=cancel_open_orders), timeout=10)
        except (pykka.ActorDeadError, pykka.Timeout) as exc:
            logger.error("could not tell the state keeper to stop trading: {}", exc)


def stop(run: Running, timeout: float = 10.0) -> None:
    """Stop in reverse start order, then make sure nothing is left running."""
    for name in reversed(list(run.actors)):
        try:
            run.actors[name].stop(timeout=timeout)
        except pykka.ActorDeadError:
            pass
        except pykka.Timeout:
            logger.error("actor {} did not stop within {} s", name, timeout)
    pykka.ActorRegistry.stop_all(timeout=timeout)
    run.journal.close()
