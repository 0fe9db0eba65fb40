"""Tasks: D4RL and generated dataset names mapped to gymnasium MuJoCo environments.

D4RL's own environments need mujoco-py, which cannot be installed on a current
machine; the gymnasium v4 environments have the same observation and action
layouts (TRAIL.md section 7), so policies trained on D4RL files act in them.
"""

from __future__ import annotations

import dataclasses
import re
import warnings

import gymnasium as gym
import numpy as np

from rl_repr_trail import errors


@dataclasses.dataclass(frozen=True)
class Task:
  """A locomotion task: its gymnasium environment and D4RL reference scores."""

  name: str
  env_id: str
  obs_dim: int
  action_dim: int
  ref_min_score: float
  ref_max_score: float
  env_kwargs: tuple[tuple[str, object], ...] = ()
  # Observation dimensions that D4RL's files hold as zeros (ant contact forces).
  contact_dims: tuple[int, int] | None = None


TASKS: dict[str, Task] = {
    'halfcheetah': Task('halfcheetah', 'HalfCheetah-v4', 17, 6, -280.178953, 12135.0),
    'hopper': Task('hopper', 'Hopper-v4', 11, 3, -20.272305, 3234.3),
    'walker2d': Task('walker2d', 'Walker2d-v4', 17, 6, 1.629008, 4592.3),
    'ant': Task('ant', 'Ant-v4', 111, 8, -325.6, 3879.7,
                env_kwargs=(('use_contact_forces', True),), contact_dims=(27, 111)),
}

GENERATED_PREFIX = 'gen:'
_NAME_RE = re.compile(r'^(?:gen:)?([a-z0-9]+)-')


def task_for_dataset(name: str) -> Task:
  """Returns the task of a D4RL name ('ant-medium-v2') or a generated one ('gen:ant-medium')."""
  match = _NAME_RE.match(name)
  if not match or match.group(1) not in TASKS:
    raise errors.InputError(
        f'Unknown dataset name {name!r}: expected <task>-<kind>[-vN] or '
        f'{GENERATED_PREFIX}<task>-<kind> with task one of {sorted(TASKS)}.')
  return TASKS[match.group(1)]


def get_task(name: str) -> Task:
  """Looks a task up by its short name, with a clear error for unknown names."""
  if name not in TASKS:
    raise errors.InputError(f'Unknown task {name!r}: expected one of {sorted(TASKS)}.')
  return TASKS[name]


def make_env(task: Task, seed: int | None = None) -> gym.Env:
  """Creates the gymnasium environment of `task` (1,000-step episodes), seeded."""
  with warnings.catch_warnings():
    # The v4 environments are kept on purpose: they match D4RL's observation layouts.
    warnings.filterwarnings('ignore', message='.*is out of date.*')
    env = gym.make(task.env_id, **dict(task.env_kwargs))
  if seed is not None:
    env.reset(seed=seed)
    env.action_space.seed(seed)
  return env


def normalized_score(task: Task, episode_return: float | np.ndarray) -> float | np.ndarray:
  """D4RL normalized score: 100 * (R - R_min) / (R_max - R_min)."""
  return 100.0 * (episode_return - task.ref_min_score) / (
      task.ref_max_score - task.ref_min_score)
