"""Evaluation episodes, reproducible for a seed: raw returns and D4RL normalized scores."""

from __future__ import annotations

import json
import os
from typing import Callable

import numpy as np

from rl_repr_trail.envs import tasks
# run_episodes plays its episodes side by side, row i of each batch being episode i, so a
# policy is called once per environment step. One with a `reset(seeds)` method (an actor
# that samples latents or holds z) has it called before the first step with each row's
# episode seed, so that its draws for an episode repeat for that seed.
Policy = Callable[[np.ndarray], np.ndarray]


def run_episodes(policy: Policy, task: tasks.Task, num_episodes: int, seed: int,
                 zero_contact_forces: bool = False) -> np.ndarray:
  """Returns the undiscounted return of each of `num_episodes` episodes; episode i's
  environment is reset with seed + i.

  The episodes run side by side, one policy call per step for all of them; a row whose
  episode has ended gets its last observation again and its action is discarded. With
  `zero_contact_forces` the policy sees the task's contact-force dimensions as zeros, as
  in D4RL's ant files (docs/reference.md, "D4RL files and environments").
  """
  seeds = [seed + episode for episode in range(num_episodes)]
  envs_ = [tasks.make_env(task) for _ in seeds]
  obs = np.stack([env.reset(seed=s)[0] for env, s in zip(envs_, seeds)]).astype(np.float32)
  if hasattr(policy, 'reset'):
    policy.reset(seeds)
  returns = np.zeros(num_episodes)
  running = np.ones(num_episodes, bool)
  while running.any():
    if zero_contact_forces:
      obs[:, task.contact_dims[0]:task.contact_dims[1]] = 0.0
    actions = policy(obs)
    for i in np.flatnonzero(running):
      next_obs, reward, terminated, truncated, _ = envs_[i].step(actions[i])
      obs[i] = next_obs
      returns[i] += reward
      running[i] = not (terminated or truncated)
  for env in envs_:
    env.close()
  return returns


def summarize(task: tasks.Task, returns: np.ndarray) -> dict[str, float]:
  """Mean and std of returns and of normalized scores."""
  scores = tasks.normalized_score(task, returns)
  return {'return_mean': float(np.mean(returns)), 'return_std': float(np.std(returns)),
          'normalized_score_mean': float(np.mean(scores)),
          'normalized_score_std': float(np.std(scores))}


def read_evals(path: str, upto: int | None = None) -> list[dict]:
  """Evaluation records of a jsonl file by step, up to step `upto`.

  A resumed run may evaluate a step twice; the last record of a step wins. A last line
  cut short (the process was killed while writing it) is skipped.
  """
  if not os.path.exists(path):
    return []
  by_step = {}
  with open(path) as f:
    lines = [line for line in f if line.strip()]
  for i, line in enumerate(lines):
    try:
      entry = json.loads(line)
    except json.JSONDecodeError:
      if i == len(lines) - 1:  # Cut short by a kill while it was written: not a record.
        break
      raise
    by_step[entry['step']] = entry
  return [by_step[s] for s in sorted(by_step) if upto is None or s <= upto]


def keep_evals(path: str, upto: int) -> None:
  """Rewrites an evaluation file to hold each step up to `upto` once (the last record of a
  step), dropping later steps and a line cut short; atomically, and only if it changes."""
  if not os.path.exists(path):
    return
  kept = read_evals(path, upto)
  with open(path) as f:
    before = f.read()
  after = ''.join(json.dumps(e) + '\n' for e in kept)
  if after != before:
    with open(path + '.tmp', 'w') as f:
      f.write(after)
    os.replace(path + '.tmp', path)
