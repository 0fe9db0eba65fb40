"""What the binaries that train share: absl's app.run with quiet logs."""

from typing import Callable

from absl import app
from absl import flags


def run(main: Callable[[list[str]], None]) -> None:
  """app.run(main), with absl's log verbosity at WARNING unless --verbosity says otherwise:
  at absl's default, INFO, TensorFlow 2.21 logs a line at every checkpoint it writes."""
  flags.FLAGS.set_default('verbosity', -1)
  app.run(main)
