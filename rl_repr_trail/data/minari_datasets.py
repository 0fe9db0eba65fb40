"""Minari datasets (Farama's successor to D4RL's): `minari:<dataset id>` names.

A dataset is read from its local copy under $MINARI_DATASETS_PATH (default
~/.minari/datasets; `minari download <id>` puts it there) with the minari package,
and its episodes become the project's transitions: terminations are D4RL's terminals,
truncations its timeouts. The task and its environment come from the dataset's own
metadata (Minari's MuJoCo datasets are gymnasium v5 tasks, e.g. Ant-v5 with 105
observation dims), and its ref_min_score / ref_max_score normalise the score.
"""

from __future__ import annotations

import os

import numpy as np

from rl_repr_trail.data import datasets
from rl_repr_trail.data import names
from rl_repr_trail.envs import tasks


def datasets_path() -> str:
  return os.path.expanduser(os.environ.get('MINARI_DATASETS_PATH', '~/.minari/datasets'))


def _open(name: str):
  """The MinariDataset of a `minari:` name, or a one-line error naming what is wrong."""
  import minari  # pylint: disable=g-import-not-at-top  # Only runs that name one need it.
  dataset_id = name[len(names.MINARI_PREFIX):]
  if not dataset_id:
    raise datasets.DataError(
        f'{name!r}: expected minari:<dataset id>, e.g. minari:mujoco/ant/medium-v0.')
  if not os.path.isdir(os.path.join(datasets_path(), dataset_id)):
    raise datasets.DataError(
        f'{name}: no local Minari dataset {dataset_id!r} under {datasets_path()} '
        f'($MINARI_DATASETS_PATH). Get it with `minari download {dataset_id}` on a machine '
        'with internet access and copy that folder here.')
  try:
    return minari.load_dataset(dataset_id)
  except Exception as e:  # pylint: disable=broad-except  # Minari raises many kinds.
    first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    raise datasets.DataError(f'{name}: cannot read the Minari dataset in '
                             f'{os.path.join(datasets_path(), dataset_id)}: {first_line}') from None


def task(name: str) -> tasks.Task:
  """The task of a Minari dataset: its environment spec and reference scores."""
  dataset = _open(name)
  spec = dataset.env_spec
  if spec is None:
    raise datasets.DataError(f'{name}: the dataset names no environment (no env_spec in its '
                             'metadata): it cannot be evaluated.')
  obs_space, action_space = dataset.observation_space, dataset.action_space
  if len(getattr(obs_space, 'shape', None) or ()) != 1 or len(action_space.shape or ()) != 1:
    raise datasets.DataError(f'{name}: observations {obs_space} and actions {action_space} must be '
                             'flat boxes (dict observations, as in goal-conditioned datasets, are '
                             'not supported).')
  try:
    tasks.gym.spec(spec.id)
  except tasks.gym.error.Error as e:
    raise datasets.DataError(f'{name}: its environment {spec.id!r} is not registered with '
                             f'gymnasium ({e}).') from None
  metadata = dataset.storage.metadata
  low, high = metadata.get('ref_min_score'), metadata.get('ref_max_score')
  if low is None or high is None or high == low:
    print(f'Note: {name} has no reference scores (ref_min_score / ref_max_score): its '
          '"normalized score" is the return.', flush=True)
    low, high = 0.0, 100.0
  kwargs = {k: v for k, v in (spec.kwargs or {}).items() if k != 'render_mode'}
  if spec.max_episode_steps:
    kwargs['max_episode_steps'] = spec.max_episode_steps
  return tasks.Task(name=spec.id, env_id=spec.id, obs_dim=int(obs_space.shape[0]),
                    action_dim=int(action_space.shape[0]), ref_min_score=float(low),
                    ref_max_score=float(high), env_kwargs=tuple(sorted(kwargs.items())))


def load(name: str) -> datasets.Dataset:
  """The transitions of every episode of a Minari dataset."""
  dataset = _open(name)
  parts = {k: [] for k in ('observations', 'actions', 'terminals', 'timeouts',
                           'next_observations')}
  for episode in dataset.iterate_episodes():
    obs = np.asarray(episode.observations, np.float32)
    steps = len(episode.actions)
    if obs.ndim != 2 or len(obs) != steps + 1:
      raise datasets.DataError(f'{name}: episode {episode.id} has {steps} actions and observations '
                               f'of shape {obs.shape}; expected {steps + 1} flat observations.')
    terminals = np.asarray(episode.terminations, bool)
    timeouts = np.asarray(episode.truncations, bool) & ~terminals
    if steps and not (terminals[-1] or timeouts[-1]):
      timeouts[-1] = True  # An episode cut when collection stopped ends there too.
    parts['observations'].append(obs[:-1])
    parts['next_observations'].append(obs[1:])
    parts['actions'].append(np.asarray(episode.actions, np.float32))
    parts['terminals'].append(terminals)
    parts['timeouts'].append(timeouts)
  if not parts['actions']:
    raise datasets.DataError(f'{name}: the dataset holds no episode.')
  arrays = {k: np.concatenate(v) for k, v in parts.items()}
  for key in ('observations', 'actions', 'next_observations'):
    datasets.check_values(name, key, arrays[key])
  return datasets.from_arrays(**arrays, source=name)
