"""Named crash points for the reliability tests ("SIGKILL at named points").

`IEC_CRASH_AT=<name>` makes the process kill itself with SIGKILL when it reaches that point, the
way a power cut or an OOM kill would, so tests can prove nothing is lost or doubled there.
"""

import os
import signal

from iec_pipeline.common.settings import VARIABLES


def crash_point(name: str) -> None:
    # Read on every call, not through Settings: tests set it between steps, and this stays one lookup.
    if os.environ.get(VARIABLES["crash_at"]) == name:
        os.kill(os.getpid(), signal.SIGKILL)
