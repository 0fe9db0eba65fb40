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


# Settings that several methods' configs share by flag name: each written once here.
HIDDEN = (256, 256)  # Hidden layers of every learner's MLPs (the paper's).


def hidden() -> Any:
  return setting(HIDDEN, 'Hidden layer sizes of every MLP.')


def entropy_term() -> Any:
  return setting(True, "Add the learned-temperature entropy term (target -|A|) to the losses "
                 "of TRAIL's action decoder (both phases), of BC's policy and of the opal "
                 "and spirl decoders downstream, as the paper and the original code. "
                 "skild's prior term stays.")


def embed_rate(default: float) -> Any:
  return setting(default, 'Pretraining Adam rate.', flag='embed_learning_rate',
                 changeable=True)


def downstream_rate(default: float) -> Any:
  return setting(default, 'Downstream Adam rate.', flag='downstream_learning_rate',
                 changeable=True)
