"""Named crash points for the reliability tests (reliability-tests.md: "SIGKILL at named points").

`IEC_CRASH_AT=<name>` makes the process kill itself with SIGKILL when it reaches that point, the
way a power cut or an OOM kill would, so tests can prove nothing is lost or doubled there.
Unset (always, outside tests) it costs one dictionary lookup.
"""

import os
import signal


def crash_point(name: str) -> None:
    if os.environ.get("IEC_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
