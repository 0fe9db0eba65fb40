"""Tasks: D4RL and generated dataset names mapped to gymnasium environments.

D4RL's own environments need mujoco-py, which cannot be installed on a current
machine; the gymnasium v4 environments have the same observation and action
layouts (TRAIL.md section 7), so policies trained on D4RL files act in them.
DeepMind Control Suite tasks (cartpole_swingup, ...) run through shimmy's
gymnasium wrapper with their observations flattened; their returns lie in
[0, 1000], so their normalized score is return / 10.
"""

from __future__ import annotations

import dataclasses
import os
import re
import warnings

import gymnasium as gym
import numpy as np

from rl_repr_trail import errors


@dataclasses.dataclass(frozen=True)
class Task:
  """A task: its gymnasium environment and reference scores (D4RL's for locomotion)."""

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
DM_CONTROL = {  # name: (domain-task, flattened observation dims, action dims).
    'cartpole_swingup': ('cartpole-swingup', 5, 1),
    'cheetah_run': ('cheetah-run', 17, 6),
    'walker_walk': ('walker-walk', 24, 6),
    'quadruped_run': ('quadruped-run', 78, 12),
    'humanoid_run': ('humanoid-run', 67, 21),
}
_DM_CONTROL_PREFIX = 'dm_control/'
TASKS.update({name: Task(name, f'{_DM_CONTROL_PREFIX}{spec}-v0', obs, act, 0.0, 1000.0)
              for name, (spec, obs, act) in DM_CONTROL.items()})

GENERATED_PREFIX = 'gen:'
_NAME_RE = re.compile(r'^(?:gen:)?([a-z0-9_]+)-')


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
  if task.env_id.startswith(_DM_CONTROL_PREFIX):
    # Nothing is rendered; EGL keeps dm_control from probing for an X display.
    os.environ.setdefault('MUJOCO_GL', 'egl')
    import shimmy  # pylint: disable=g-import-not-at-top  # Registers the dm_control/* ids.
    gym.register_envs(shimmy)
    env = gym.wrappers.FlattenObservation(gym.make(task.env_id))
  else:
    with warnings.catch_warnings():
      # The v4 environments are kept on purpose: they match D4RL's observation layouts.
      warnings.filterwarnings('ignore', message='.*is out of date.*')
      env = gym.make(task.env_id, **dict(task.env_kwargs))
  if seed is not None:
    env.reset(seed=seed)
    env.action_space.seed(seed)
  return env


def physics_state(env: gym.Env) -> tuple[np.ndarray, np.ndarray]:
  """qpos and qvel of the simulator behind a MuJoCo or dm_control environment."""
  inner = env.unwrapped
  data = inner.physics.data if hasattr(inner, 'physics') else inner.data
  return data.qpos.copy(), data.qvel.copy()


def normalized_score(task: Task, episode_return: float | np.ndarray) -> float | np.ndarray:
  """D4RL normalized score: 100 * (R - R_min) / (R_max - R_min)."""
  return 100.0 * (episode_return - task.ref_min_score) / (
      task.ref_max_score - task.ref_min_score)
