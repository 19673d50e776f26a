"""The canary sweep (reliability-tests.md row 20): after every test, the canary secrets must appear nowhere in what
the test printed or logged, what its `iec` subprocesses printed, or what it left on disk (stores, Dagster event
logs and storage under its DAGSTER_HOME, logs) — files written during the test only, each read up to a cap."""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Iterable
from pathlib import Path

from _pytest.capture import CaptureFixture

MAX_FILE_BYTES = 16 << 20  # a file's first 16 MB (a test store is far smaller)
MAX_TOTAL_BYTES = 256 << 20
# Inputs a test writes on purpose (a literal secret in a YAML the test says is refused, a .env): not outputs.
INPUT_NAMES = (".env",)
INPUT_SUFFIXES = (".yaml", ".yml", ".env")

_seen_output: list[str] = []  # what tests read from capsys/capfd, and what their subprocesses printed


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else ""


_real_readouterr = CaptureFixture.readouterr


def _recording_readouterr(self: CaptureFixture):  # type: ignore[no-untyped-def]
    result = _real_readouterr(self)
    _seen_output.extend((_text(result.out), _text(result.err)))
    return result


_real_run = subprocess.run


def _recording_run(*args, **kwargs):  # type: ignore[no-untyped-def]
    try:
        done = _real_run(*args, **kwargs)
    except subprocess.TimeoutExpired as error:
        _seen_output.extend((_text(error.stdout), _text(error.stderr)))
        raise
    _seen_output.extend((_text(done.stdout), _text(done.stderr)))
    return done


def install() -> None:
    """Record what tests read from capsys/capfd and what `subprocess.run` captured (once per session)."""
    CaptureFixture.readouterr = _recording_readouterr  # type: ignore[method-assign]
    subprocess.run = _recording_run  # type: ignore[assignment]


def canaries(fixed: Iterable[str], basic_auth: Iterable[tuple[str, str]]) -> set[bytes]:
    """The fixed canaries, their Basic-auth forms, and any environment value naming itself a canary."""
    values = {c for c in fixed if c}
    values |= {v for v in os.environ.values() if "canary" in v and len(v) >= 8}
    found = {v.encode() for v in values}
    found |= {base64.b64encode(f"{user}:{secret}".encode()) for user, secret in basic_auth}
    return found


def take_output() -> list[str]:
    out = list(_seen_output)
    _seen_output.clear()
    return out


def _is_input(path: Path) -> bool:
    return path.name in INPUT_NAMES or path.suffix in INPUT_SUFFIXES


def scan_files(root: Path, since: float, secrets: set[bytes]) -> tuple[list[str], int, int]:
    """Hits as "path: canary", and how many files and bytes were read."""
    hits: list[str] = []
    files = total = 0
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            path = Path(dirpath) / name
            try:
                stat = path.stat()
            except OSError:
                continue
            if stat.st_mtime < since or _is_input(path) or not path.is_file() or total >= MAX_TOTAL_BYTES:
                continue
            try:
                with open(path, "rb") as f:
                    content = f.read(min(MAX_FILE_BYTES, MAX_TOTAL_BYTES - total))
            except OSError:
                continue
            files += 1
            total += len(content)
            hits += [f"{path.relative_to(root)}: {s.decode()[:12]}…" for s in secrets if s in content]
    return hits, files, total


def scan_texts(texts: Iterable[tuple[str, str]], secrets: set[bytes]) -> list[str]:
    strings = [(where, text) for where, text in texts if text]
    return [f"{where}: {s.decode()[:12]}…" for where, text in strings for s in secrets if s.decode() in text]
