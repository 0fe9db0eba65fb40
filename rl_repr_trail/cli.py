"""What the binaries that train share: quiet start-up and absl's app.run with quiet logs.

Importing this module, before numpy and TensorFlow load, sets two environment defaults
(a variable already set wins): TensorFlow's C++ log level 3, which hides CUDA probing on
a CPU, and one OpenBLAS thread, since numpy's small products (a policy's layer on a batch
of observations) run faster on one thread than on two that wait for each other
(docs/speed.md, "BLAS threads").
"""

import os
from typing import Callable

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')

# pylint: disable=g-import-not-at-top,wrong-import-position

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
