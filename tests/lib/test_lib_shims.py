"""The helpers moved to `actors._lib`; the old module paths must keep giving the very same objects."""

from __future__ import annotations

import importlib

import pytest

MOVED = {
    "aio": ["LoopThread"],
    "codec": ["dumps", "from_jsonable", "loads", "plain", "to_jsonable"],
    "secrets": ["REDACTED", "Secret", "from_env", "redact"],
    "faults": ["POINTS", "crash_point"],
}


@pytest.mark.parametrize("name", sorted(MOVED))
def test_old_path_reexports_the_moved_module(name: str) -> None:
    old = importlib.import_module(f"actors.{name}")
    new = importlib.import_module(f"actors._lib.{name}")
    assert sorted(new.__all__) == sorted(MOVED[name])
    for attr in MOVED[name]:
        assert getattr(old, attr) is getattr(new, attr), attr
