"""Clean stops: SIGTERM and SIGINT (a cluster's time limit, a preemption, Ctrl-C) ask a
run to save a checkpoint at its current step and exit, rather than kill it.

`stop_signals()` records the first such signal; the training loop asks `requested()`
between compiled calls. A second signal acts as it would without this module (Ctrl-C
twice stops at once).
"""

from __future__ import annotations

import contextlib
import signal
import threading

# The exit status of a run stopped by a signal after saving its state: "try again later"
# (sysexits' EX_TEMPFAIL). A rerun of the same command resumes it.
STOPPED_EXIT_CODE = 75
SIGNALS = (signal.SIGTERM, signal.SIGINT)

_received: list[int] = []


class Stopped(Exception):
  """The run saved its state and stopped on a signal; the message says where."""


def requested() -> str | None:
  """The name of the signal that asked the run to stop, or None."""
  return signal.Signals(_received[0]).name if _received else None


@contextlib.contextmanager
def stop_signals():
  """Within it, SIGTERM and SIGINT are recorded instead of ending the process (in the main
  thread only: elsewhere Python cannot install handlers, and nothing changes)."""
  if threading.current_thread() is not threading.main_thread():
    yield
    return
  previous = {s: signal.getsignal(s) for s in SIGNALS}

  def record(signum, frame):
    del frame
    _received.append(signum)
    for s, handler in previous.items():  # A second signal acts as before.
      signal.signal(s, handler)

  for s in SIGNALS:
    signal.signal(s, record)
  try:
    yield
  finally:
    _received.clear()
    for s, handler in previous.items():
      signal.signal(s, handler)
