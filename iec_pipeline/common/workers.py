"""Worker processes: CPU-heavy Python beside the process that drives a sync, on another core.

A sync's process is bound by one GIL; a worker is `python -m <module>` with its own. The two talk
in length-prefixed pickle frames: requests on the worker's stdin (never argv: a database URL may
hold a password), answers on its stdout (anything else the worker prints goes to stderr). A worker
that fails answers ("error", text); one whose stdin closes before its work is done (its parent died
or gave up) stops without writing anything more.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import struct
import subprocess
import sys
from collections.abc import Callable
from typing import Any, BinaryIO, NoReturn

# Workers need POSIX pipes (`select` on a pipe); elsewhere the work stays in the driving process.
AVAILABLE = os.name == "posix"
_LENGTH = struct.Struct("<Q")
_PIPE_BYTES = 1 << 20  # Linux: room for a few frames, so neither side waits on every one


class WorkerError(RuntimeError):
    """A worker failed or died: the step it served fails (and its retry policy applies)."""


def send(stream: BinaryIO, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)))
    stream.write(data)
    stream.flush()


def receive(stream: BinaryIO) -> Any:
    """The next frame, or None at end of stream."""
    header = stream.read(_LENGTH.size)
    if len(header) < _LENGTH.size:
        return None
    (length,) = _LENGTH.unpack(header)
    data = stream.read(length)
    if len(data) < length:
        return None
    return pickle.loads(data)


class WorkerProcess:
    """The driving side of one worker process."""

    def __init__(self, module: str, name: str) -> None:
        self.name = name
        self.process = subprocess.Popen([sys.executable, "-m", module], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError, ImportError, AttributeError):  # F_SETPIPE_SZ: Linux only
                import fcntl

                fcntl.fcntl(stream.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_BYTES)

    def send(self, message: Any) -> None:
        try:
            send(self.process.stdin, message)
        except OSError as error:  # BrokenPipeError: it died
            raise self._failure(None) from error

    def answered(self) -> bool:
        """Whether an answer is waiting (never blocks)."""
        return bool(select.select([self.process.stdout], [], [], 0)[0])

    def receive(self) -> tuple:
        """The next answer; a failure or death of the worker raises `WorkerError`."""
        message = receive(self.process.stdout)
        if message is None or message[0] == "error":
            raise self._failure(message)
        return message

    def _failure(self, message: Any) -> WorkerError:
        """Why the worker is gone: the error it answered, else how it exited."""
        if message is None:  # a closed pipe: it is exiting; what it wrote before is still to be read
            try:
                self.process.wait(timeout=5)
                while (late := receive(self.process.stdout)) is not None:
                    message = late if late[0] == "error" else message
            except (OSError, EOFError, pickle.UnpicklingError, subprocess.TimeoutExpired):
                pass
        self.stop()
        if message is not None:
            return WorkerError(f"{self.name} failed: {message[1]}")
        return WorkerError(f"{self.name} exited with code {self.process.returncode} before finishing")

    def stop(self) -> None:
        """Ends the worker (done, or given up on: then it writes nothing more). Both pipes close
        first, so a worker blocked reading or writing one ends at once."""
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def serve(handle: Callable[[BinaryIO, BinaryIO], int]) -> NoReturn:
    """A worker's `__main__`: frames on the original stdout, anything printed to stderr; a failure
    is answered as ("error", text)."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        code = handle(sys.stdin.buffer, answers)
    except Exception as error:  # noqa: BLE001 - answered to the driving process, which fails its step
        send(answers, ("error", f"{type(error).__name__}: {error}"))
        code = 1
    sys.exit(code)
