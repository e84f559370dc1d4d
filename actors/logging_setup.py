"""Logging for the whole process: loguru to the console and to a rotating JSON-lines file.

- Console (stderr): one human-readable line per record at `console_level`
  or above (WARNING by default, so progress lines on stdout stay readable),
  with the `correlation_id` (from `logger.bind(correlation_id=...)`) when
  there is one.
- File: JSON lines (`serialize=True`) at `file_level` ("" = `level`, INFO by
  default), rotated by `logging.rotation` and pruned to `logging.retention`
  files; the correlation id is in `record.extra.correlation_id`.
- Secrets: a patcher runs `actors._lib.secrets.redact` over every record before any
  sink sees it: the message, every string in `extra` (nested too) and the
  exception (its text and the whole chain of causes). Sinks never print local
  variables (`diagnose=False`), and the console sink redacts its final text
  once more. So a registered secret, a `signature=...` or a `Bearer ...`
  reaches neither the terminal nor the file.
- The stdlib `logging` (pykka, aiohttp, websockets, asyncio) is routed into
  loguru by an `InterceptHandler` on the root logger; those libraries are
  held at WARNING.

`configure_logging` may be called again (say, after the settings are read):
it replaces the sinks it added before and leaves sinks others added alone.
"""

from __future__ import annotations

import inspect
import logging
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from loguru import logger

if TYPE_CHECKING:
    from loguru import Record

from actors._lib.secrets import redact
from actors.settings import LoggingSettings

NOISY_LIBRARIES = ("pykka", "aiohttp", "aiohttp.access", "aiohttp.server", "websockets", "asyncio", "urllib3")

_FROM_SETTINGS: Any = object()
_LOCK = threading.Lock()
_sink_ids: list[int] = []

_LEVELS = {"TRACE": 5, "DEBUG": 10, "INFO": 20, "SUCCESS": 25, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}


def _cid(record: Record) -> str:
    return " [{extra[correlation_id]}]" if record["extra"].get("correlation_id") else ""


def _console_format(record: Record) -> str:
    return ("<green>{time:YYYY-MM-DD HH:mm:ss.SSS}</green> | <level>{level: <8}</level> | "
            "<cyan>{name}</cyan>:<cyan>{line}</cyan>" + _cid(record) + " - <level>{message}</level>\n{exception}")


def _file_format(record: Record) -> str:
    return "{time:YYYY-MM-DD HH:mm:ss.SSS} | {level: <8} | {name}:{line}" + _cid(record) + " - {message}\n{exception}"


# -- redaction -----------------------------------------------------------------------


