"""Shared fixtures: small D4RL-format files written with the project's own writer."""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')
os.environ.setdefault('OPENBLAS_NUM_THREADS', '1')  # As the binaries set it.

import numpy as np  # pylint: disable=g-import-not-at-top
import pytest

from rl_repr_trail.data import datasets
from rl_repr_trail.datagen import generate
from rl_repr_trail.envs import tasks


def write_rollout(path, task_name: str, rows: int, seed: int, policy=None) -> str:
  task = tasks.get_task(task_name)
  arrays = generate.rollout(task, policy, rows, seed, num_envs=4)
  datasets.write_hdf5(str(path), arrays, {'task': task.name, 'policy': 'random', 'seed': seed})
  return str(path)


@pytest.fixture(scope='session')
def hopper_files(tmp_path_factory):
  """A random-policy offline file and a 'expert' file of a fixed linear policy (hopper)."""
  root = tmp_path_factory.mktemp('hopper')
  weights = np.random.default_rng(3).normal(0, 0.3, (11, 3)).astype(np.float32)
  offline = write_rollout(root / 'offline.hdf5', 'hopper', 3000, seed=0)
  expert = write_rollout(root / 'expert.hdf5', 'hopper', 2000, seed=1,
                         policy=lambda obs: np.tanh(obs @ weights))
  return {'offline': offline, 'expert': expert, 'root': root}
