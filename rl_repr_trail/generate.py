"""Rollouts in D4RL's format: several environments stepped in lockstep, one batched policy.

Episodes are appended to the output in the order they finish, which is fixed by
the seed, so the same seed writes the same file. An episode that reaches the
horizon ends with timeouts=1; one the environment ends has terminals=1.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from rl_repr_trail import envs

# Maps observations [B, obs_dim] to actions [B, action_dim]; None acts uniformly at random.
BatchPolicy = Callable[[np.ndarray], np.ndarray] | None

KEYS = ('observations', 'actions', 'rewards', 'next_observations', 'terminals', 'timeouts',
        'infos/qpos', 'infos/qvel')


def rollout(task: envs.Task, policy: BatchPolicy, num_transitions: int, seed: int,
            num_envs: int = 8, action_noise: float = 0.0, on_progress=None) -> dict[str, np.ndarray]:
  """Collects `num_transitions` rows, stepping `num_envs` environments together.

  `action_noise` adds Gaussian noise of that scale (clipped to the bounds), as in
  D4RL's noisy data; the random policy ignores it.
  """
  rng = np.random.default_rng(seed)
  pool = [envs.make_env(task) for _ in range(num_envs)]
  low, high = pool[0].action_space.low, pool[0].action_space.high
  obs = np.stack([env.reset(seed=seed * 10_007 + i)[0] for i, env in enumerate(pool)])
  episodes: list[dict[str, list]] = [{k: [] for k in KEYS} for _ in pool]
  finished: list[dict[str, np.ndarray]] = []
  total = 0
  next_reset = num_envs
  while total < num_transitions:
    if policy is None:
      actions = rng.uniform(low, high, size=(num_envs, len(low)))
    else:
      actions = np.asarray(policy(obs.astype(np.float32)), np.float64)
      if action_noise:
        actions = np.clip(actions + action_noise * rng.standard_normal(actions.shape), low, high)
    for i, env in enumerate(pool):
      episode = episodes[i]
      episode['infos/qpos'].append(env.unwrapped.data.qpos.copy())
      episode['infos/qvel'].append(env.unwrapped.data.qvel.copy())
      next_obs, reward, terminated, truncated, _ = env.step(actions[i])
      timeout = truncated and not terminated
      for key, value in (('observations', obs[i]), ('actions', actions[i]), ('rewards', reward),
                         ('next_observations', next_obs), ('terminals', terminated),
                         ('timeouts', timeout)):
        episode[key].append(value)
      if terminated or truncated:
        finished.append({k: np.asarray(v) for k, v in episode.items()})
        total += len(episode['rewards'])
        episodes[i] = {k: [] for k in KEYS}
        next_obs, _ = env.reset(seed=seed * 10_007 + next_reset)
        next_reset += 1
      obs[i] = next_obs
    if on_progress:
      on_progress(total)
  for env in pool:
    env.close()
  out = {k: np.concatenate([e[k] for e in finished])[:num_transitions] for k in KEYS}
  for key in ('observations', 'actions', 'rewards', 'next_observations',
              'infos/qpos', 'infos/qvel'):
    out[key] = out[key].astype(np.float32)
  out['terminals'] = out['terminals'].astype(bool)
  out['timeouts'] = out['timeouts'].astype(bool)
  return out
