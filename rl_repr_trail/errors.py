"""The error raised for bad user input: a file, key, name or flag that cannot work."""


class InputError(ValueError):
  """Bad input, with a message that names what is wrong and what was expected."""
