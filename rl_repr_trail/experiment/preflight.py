"""What a sweep will do, found before anything runs: its data, update steps and time.

`data_status` resolves a dataset name without generating or reading its rows;
`step_counts` adds up a grid's update steps and evaluation episodes by kind; `estimate`
times a few seconds of each kind of step on this machine (TensorFlow is imported only
there).
"""

from __future__ import annotations

import collections
import os
import time
from typing import TYPE_CHECKING

import numpy as np

from rl_repr_trail.data import datasets
from rl_repr_trail.data import minari_datasets
from rl_repr_trail.data import names
from rl_repr_trail.datagen import generate
from rl_repr_trail.envs import tasks

if TYPE_CHECKING:  # pylint: disable=g-bad-import-order
  from rl_repr_trail.experiment.run_config import RunConfig


def data_status(name: str) -> str:
  """How a run gets the dataset `name` ('generate ...', 'cached ...', 'read ...'), or an
  errors.InputError / FileNotFoundError that says what is missing and where it goes."""
  if names.is_generated(name):
    generate.check(name)
    task, kind, rows = generate.parse_name(name)
    path = generate.dataset_path(task, kind, rows, seed=0)
    if os.path.exists(path):
      return f'cached at {path}'
    return f'to generate into {path}'
  if names.is_minari(name):
    minari_datasets.task(name)
    return 'read from Minari\'s local copy'
  return f'read from {datasets.resolve_path(name)}'


def step_counts(configs: list[RunConfig]) -> dict[str, int]:
  """Update steps by kind ('pretraining trail_ebm', 'downstream bc', ...) and evaluation
  episodes over the runs' settings."""
  counts: dict[str, int] = collections.Counter()
  for config in configs:
    method = config.spec
    if method.pretrains:
      counts[f'pretraining {method.embed_learner}'] += config.schedule.pretrain_steps
    counts[f'downstream {method.name}'] += config.schedule.downstream_steps
    counts['evaluation episodes'] += _evaluations(config) * config.schedule.eval_episodes
  return dict(counts)


def _evaluations(config: RunConfig) -> int:
  steps, interval = config.schedule.downstream_steps, config.schedule.eval_interval
  return steps // interval + (steps % interval != 0)


def _synthetic(task: tasks.Task, rows: int = 20_000, episode: int = 1000) -> datasets.Dataset:
  rng = np.random.default_rng(0)
  obs = rng.standard_normal((rows + 1, task.obs_dim)).astype(np.float32)
  timeouts = np.zeros(rows, bool)
  timeouts[episode - 1::episode] = True
  return datasets.from_arrays(obs[:-1], rng.uniform(-1, 1, (rows, task.action_dim)),
                              np.zeros(rows, bool), timeouts, obs[1:], source='synthetic')


def _rate(run, seconds: float) -> float:
  """Steps/s of a compiled `run(n)`: a warm-up call, then calls until `seconds` pass."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  float(run(tf.constant(5, tf.int32))['loss'])
  steps, start, n = 0, time.perf_counter(), 10
  while time.perf_counter() - start < seconds:
    float(run(tf.constant(n, tf.int32))['loss'])
    steps += n
    n *= 2
  return steps / (time.perf_counter() - start)


def _episode_seconds(task: tasks.Task, policy, episodes: int, steps: int = 100) -> float:
  """Seconds of `episodes` evaluation episodes run to the task's horizon, from `steps`
  timed environment steps and policy calls (an upper bound: episodes may end early)."""
  env = tasks.make_env(task)
  horizon = env.spec.max_episode_steps or 1000
  obs, _ = env.reset(seed=0)
  start = time.perf_counter()
  for _ in range(steps):
    obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
    if terminated or truncated:
      obs, _ = env.reset()
  env_seconds = (time.perf_counter() - start) / steps
  env.close()
  batch = np.zeros((episodes, task.obs_dim), np.float32)
  start = time.perf_counter()
  for _ in range(steps):
    policy(batch)
  policy_seconds = (time.perf_counter() - start) / steps
  return horizon * (episodes * env_seconds + policy_seconds)


def estimate(runs: list[tuple[RunConfig, tasks.Task]], seconds: float = 2.0
             ) -> tuple[float, list[str]]:
  """Seconds the runs take one after the other on this machine, and a line per
  kind of step timed: each (task, method) pair's learners on synthetic data of the task's
  sizes, about `seconds` a step kind, and its evaluation's environment steps."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from rl_repr_trail.core import devices  # pylint: disable=g-import-not-at-top
  from rl_repr_trail.core import specs  # pylint: disable=g-import-not-at-top
  from rl_repr_trail.core import training  # pylint: disable=g-import-not-at-top
  from rl_repr_trail.data import batches  # pylint: disable=g-import-not-at-top
  devices.configure()
  timed: dict[tuple[str, str], tuple[float | None, float, float]] = {}
  lines, total = [], 0.0
  for config, task in runs:
    key = (task.name, config.method)
    if key not in timed:
      method = config.spec
      spec = specs.EnvSpec(task.obs_dim, -np.ones(task.action_dim, np.float32),
                           np.ones(task.action_dim, np.float32))
      data = _synthetic(task)
      window = method.window(config.embedding)
      embedding, pretrain_rate = None, None
      if method.pretrains:
        embedding = method.make_embedding(spec, config.embedding, config.seed)
        sampler = batches.Sampler(data, 0, window=window)
        pretrain_rate = _rate(training.compile_steps(embedding.update, sampler,
                                                     config.batch_size), seconds)
      learner = method.make_downstream(spec, config.downstream, embedding, config.seed)
      expert = data.first_transitions(5_000)
      sampler = batches.Sampler(expert, 0, learner.expert_targets(expert), window=window)
      downstream_rate = _rate(training.compile_steps(learner.update, sampler,
                                                     config.batch_size), seconds)
      evaluation = _episode_seconds(task, learner.actor(task.obs_dim),
                                    config.schedule.eval_episodes)
      timed[key] = pretrain_rate, downstream_rate, evaluation
      tf.keras.backend.clear_session()
      lines.append(f'{task.name} {config.method}: '
                   + (f'pretraining {pretrain_rate:.0f} steps/s, ' if pretrain_rate else '')
                   + f'downstream {downstream_rate:.0f} steps/s, an evaluation of '
                   f'{config.schedule.eval_episodes} episodes at most {evaluation:.0f} s')
    pretrain_rate, downstream_rate, evaluation = timed[key]
    if pretrain_rate:
      total += config.schedule.pretrain_steps / pretrain_rate
    total += config.schedule.downstream_steps / downstream_rate + _evaluations(config) * evaluation
  return total, lines


def problem_line(error: Exception) -> str:
  """One line of an error's message (the first; data errors say file and place there)."""
  text = str(error).strip()
  return text.splitlines()[0] if text else type(error).__name__

