"""Real money never continues another mode's journal, halts on a short balance, and checks Binance's minimum (issue 11)."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest

from actors._lib.secrets import Secret
from actors.messages import BalanceUpdated, OrderStatus, OrderUpdate, PlaceOrder, Side, TradingState
from actors.state_keeper.journal import Journal, Owner, fingerprint
from tests._support.e2e_harness import Bot, Stand, journal_view, wait_until
from tests._support.fakes.binance_exchange import DEFAULT_API_KEY

HELD = D("0.96")


@pytest.fixture
def stand(tmp_path: Path):
    s = Stand(tmp_path)
    yield s
    s.stop()


def write_holding_journal(path: Path, owner: Owner, *, selling: bool = False) -> None:
    """A journal that bought 0.96 TRUMP and is ready to sell it (or has a sell open), as `owner` would leave it."""
    cid, ts = "tbtest-1-B", 1_700_000_000_000
    journal = Journal(path, owner)
    sell = "tbtest-2-S"
    journal.append_many([
        ("session", {"id_prefix": "tbtest"}, ts, ""),
        ("intent", PlaceOrder(client_order_id=cid, symbol="TRUMPUSDC", side=Side.BUY, price=D(10), quantity=HELD,
                              ts_ms=ts), ts, cid),
        ("transition", {"to": TradingState.BUYING.value, "reason": "buy", "active": cid}, ts, cid),
        ("update", OrderUpdate(symbol="TRUMPUSDC", client_order_id=cid, status=OrderStatus.FILLED, side=Side.BUY,
                               price=D(10), orig_qty=HELD, cum_qty=HELD, cum_quote=D("9.6"), last_qty=HELD,
                               last_price=D(10), commission=D(0), commission_asset="USDC", trade_id=1, ts_ms=ts),
         ts, cid),
        ("transition", {"to": TradingState.READY_TO_SELL.value, "reason": "buy filled", "active": None}, ts, cid),
        ("balance", BalanceUpdated(asset="TRUMP", free=HELD, locked=D(0), ts_ms=ts), ts, ""),
    ])
    if selling:
        journal.append_many([
            ("intent", PlaceOrder(client_order_id=sell, symbol="TRUMPUSDC", side=Side.SELL, price=D(11),
                                  quantity=HELD, ts_ms=ts + 1), ts, sell),
            ("transition", {"to": TradingState.SELLING.value, "reason": "sell", "active": sell}, ts, sell),
        ])
    journal.close()


def test_a_paper_journal_is_refused_by_real_money_naming_both(stand: Stand, tmp_path: Path) -> None:
    config = stand.config()
    write_holding_journal(stand.journal, Owner("paper-live", "stream.binance.com:9443", "paper"))
    bot = Bot(stand, config, tmp_path / "report")
    code = bot.proc.wait(60)
    err = bot.stderr()
    assert code == 2, err[-2000:]
    assert "mode paper-live" in err and "mode real" in err and fingerprint(DEFAULT_API_KEY) in err
    assert DEFAULT_API_KEY not in err + bot.stdout()
    assert not stand.exchange.orders  # refused before anything was sent


def test_another_account_is_refused(stand: Stand, tmp_path: Path) -> None:
    config = stand.config()
    write_holding_journal(stand.journal, Owner("real", "127.0.0.1", fingerprint("someone else's key")))
    bot = Bot(stand, config, tmp_path / "report")
    assert bot.proc.wait(60) == 2
    err = bot.stderr()
    assert fingerprint("someone else's key") in err and fingerprint(DEFAULT_API_KEY) in err


@pytest.mark.parametrize("selling", [False, True], ids=["ready-to-sell", "sell-open-unknown-to-the-exchange"])
def test_exchange_balance_below_the_journal_halts_with_a_message(stand: Stand, tmp_path: Path, selling: bool) -> None:
    """The README's promise: the journal holds 0.96 TRUMP, the account holds none: trading halts, nothing is sold."""
    from actors import app
    from actors.settings import load_settings

    config = stand.config()
    settings = load_settings(config)
    owner = app.journal_owner(settings, app.Keys(binance_key=_secret(DEFAULT_API_KEY)))
    write_holding_journal(stand.journal, owner, selling=selling)
    stand.exchange.set_balance("TRUMP", "0", "0")
    with Bot(stand, config, tmp_path / "report") as bot:
        wait_until(lambda: "TRADING HALTED" in bot.stderr(), 60, "the halt", bot.proc)
        assert bot.terminate() == 0, bot.stderr()[-3000:]
    err = bot.stderr()
    assert "the exchange holds 0 TRUMP but the journal says 0.96" in err
    assert err.count("TRADING HALTED") == 1
    assert not stand.orders("SELL")
    assert journal_view(config, stand.journal).halted


def _secret(value: str) -> Secret:
    return Secret(value)


# -- issue 11, item 4: the real account's own minimum and balance, before the first order ------------


def test_real_money_below_binance_minimum_notional_is_refused_before_any_order(stand: Stand, tmp_path: Path) -> None:
    bot = Bot(stand, stand.config(trading='quote_per_trade = "0.5"'), tmp_path / "report")
    assert bot.proc.wait(60) == 2, bot.stderr()[-2000:]
    err = bot.stderr()
    assert "minimum notional" in err and 'Set trading.quote_per_trade = "1.05" or more' in err
    assert not stand.exchange.orders


def test_real_money_above_the_free_balance_is_refused_when_nothing_is_held(stand: Stand, tmp_path: Path) -> None:
    stand.exchange.set_balance("USDC", "4.5")
    bot = Bot(stand, stand.config(), tmp_path / "report")
    assert bot.proc.wait(60) == 2, bot.stderr()[-2000:]
    assert 'free balance (4.5 USDC)' in bot.stderr() and 'quote_per_trade = "4.50" or less' in bot.stderr()
    assert not stand.exchange.orders
