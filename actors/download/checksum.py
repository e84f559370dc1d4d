"""data.binance.vision's `.CHECKSUM` files: `<sha256>  <file name>`, one line, beside every zip."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

_LINE = re.compile(r"^([0-9a-fA-F]{64})\s+\*?(\S+)\s*$")
_BLOCK = 1 << 20


class ChecksumError(ValueError):
    """A `.CHECKSUM` that is not one `<sha256>  <name>` line for the expected file."""


def parse(text: str, name: str) -> str:
    """The lower-case hex digest `text` gives for `name`; `ChecksumError` if it gives none, or another file's."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    if len(lines) != 1 or not (m := _LINE.match(lines[0].strip())):
        raise ChecksumError(f"{name}.CHECKSUM is not '<sha256>  <file name>': {text[:80]!r}")
    if Path(m.group(2)).name != name:
        raise ChecksumError(f"{name}.CHECKSUM is for another file ({m.group(2)!r})")
    return m.group(1).lower()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(_BLOCK):
            h.update(block)
    return h.hexdigest()


def line(digest: str, name: str) -> str:
    """A `.CHECKSUM` as Binance writes it (what the tests' stand-in serves)."""
    return f"{digest}  {name}\n"


__all__ = ["ChecksumError", "line", "parse", "sha256_file"]
