"""Medium-replay data regenerated from a bundled SAC run's policy snapshots.

D4RL's medium-replay is every transition a SAC agent collected until its policy reached
the medium level. A bundle (policies/<task>_medium_replay.npz, float16) holds what makes
such data again on any machine: the snapshots of a SAC run from its first update to the
evaluation that reached the bundled medium policy's score, one per evaluation interval.
Regenerating it steps the environment as the run did: uniform random actions for the
warm-up, then each snapshot's stretch of steps with actions sampled from it.

It is not the run's own replay buffer: SAC's acting policy changed after every block of
updates (50 steps), the bundle's after every stretch (10,000 steps), and the data is cut
into a few shards that run side by side, so an episode is cut (timeouts=1) where one
shard ends and the next starts afresh.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Callable

import numpy as np

from rl_repr_trail.core import errors
from rl_repr_trail.core import streams
from rl_repr_trail.datagen import experts
from rl_repr_trail.envs import evaluation
from rl_repr_trail.envs import tasks


NOTE = ('regenerated from the bundled snapshots of a SAC run up to the medium level: uniform '
        'random actions for the warm-up, then actions sampled from each snapshot for its '
        'stretch of steps. Unlike a true replay buffer the acting policy changes once a '
        'stretch, not after every block of updates, and episodes are cut where shards meet.')


def bundle_path(task_name: str) -> str:
  return os.path.join(experts.POLICY_DIR, f'{task_name}_medium_replay.npz')


@dataclasses.dataclass
class Bundle:
  """A SAC run's snapshots: `policies[i]` acted from `steps[i]` to the next step (the last
  to `end_step`, where the run's evaluation reached the medium level); uniform random
  actions before `warmup_steps`."""

  steps: list[int]
  policies: list[experts.MlpPolicy]
  warmup_steps: int
  end_step: int
  metadata: dict

  def policy_at(self, step: int) -> experts.MlpPolicy | None:
    """The snapshot acting at environment step `step` (None: the random warm-up)."""
    if step < self.warmup_steps:
      return None
    i = int(np.searchsorted(self.steps, step, side='right')) - 1
    return self.policies[max(i, 0)]


def write(run_dir: str, path: str) -> dict:
  """Bundles the snapshots of a SAC run made with `collect train_expert --until_medium`:
  every snapshot before the first evaluation that reached the run's stop score. Returns
  the bundle's metadata."""
  config_path = os.path.join(run_dir, 'config.json')
  if not os.path.exists(config_path):
    raise FileNotFoundError(f'No SAC run at {run_dir} (no config.json).')
  with open(config_path) as f:
    config = json.load(f)
  stop = config.get('stop_score')
  evals = evaluation.read_evals(os.path.join(run_dir, 'evals.jsonl'))
  reached = [e for e in evals if stop is not None and e['normalized_score_mean'] >= stop]
  if not reached:
    raise errors.InputError(
        f'{run_dir}: no evaluation reached the stop score ({stop}); run `collect train_expert '
        f'--env={config.get("task")} --until_medium` to its end first.')
  end = reached[0]
  used = [e for e in evals if e['step'] < end['step']]
  warmup = int(config['initial_random_steps'])
  if not used or used[0]['step'] > warmup:
    raise errors.InputError(f'{run_dir}: the first snapshot is at step '
                            f'{used[0]["step"] if used else end["step"]}, after the warm-up '
                            f'({warmup} steps): steps between them have no policy.')
  policies = [experts.MlpPolicy.load(os.path.join(run_dir, 'snapshots', f'step_{e["step"]:09d}.npz'))
              for e in used]
  arrays = {'steps': np.array([e['step'] for e in used], np.int64),
            'action_low': policies[0].action_low, 'action_high': policies[0].action_high}
  for i in range(len(policies[0].kernels)):
    arrays[f'kernel_{i}'] = np.stack([p.kernels[i] for p in policies]).astype(np.float16)
    arrays[f'bias_{i}'] = np.stack([p.biases[i] for p in policies]).astype(np.float16)
  metadata = {'task': config['task'], 'source': 'rl_repr_trail SAC (collect train_expert '
              '--until_medium)', 'seed': config['seed'], 'warmup_steps': warmup,
              'update_every': config['update_every'], 'end_step': end['step'],
              'stop_score': stop, 'end_score': end['normalized_score_mean'],
              'snapshot_scores': [round(e['normalized_score_mean'], 2) for e in used]}
  tmp = path + '.tmp.npz'
  np.savez_compressed(tmp, metadata=np.array(json.dumps(metadata)), **arrays)
  os.replace(tmp, path)
  return metadata


def load(task_name: str) -> Bundle:
  """The bundled snapshots of `task_name`, or an error saying how to make them."""
  path = bundle_path(task_name)
  if not os.path.exists(path):
    raise FileNotFoundError(
        f'No medium-replay bundle for {task_name!r} ({path}). Make one with `python -m '
        f'rl_repr_trail.collect train_expert --env={task_name} --until_medium`, then '
        f'`collect export_replay_policies --env={task_name}`.')
  with np.load(path) as data:
    n = sum(1 for key in data.files if key.startswith('kernel_'))
    kernels = [data[f'kernel_{i}'].astype(np.float32) for i in range(n)]
    biases = [data[f'bias_{i}'].astype(np.float32) for i in range(n)]
    steps = [int(s) for s in data['steps']]
    low, high = data['action_low'], data['action_high']
    metadata = json.loads(str(data['metadata']))
  policies = [experts.MlpPolicy([k[j] for k in kernels], [b[j] for b in biases], low, high,
                                {'step': s}) for j, s in enumerate(steps)]
  return Bundle(steps, policies, int(metadata['warmup_steps']), int(metadata['end_step']),
                metadata)


def stretch(task_name: str, start: int, end: int, seed: int,
            on_progress: Callable[[int], None] | None = None) -> dict[str, np.ndarray]:
  """Environment steps [start, end) of the regenerated run in one environment, the
  episode in progress at `end` cut there (timeouts=1)."""
  task = tasks.get_task(task_name)
  bundle = load(task_name)
  rng = streams.generator(seed, 'replay actions', start)
  env = tasks.make_env(task)
  low, high = env.action_space.low, env.action_space.high
  obs, _ = env.reset(seed=streams.seed(seed, 'environment reset', start))
  keys = ('observations', 'actions', 'rewards', 'next_observations', 'terminals', 'timeouts',
          'infos/qpos', 'infos/qvel')
  out = {k: [] for k in keys}
  for t in range(start, end):
    policy = bundle.policy_at(t)
    if policy is None:
      action = rng.uniform(low, high)
    else:
      action = policy.sample(obs[None].astype(np.float32), rng)[0]
    qpos, qvel = tasks.physics_state(env)
    next_obs, reward, terminated, truncated, _ = env.step(action)
    for key, value in (('observations', obs), ('actions', action), ('rewards', reward),
                       ('next_observations', next_obs), ('terminals', terminated),
                       ('timeouts', (truncated and not terminated) or t == end - 1),
                       ('infos/qpos', qpos), ('infos/qvel', qvel)):
      out[key].append(value)
    obs = env.reset()[0] if terminated or truncated else next_obs
    if on_progress and (t - start) % 1000 == 999:
      on_progress(t - start + 1)
  env.close()
  arrays = {k: np.asarray(v, np.float32) for k, v in out.items()}
  arrays['terminals'] = np.asarray(out['terminals'], bool)
  arrays['timeouts'] = np.asarray(out['timeouts'], bool)
  if end > start and arrays['terminals'][-1]:
    arrays['timeouts'][-1] = False
  return arrays
