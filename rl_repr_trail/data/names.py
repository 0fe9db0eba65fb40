"""The one parser of dataset names: what a --offline_data / --expert_data value names.

  hopper-medium-v2                D4RL: TASK-KIND-vN (antmaze-umaze-diverse-v2: the
                                  antmaze_umaze task, kind umaze-diverse)
  gen:hopper-medium[-ROWS]        generated from the bundled policies (datagen/)
  minari:mujoco/hopper/expert-v0  a Minari dataset id
  path/to/file.hdf5               a D4RL-format file
  memory:NAME                     arrays given to Agent.train
"""

from __future__ import annotations

import dataclasses
import os
import re

from rl_repr_trail.core import errors
from rl_repr_trail.envs import tasks

GENERATED_PREFIX = 'gen:'
MINARI_PREFIX = 'minari:'
MEMORY_PREFIX = 'memory:'
_D4RL = re.compile(r'^([a-z0-9]+)-([a-z-]+?)-v(\d+)$')
_GENERATED = re.compile(r'^gen:([a-z0-9_]+)-([a-z-]+?)(?:-(\d+))?$')


@dataclasses.dataclass(frozen=True)
class DataName:
  text: str
  source: str               # 'd4rl', 'generated', 'minari', 'file', 'memory' or 'unknown'.
  task: str | None = None   # The task's short name, where the name says it.
  kind: str | None = None   # medium, medium-replay, umaze-diverse, ...
  version: int | None = None  # D4RL's vN.
  rows: int | None = None   # A generated name's rows (None: the default).

  @property
  def label(self) -> str:
    """As tables show it: 'medium (gen)', 'medium-v2', else the file's or id's stem."""
    if self.source == 'generated' and self.kind:
      return f'{self.kind} (gen)'
    if self.source == 'd4rl':
      return f'{self.kind}-v{self.version}'
    return os.path.splitext(os.path.basename(self.text))[0]


def is_generated(name: str | None) -> bool:
  return bool(name) and name.startswith(GENERATED_PREFIX)


def is_minari(name: str | None) -> bool:
  return bool(name) and name.startswith(MINARI_PREFIX)


def is_path(name: str) -> bool:
  """Whether a --*_data value names a file rather than a dataset."""
  return name.endswith(('.hdf5', '.h5')) or os.sep in name and not is_minari(name)


def parse(name: str) -> DataName:
  if is_minari(name):
    return DataName(name, 'minari')
  if name.startswith(MEMORY_PREFIX):
    return DataName(name, 'memory')
  if is_path(name):
    return DataName(name, 'file')
  if is_generated(name):
    match = _GENERATED.match(name)
    if not match:
      return DataName(name, 'generated')
    return DataName(name, 'generated', match.group(1), match.group(2),
                    rows=int(match.group(3)) if match.group(3) else None)
  match = _D4RL.match(name)
  if not match:
    return DataName(name, 'unknown')
  env, kind, version = match.group(1), match.group(2), int(match.group(3))
  task = f'antmaze_{kind.split("-")[0]}' if env == 'antmaze' else env
  return DataName(name, 'd4rl', task, kind, version)


def generated(task: str, kind: str, rows: int | None = None) -> str:
  """The generated name of `rows` rows of `kind` data of `task`."""
  return f'{GENERATED_PREFIX}{task}-{kind}' + (f'-{rows}' if rows is not None else '')


def task(name: str) -> tasks.Task:
  """The task a D4RL or generated name is of, or a one-line error."""
  found = parse(name).task
  if found not in tasks.TASKS:
    raise errors.InputError(
        f'Unknown dataset name {name!r}: expected <task>-<kind>-vN (D4RL) or '
        f'{GENERATED_PREFIX}<task>-<kind>[-<rows>] with task one of {sorted(tasks.TASKS)}.')
  return tasks.TASKS[found]


def label(name: str | None, none: str = 'none') -> str:
  """parse(name).label, or `none` for no data."""
  return parse(name).label if name else none


def kind_of_label(text: str) -> str:
  """The kind of data a label shows: 'medium (gen)' and 'medium-v2' -> 'medium'."""
  return text.split(' ')[0].rsplit('-v', 1)[0]
