"""A settings dataclass field: its default, its command-line flag and whether it is part of
a run directory's identity. Plain data (no TensorFlow): the binaries generate their flags
and help text from these fields, so each default and its description are written once."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable


def setting(default: Any, help: str, *, flag: str | None = None, identity: bool = True,
            changeable: bool = False,
            choices: tuple[str, ...] | Callable[[], tuple[str, ...]] | None = None
            ) -> Any:  # pylint: disable=redefined-builtin
  """A field whose flag is `flag` (default: the field's name), whose values are `choices`
  (or what calling it returns, when they may grow). identity=False: a rerun of a run
  directory may change it (how long, how often, where). changeable: part of the identity,
  but a resume may change it when asked to (--resume_changed), e.g. a lower rate after a
  divergence; the change is recorded in the run's config.json."""
  return dataclasses.field(default=default, metadata={
      'help': help, 'flag': flag, 'identity': identity, 'changeable': changeable,
      'choices': choices})


def flag_name(field: dataclasses.Field) -> str:
  return field.metadata.get('flag') or field.name


def in_identity(field: dataclasses.Field) -> bool:
  return field.metadata.get('identity', True)


def value_text(value: Any) -> Any:
  """A setting as a label shows it: lists and tuples as 'a,b', the rest as it is."""
  return ','.join(map(str, value)) if isinstance(value, (list, tuple)) else value


def changeable(field: dataclasses.Field) -> bool:
  return field.metadata.get('changeable', False)
