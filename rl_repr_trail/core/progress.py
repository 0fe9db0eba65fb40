"""Progress lines with rate and ETA for long loops, printed at most every few seconds."""

from __future__ import annotations

import sys
import time


class Progress:
  """Tracks a counter from `start` to `total` and prints rate and ETA when asked."""

  def __init__(self, label: str, total: int, start: int = 0, every_seconds: float = 10.0,
               stream=sys.stdout):
    self.label = label
    self.total = total
    self.start = start
    self.every_seconds = every_seconds
    self.stream = stream
    self._t0 = self._last = time.time()

  def rate(self, current: int) -> float:
    """Units per second since this tracker started."""
    elapsed = time.time() - self._t0
    return (current - self.start) / elapsed if elapsed > 0 else 0.0

  def update(self, current: int, extra: str = '', force: bool = False) -> None:
    now = time.time()
    if not force and now - self._last < self.every_seconds:
      return
    self._last = now
    rate = self.rate(current)
    eta = (self.total - current) / rate if rate > 0 else float('inf')
    line = (f'[{self.label}] {current}/{self.total} ({100.0 * current / self.total:.0f}%) '
            f'{rate:.1f}/s ETA {format_seconds(eta)}')
    print(f'{line} {extra}'.rstrip(), file=self.stream, flush=True)


def format_seconds(seconds: float) -> str:
  if seconds == float('inf'):
    return '?'
  seconds = int(seconds)
  hours, rest = divmod(seconds, 3600)
  return f'{hours}h{rest // 60:02d}m' if hours else f'{rest // 60}m{rest % 60:02d}s'
