"""The errors a user sees as one line: bad input, and a run that cannot go on."""


class InputError(ValueError):
  """Bad input, with a message that names what is wrong and what was expected."""


class RunError(RuntimeError):
  """A run that stopped (its training diverged), with a message that says where and why."""
