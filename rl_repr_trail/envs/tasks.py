"""Tasks: the gymnasium environments of the D4RL and DM Control tables (data/names.py
parses which task a dataset name is of).

D4RL's own environments need mujoco-py, which cannot be installed on a current
machine; the gymnasium v4 environments have the same observation and action
layouts (docs/reference.md, "D4RL files and environments"), so policies trained on D4RL files act in them.
DeepMind Control Suite tasks (cartpole_swingup, ...) run through shimmy's
gymnasium wrapper with their observations flattened; their returns lie in
[0, 1000], so their normalized score is return / 10.
AntMaze tasks run gymnasium-robotics' AntMaze with D4RL's maze layouts and its
evaluation start and goal cells; observations are laid out and placed as in
D4RL's files (x, y relative to the start cell, then the rest of qpos and qvel,
29 dims); an episode ends at the goal with return 1, so the normalized score is
the success rate in percent.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
import warnings

import gymnasium as gym
import mujoco
import numpy as np

from rl_repr_trail.core import errors


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
  # The environment computes no contact forces: they are observed as zeros in
  # contact_dims and cost nothing in the reward, as in D4RL's ant files (docs/reference.md).
  zero_contact_forces: bool = False


TASKS: dict[str, Task] = {
    'halfcheetah': Task('halfcheetah', 'HalfCheetah-v4', 17, 6, -280.178953, 12135.0),
    'hopper': Task('hopper', 'Hopper-v4', 11, 3, -20.272305, 3234.3),
    'walker2d': Task('walker2d', 'Walker2d-v4', 17, 6, 1.629008, 4592.3),
    'ant': Task('ant', 'Ant-v4', 111, 8, -325.6, 3879.7,
                env_kwargs=(('use_contact_forces', False),), contact_dims=(27, 111),
                zero_contact_forces=True),
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
# name: (gymnasium-robotics id, D4RL's evaluation start and goal cells (row, column) in
# its maze layout, episode steps), from d4rl.locomotion (*_MAZE_TEST, max_episode_steps).
ANTMAZE = {
    'antmaze_umaze': ('AntMaze_UMaze-v4', (1, 1), (3, 1), 700),
    'antmaze_medium': ('AntMaze_Medium-v4', (1, 1), (6, 6), 1000),
    'antmaze_large': ('AntMaze_Large-v4', (1, 1), (7, 9), 1000),
}
TASKS.update({name: Task(name, env_id, 29, 8, 0.0, 1.0, env_kwargs=(
    ('start_cell', start), ('goal_cell', goal), ('max_episode_steps', steps)))
              for name, (env_id, start, goal, steps) in ANTMAZE.items()})


def get_task(name: str) -> Task:
  """Looks a task up by its short name, with a clear error for unknown names."""
  if name not in TASKS:
    raise errors.InputError(f'Unknown task {name!r}: expected one of {sorted(TASKS)}.')
  return TASKS[name]


class _D4RLAntMazeObservation(gym.ObservationWrapper):
  """gymnasium-robotics' dict observation as D4RL's antmaze array: qpos (x, y relative to
  the start cell) then qvel, 29 dims. The goal is not observed, as in D4RL."""

  def __init__(self, env: gym.Env, start_xy: np.ndarray):
    super().__init__(env)
    self._start_xy = start_xy
    self.observation_space = gym.spaces.Box(-np.inf, np.inf, (29,), np.float64)

  def observation(self, observation: dict) -> np.ndarray:
    return np.concatenate([observation['achieved_goal'] - self._start_xy,
                           observation['observation']])


class _ZeroContactForces(gym.ObservationWrapper):
  """Pads the observation with zeros in the task's contact-force dimensions: Ant-v4
  without contact forces (27 dims, no contact cost) laid out as D4RL's 111."""

  def __init__(self, env: gym.Env, obs_dim: int):
    super().__init__(env)
    self._pad = obs_dim - env.observation_space.shape[0]
    self.observation_space = gym.spaces.Box(-np.inf, np.inf, (obs_dim,), np.float64)

  def observation(self, observation: np.ndarray) -> np.ndarray:
    return np.concatenate([observation, np.zeros(self._pad, observation.dtype)])