def _redact_value(value: Any, depth: int = 0) -> Any:
    if isinstance(value, str):
        return redact(value)
    if depth > 4:
        return value
    if isinstance(value, dict):
        return {k: _redact_value(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_value(v, depth + 1) for v in value]
    if isinstance(value, tuple):
        return tuple(_redact_value(v, depth + 1) for v in value)
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    # anything else is printed with str() by the sinks: print it here, redacted
    try:
        text = str(value)
    except Exception:  # noqa: BLE001
        return f"<unprintable {type(value).__name__}>"
    return redact(text)


_REDACTED_TYPES: dict[type, type] = {}


def _redacted_type(original: type[BaseException]) -> type[BaseException]:
    """A stand-in class with the original's name and module, so tracebacks still read right."""
    cls = _REDACTED_TYPES.get(original)
    if cls is None:
        base = Exception if issubclass(original, Exception) else BaseException

        def __str__(self: BaseException) -> str:
            return str(self.args[0]) if self.args else ""

        cls = type(original.__name__, (base,), {"__module__": original.__module__,
                                                 "__qualname__": original.__qualname__, "__str__": __str__})
        _REDACTED_TYPES[original] = cls
    return cls


def redact_exception(exc: BaseException, _seen: set[int] | None = None) -> BaseException:
    """A copy of `exc` (and of its cause and context) whose text has been redacted."""
    seen = _seen if _seen is not None else set()
    seen.add(id(exc))
    try:
        text = str(exc)
    except Exception:  # noqa: BLE001
        text = f"<unprintable {type(exc).__name__}>"
    clean = _redacted_type(type(exc))(redact(text))
    clean.__traceback__ = exc.__traceback__
    clean.__suppress_context__ = exc.__suppress_context__
    if exc.__cause__ is not None and id(exc.__cause__) not in seen:
        clean.__cause__ = redact_exception(exc.__cause__, seen)
    if exc.__context__ is not None and id(exc.__context__) not in seen:
        clean.__context__ = redact_exception(exc.__context__, seen)
    notes = getattr(exc, "__notes__", None)
    if notes:
        clean.__notes__ = [redact(str(n)) for n in notes]
    return clean


def redact_record(record: Record) -> None:
    """The loguru patcher: redact the message, `extra` and the exception in place; never raises."""
    try:
        record["message"] = redact(record["message"])
        extra = record["extra"]
        for key, value in list(extra.items()):
            extra[key] = _redact_value(value)
        exc = record["exception"]
        if exc is not None and exc.value is not None:
            clean = redact_exception(exc.value)
            record["exception"] = exc._replace(type=type(clean), value=clean)
    except Exception:  # noqa: BLE001 - a log call must never raise, nor leak
        record["message"] = "<a log record could not be redacted and was dropped>"
        record["exception"] = None
        record["extra"].clear()


class _RedactingStream:
    """The console sink: writes the formatted line redacted once more."""

    def __init__(self, stream: TextIO | None) -> None:
        self._stream = stream

    def write(self, message: Any) -> None:
        stream = self._stream if self._stream is not None else sys.stderr  # late: pytest swaps sys.stderr
        stream.write(redact(str(message)))

    def flush(self) -> None:
        stream = self._stream if self._stream is not None else sys.stderr
        stream.flush()


# -- the stdlib bridge --------------------------------------------------------------------


class InterceptHandler(logging.Handler):
    """Sends stdlib `logging` records to loguru, keeping the caller's location and the exception."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            level: str | int = logger.level(record.levelname).name
        except ValueError:
            level = record.levelno
        frame, depth = inspect.currentframe(), 0
        while frame is not None and (depth == 0 or frame.f_code.co_filename == logging.__file__):
            frame = frame.f_back
            depth += 1
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad %-format in a library
            message = str(record.msg)
        logger.opt(depth=depth, exception=record.exc_info).bind(stdlib=record.name).log(level, message)


def _intercept_stdlib(level: str) -> None:
    root = logging.getLogger()
    if not any(isinstance(h, InterceptHandler) for h in root.handlers):
        root.addHandler(InterceptHandler())
    root.setLevel(_LEVELS.get(level, logging.INFO))
    for name in NOISY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)


# -- the entry point ----------------------------------------------------------------------


def configure_logging(
    settings: LoggingSettings,
    console: bool = True,
    json_file: str | None = _FROM_SETTINGS,
    *,
    stream: TextIO | None = None,
) -> list[int]:
    """Set up the sinks; returns the loguru sink ids it added (earlier ones it added are removed).

    Args:
        settings: level, file, rotation, retention.
        console: write human-readable lines to `stream` (stderr by default).
        json_file: JSON-lines file; defaults to `settings.file`; None or "" for no file.
        stream: the console stream (tests pass a StringIO).
    """
    console_level, file_level = levels(settings)
    path = settings.file if json_file is _FROM_SETTINGS else json_file
    with _LOCK:
        _remove_ours()
        try:
            logger.remove(0)  # loguru's own stderr sink: ours replaces it
        except ValueError:
            pass
        logger.configure(patcher=redact_record)
        if console:
            _sink_ids.append(logger.add(
                _RedactingStream(stream), level=console_level, format=_console_format,
                colorize=stream is None and sys.stderr.isatty(), backtrace=False, diagnose=False))
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            _sink_ids.append(logger.add(
                path, level=file_level, format=_file_format, serialize=True,
                rotation=settings.rotation, retention=settings.retention, encoding="utf-8",
                backtrace=False, diagnose=False))
        used = [lv for lv, on in ((console_level, console), (file_level, bool(path))) if on] or [file_level]
        _intercept_stdlib(min(used, key=lambda lv: _LEVELS.get(lv, logging.INFO)))
        return list(_sink_ids)


def levels(settings: LoggingSettings) -> tuple[str, str]:
    """(console level, file level): `file_level` "" falls back to `level`, so an old `level` keeps working."""
    console = (getattr(settings, "console_level", "") or settings.level).upper()
    return console, (getattr(settings, "file_level", "") or settings.level).upper()


def remove_logging() -> None:
    """Undo `configure_logging`: its sinks (closing the file), the patcher and the stdlib bridge.

    Sinks others added stay; loguru's default stderr sink is not brought back.
    """
    with _LOCK:
        _remove_ours()
        logger.configure(patcher=_no_patch)
        root = logging.getLogger()
        for handler in [h for h in root.handlers if isinstance(h, InterceptHandler)]:
            root.removeHandler(handler)


def _remove_ours() -> None:
    """Remove the sinks `configure_logging` added (the caller holds `_LOCK`); one already gone is fine."""
    for sink_id in _sink_ids:
        try:
            logger.remove(sink_id)
        except ValueError:
            pass
    _sink_ids.clear()


def _no_patch(_record: Record) -> None:
    return None


__all__: list[str] = ["InterceptHandler", "configure_logging", "redact_exception", "redact_record", "remove_logging"]
