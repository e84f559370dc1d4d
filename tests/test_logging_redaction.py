"""Logging: no secret reaches the console or the JSON file; correlation ids do."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from loguru import logger

from actors._lib.secrets import Secret
from actors.logging_setup import configure_logging, remove_logging
from actors.settings import LoggingSettings

KEY = "LOGTESTkey9f8e7d6c5b4a3210"  # registered below as if it came from .env
SIGNATURE = "a1b2c3d4e5f60718293a4b5c6d7e8f90aabbccddeeff00112233445566778899"
BEARER = "sk-or-v1-0123456789abcdefdeadbeef"
SECRET = Secret(KEY)


class Rig:
    def __init__(self, path: Path, console: io.StringIO) -> None:
        self.path = path
        self.console = console

    def close(self) -> tuple[str, list[dict[str, Any]]]:
        """Remove the sinks (flushing and closing the file) and return what reached them."""
        remove_logging()
        text = self.path.read_text(encoding="utf-8") if self.path.exists() else ""
        return self.console.getvalue(), [json.loads(line) for line in text.splitlines()]


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Leave loguru and the stdlib loggers as the other tests expect them."""
    levels = {name: logging.getLogger(name).level for name in ("", "pykka", "aiohttp", "websockets", "mine")}
    had_stderr = _has_stderr_sink()
    yield
    remove_logging()
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    if had_stderr and not _has_stderr_sink():
        # loguru's default sink back; looked up on each write, as pytest swaps sys.stderr per test
        logger.add(_to_stderr, level="DEBUG")


def _to_stderr(message: str) -> None:
    sys.stderr.write(message)


def _has_stderr_sink() -> bool:
    """loguru's default sink (id 0, which configure_logging removes) or the one put back below."""
    handlers = logger._core.handlers
    return 0 in handlers or any("_to_stderr" in str(h) for h in handlers.values())


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    path = tmp_path / "logs" / "trader.jsonl"
    console = io.StringIO()
    configure_logging(LoggingSettings(level="DEBUG", console_level="DEBUG", file=str(path)), stream=console)
    yield Rig(path, console)


class KeyError_(Exception):
    def __str__(self) -> str:  # a custom __str__, not args
        return f"exchange said: invalid key {KEY}"


def _log_every_leak() -> None:
    logger.info("GET /api/v3/order?symbol=TRUMPUSDC&timestamp=1&signature={}", SIGNATURE)
    logger.warning("headers {}", {"Authorization": f"Bearer {BEARER}", "X-MBX-APIKEY": KEY})
    logger.bind(api_key=KEY, nested={"deep": [f"key={KEY}", ("x", KEY)]}).info("bound the key")
    logger.error("the key itself: {}", SECRET.reveal())
    try:
        try:
            raise ValueError(f"bad request with key {KEY}")
        except ValueError as inner:
            raise KeyError_() from inner
    except KeyError_:
        logger.exception("placing an order failed")
    logging.getLogger("aiohttp.client").error("stdlib: signature=%s apiKey=%s", SIGNATURE, KEY)


def test_no_secret_reaches_console_or_file(rig: Rig) -> None:
    _log_every_leak()
    console, records = rig.close()
    file_text = rig.path.read_text(encoding="utf-8")
    for leak in (KEY, SIGNATURE, BEARER):
        assert leak not in console
        assert leak not in file_text
    assert console.count("***") >= 8
    assert "KeyError_: exchange said: invalid key ***" in console  # what happened is still told
    assert "ValueError: bad request with key ***" in console  # the cause too
    failed = next(r for r in records if r["record"]["message"] == "placing an order failed")
    assert failed["record"]["exception"]["type"] == "KeyError_"
    assert failed["record"]["exception"]["value"] == "exchange said: invalid key ***"
    bound = next(r for r in records if r["record"]["message"] == "bound the key")
    assert bound["record"]["extra"]["api_key"] == "***"
    assert bound["record"]["extra"]["nested"] == {"deep": ["key=***", ["x", "***"]]}
    assert any(r["record"]["extra"].get("stdlib") == "aiohttp.client" for r in records)


