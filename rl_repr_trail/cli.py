"""What the binaries that train share: absl's app.run with quiet logs."""

from typing import Callable

from absl import app
from absl import flags
from absl import logging


def run(main: Callable[[list[str]], None]) -> None:
  """app.run(main), with absl's log verbosity at WARNING unless --verbosity is given: at
  absl's default, INFO, TensorFlow 2.21 logs a line at every checkpoint it writes."""

  def quiet_main(argv: list[str]) -> None:
    if not flags.FLAGS['verbosity'].present:
      logging.set_verbosity(logging.WARNING)
    main(argv)

  app.run(quiet_main)