def _make_antmaze(task: Task) -> gym.Env:
  import gymnasium_robotics  # pylint: disable=g-import-not-at-top  # Optional dependency.
  from gymnasium_robotics.envs.maze import maps  # pylint: disable=g-import-not-at-top
  gym.register_envs(gymnasium_robotics)
  kwargs = dict(task.env_kwargs)
  layout = {'antmaze_umaze': maps.U_MAZE, 'antmaze_medium': maps.MEDIUM_MAZE,
            'antmaze_large': maps.LARGE_MAZE}[task.name]
  cells = [list(row) for row in layout]
  (sr, sc), (gr, gc) = kwargs['start_cell'], kwargs['goal_cell']
  cells[sr][sc], cells[gr][gc] = 'r', 'g'
  # gymnasium-robotics puts row 0 at the top (largest y), D4RL at the smallest y:
  # reversing the rows builds D4RL's maze, not its mirror image.
  cells = cells[::-1]
  with warnings.catch_warnings():
    warnings.filterwarnings('ignore', message='.*is out of date.*')
    env = gym.make(task.env_id, maze_map=cells, continuing_task=False,
                   max_episode_steps=kwargs['max_episode_steps'])
  start_xy = env.unwrapped.maze.cell_rowcol_to_xy(np.array([len(cells) - 1 - sr, sc]))
  return _D4RLAntMazeObservation(env, start_xy)


# MuJoCo 3.17 warns, on every compile, that gymnasium's half_cheetah.xml and dm_control's
# cheetah.xml use a compiler attribute it deprecates (settotalmass); left to itself it
# prints that and appends it to MUJOCO_LOG.TXT in the working directory.
_MODEL_FILE_DEPRECATION = re.compile(r"compiler attribute '\w+' is deprecated")


def _mujoco_warning(message: str) -> None:
  """MuJoCo's warning handler: drops the model-file deprecations the project cannot fix
  (the files are its dependencies'), prints any other warning to stderr, writes no file."""
  if not _MODEL_FILE_DEPRECATION.match(message):
    print(f'MuJoCo warning: {message}', file=sys.stderr)


def make_env(task: Task, seed: int | None = None) -> gym.Env:
  """Creates the gymnasium environment of `task`, seeded."""
  is_dm_control = task.env_id.startswith(_DM_CONTROL_PREFIX)
  if is_dm_control:
    # Nothing is rendered, so no renderer is loaded: none probes for an X display, and
    # EGL's, loaded beside TensorFlow 2.21, aborts the process at exit (free(): invalid
    # pointer).
    os.environ.setdefault('MUJOCO_GL', 'disable')
    import shimmy  # pylint: disable=g-import-not-at-top  # Registers the dm_control/* ids.
    gym.register_envs(shimmy)
  # Set after dm_control's import, which installs a handler of its own (absl logging).
  mujoco.set_mju_user_warning(_mujoco_warning)
  if task.name in ANTMAZE:
    env = _make_antmaze(task)
  elif is_dm_control:
    env = gym.wrappers.FlattenObservation(gym.make(task.env_id))
  else:
    with warnings.catch_warnings():
      # The v4 environments are kept on purpose: they match D4RL's observation layouts.
      warnings.filterwarnings('ignore', message='.*is out of date.*')
      env = gym.make(task.env_id, **dict(task.env_kwargs))
    if task.zero_contact_forces:
      env = _ZeroContactForces(env, task.obs_dim)
  if seed is not None:
    env.reset(seed=seed)
    env.action_space.seed(seed)
  return env


def physics_state(env: gym.Env) -> tuple[np.ndarray, np.ndarray]:
  """qpos and qvel of the simulator behind a MuJoCo or dm_control environment."""
  inner = env.unwrapped
  if hasattr(inner, 'ant_env'):  # gymnasium-robotics' AntMaze.
    inner = inner.ant_env
  data = inner.physics.data if hasattr(inner, 'physics') else inner.data
  return data.qpos.copy(), data.qvel.copy()


def normalized_score(task: Task, episode_return: float | np.ndarray) -> float | np.ndarray:
  """D4RL normalized score: 100 * (R - R_min) / (R_max - R_min)."""
  return 100.0 * (episode_return - task.ref_min_score) / (
      task.ref_max_score - task.ref_min_score)