def test_correlation_ids_reach_the_json_and_the_console(rig: Rig) -> None:
    logger.bind(correlation_id="t-7-B").info("buy placed")
    logger.info("no correlation")
    console, records = rig.close()
    by_msg = {r["record"]["message"]: r for r in records}
    assert by_msg["buy placed"]["record"]["extra"]["correlation_id"] == "t-7-B"
    assert "[t-7-B]" in by_msg["buy placed"]["text"]
    assert "correlation_id" not in by_msg["no correlation"]["record"]["extra"]
    assert "[t-7-B] - buy placed" in console
    assert "] - no correlation" not in console and " - no correlation" in console


def test_configuring_twice_does_not_duplicate(rig: Rig) -> None:
    configure_logging(LoggingSettings(level="DEBUG", console_level="DEBUG", file=str(rig.path)), stream=rig.console)
    logger.info("once")
    console, records = rig.close()
    assert console.count("once") == 1
    assert sum(r["record"]["message"] == "once" for r in records) == 1


def test_stdlib_is_routed_and_noisy_libraries_held_at_warning(rig: Rig) -> None:
    logging.getLogger("pykka").info("pykka chatter")
    logging.getLogger("pykka").warning("pykka warning")
    logging.getLogger("websockets.client").debug("frame")
    logging.getLogger("mine").info("my own stdlib info")
    console, _records = rig.close()
    assert "pykka chatter" not in console and "frame" not in console
    assert "pykka warning" in console and "my own stdlib info" in console
    assert "test_logging_redaction" in console  # the caller's location, not logging/__init__.py


def test_level_and_default_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    try:
        configure_logging(LoggingSettings(level="WARNING", file=str(tmp_path / "x.jsonl")), json_file=None)
        logger.info("quiet")
        logger.warning("loud {}", KEY)
    finally:
        remove_logging()
    err = capsys.readouterr().err
    ours = [line for line in err.splitlines() if re.search(r"\| test_logging_redaction:\d+ - ", line)]  # our format
    assert [line.rsplit(" - ", 1)[1] for line in ours] == ["loud ***"]  # INFO filtered out by the level
    assert KEY not in err
    assert not (tmp_path / "x.jsonl").exists()  # json_file=None: no file


def test_rotation_and_retention(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    try:
        configure_logging(LoggingSettings(level="INFO", file=str(path), rotation="2 KB", retention=2), console=False)
        for i in range(60):
            logger.info("line {} {}", i, "x" * 50)
    finally:
        remove_logging()
    files = list(tmp_path.glob("r*.jsonl"))
    assert 2 <= len(files) <= 3  # the live file plus at most `retention` rotated ones


_TEXT = st.text(alphabet=st.characters(blacklist_characters="*", blacklist_categories=("Cs",)), max_size=30)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=_TEXT, after=_TEXT)
def test_the_key_never_survives_whatever_surrounds_it(rig: Rig, before: str, after: str) -> None:
    rig.console.seek(0)
    rig.console.truncate()
    logger.bind(ctx=before + KEY + after).info("{}", before + KEY + after)
    assert KEY not in rig.console.getvalue()


def test_console_and_file_levels_are_separate(tmp_path: Path) -> None:
    """By default the console shows warnings and errors while the JSON file keeps INFO."""
    path = tmp_path / "split.jsonl"
    console = io.StringIO()
    try:
        configure_logging(LoggingSettings(file=str(path)), stream=console)
        logger.info("routine progress")
        logger.warning("something to see")
    finally:
        remove_logging()
    messages = [json.loads(line)["record"]["message"] for line in path.read_text().splitlines()]
    assert messages == ["routine progress", "something to see"]
    assert "something to see" in console.getvalue() and "routine progress" not in console.getvalue()


def test_file_level_overrides_level_and_empty_falls_back(tmp_path: Path) -> None:
    from actors.logging_setup import levels

    assert levels(LoggingSettings()) == ("WARNING", "INFO")
    assert levels(LoggingSettings(level="DEBUG")) == ("WARNING", "DEBUG")  # `level` still sets the file
    assert levels(LoggingSettings(level="DEBUG", file_level="ERROR", console_level="INFO")) == ("INFO", "ERROR")
