"""`[data]`: where `download` fetches from and how many files at a time; bad values name the key."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from actors.download.progress import PlainReporter, RichReporter, reporter
from actors.settings import DataSettings, SettingsError, load_settings


def test_data_defaults_and_what_is_refused(tmp_path: Path) -> None:
    assert load_settings().data == DataSettings(base_url="https://data.binance.vision", max_parallel=4)
    cfg = tmp_path / "s.toml"
    for body, says in (('base_url = "ftp://mirror"', "data.base_url must start with http:// or https://"),
                       ("max_parallel = 0", "data.max_parallel must be in 1..32"),
                       ("max_parallel = 33", "data.max_parallel must be in 1..32"),
                       ("parallel = 2", "unknown setting data.parallel")):
        cfg.write_text(f"[data]\n{body}\n")
        with pytest.raises(SettingsError) as err:
            load_settings(cfg)
        assert says in str(err.value)
    cfg.write_text('[data]\nbase_url = "http://127.0.0.1:9"\nmax_parallel = 8\n')
    assert load_settings(cfg).data == DataSettings(base_url="http://127.0.0.1:9", max_parallel=8)


def test_a_terminal_gets_a_bar_with_bytes_and_a_pipe_gets_lines() -> None:
    screen = io.StringIO()
    bar = reporter(3, Console(file=screen, force_terminal=True, width=120))
    assert isinstance(bar, RichReporter)
    bar.begin("C.zip", 0, 100)  # another file's task first: task ids are not list positions once one is gone
    bar.advance("C.zip", 100)
    bar.finish("C.zip", "fetched", "")
    bar.begin("A.zip", 0, 2_000_000)
    bar.advance("A.zip", 500_000)
    bar.begin("A.zip", 500_000, 2_000_000)  # a retry resuming: counted once, not twice
    whole = bar.progress.tasks[0]
    assert whole.completed == 100 + 500_000 and whole.total == 100 + 2_000_000
    bar.advance("A.zip", 1_500_000)
    bar.finish("A.zip", "fetched", "")
    bar.finish("B.zip", "bad", "the zip does not open")
    bar.close()
    drawn = screen.getvalue()
    assert "3/3 files" in drawn and "2.0 MB" in drawn and "bad      B.zip  the zip does not open" in drawn
    piped = io.StringIO()
    lines = reporter(2, Console(file=piped, force_terminal=False))
    assert isinstance(lines, PlainReporter)
    lines.begin("A.zip", 1000, 2000)
    lines.finish("A.zip", "fetched", "")
    lines.finish("B.zip", "bad", "checksum mismatch twice: not kept")
    assert piped.getvalue().splitlines() == ["resuming A.zip at 1.0 kB", "[1/2] fetched  A.zip",
                                             "[2/2] bad      B.zip  checksum mismatch twice: not kept"]
