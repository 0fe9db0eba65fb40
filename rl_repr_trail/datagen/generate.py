"""Generated datasets with D4RL's protocol, from the bundled SAC policies.

Names: gen:<task>-<kind>[-<rows>], e.g. gen:hopper-medium or gen:ant-random-100000;
kinds random, medium, expert, medium-expert (half each) and medium-replay (a SAC run's
collection up to the medium level, regenerated from its bundled snapshots: replay.py).
Files live in $TRAIL_DATA_DIR (default ~/.rl_repr_trail/datasets) and record their
provenance under metadata/. They are D4RL-like, never D4RL's own data.

Rollouts step several environments in lockstep with one batched policy call.
Episodes are appended in the order they finish, fixed by the seed, so the same seed
writes the same file. An episode cut by the horizon ends with timeouts=1; one the
environment ends has terminals=1.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from typing import Callable

import numpy as np

from rl_repr_trail.core import errors
from rl_repr_trail.core import progress
from rl_repr_trail.core import streams
from rl_repr_trail.data import datasets
from rl_repr_trail.data import names
from rl_repr_trail.datagen import experts
from rl_repr_trail.datagen import replay
from rl_repr_trail.envs import tasks


VERSION = 1
KINDS = ('random', 'medium', 'expert', 'medium-expert', 'medium-replay')
DEFAULT_ROWS = 1_000_000
SHARDS, MIN_SHARD_ROWS = 4, 25_000

# Maps observations [B, obs_dim] to actions [B, action_dim]; None acts uniformly at random.
BatchPolicy = Callable[[np.ndarray], np.ndarray] | None

KEYS = ('observations', 'actions', 'rewards', 'next_observations', 'terminals', 'timeouts',
        'infos/qpos', 'infos/qvel')


def rollout(task: tasks.Task, policy: BatchPolicy, num_transitions: int, seed: int,
            num_envs: int = 8, on_progress: Callable[[int], None] | None = None
            ) -> dict[str, np.ndarray]:
  """Collects `num_transitions` rows, stepping `num_envs` environments together.

  `on_progress(rows)` is called after each step with the rows of finished episodes.
  """
  rng = np.random.default_rng(seed)
  pool = [tasks.make_env(task) for _ in range(num_envs)]
  low, high = pool[0].action_space.low, pool[0].action_space.high
  obs = np.stack([env.reset(seed=streams.seed(seed, 'environment reset', i))[0]
                  for i, env in enumerate(pool)])
  episodes: list[dict[str, list]] = [{k: [] for k in KEYS} for _ in pool]
  finished: list[dict[str, np.ndarray]] = []
  total = 0
  next_reset = num_envs
  while total < num_transitions:
    if policy is None:
      actions = rng.uniform(low, high, size=(num_envs, len(low)))
    else:
      actions = np.asarray(policy(obs.astype(np.float32)), np.float64)
    for i, env in enumerate(pool):
      episode = episodes[i]
      qpos, qvel = tasks.physics_state(env)
      episode['infos/qpos'].append(qpos)
      episode['infos/qvel'].append(qvel)
      next_obs, reward, terminated, truncated, _ = env.step(actions[i])
      timeout = truncated and not terminated
      for key, value in (('observations', obs[i].copy()), ('actions', actions[i]), ('rewards', reward),
                         ('next_observations', next_obs), ('terminals', terminated),
                         ('timeouts', timeout)):
        episode[key].append(value)
      if terminated or truncated:
        finished.append({k: np.asarray(v) for k, v in episode.items()})
        total += len(episode['rewards'])
        episodes[i] = {k: [] for k in KEYS}
        next_obs, _ = env.reset(seed=streams.seed(seed, 'environment reset', next_reset))
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


def data_dir() -> str:
  """Where generated datasets are cached: $TRAIL_DATA_DIR or ~/.rl_repr_trail/datasets."""
  return os.path.expanduser(os.environ.get('TRAIL_DATA_DIR', '~/.rl_repr_trail/datasets'))


def parse_name(name: str) -> tuple[tasks.Task, str, int | None]:
  """'gen:hopper-medium-5000' -> (hopper task, 'medium', 5000)."""
  parsed = names.parse(name)
  if parsed.source != 'generated' or parsed.kind not in KINDS:
    raise errors.InputError(f'{name!r} is not a generated dataset name: expected '
                            f'gen:<task>-<kind>[-<rows>] with kind one of {KINDS}.')
  if parsed.rows is not None and parsed.rows <= 0:
    raise errors.InputError(f'{name!r}: the number of rows must be positive.')
  return tasks.get_task(parsed.task), parsed.kind, parsed.rows


def dataset_path(task: tasks.Task, kind: str, rows: int | None, seed: int) -> str:
  """The cache file; it names the bundled policies it comes from, so that data made
  with an earlier policy is never taken for data of the current one."""
  size = 'all' if rows is None else str(rows)
  levels = {'random': (), 'medium': ('medium',), 'expert': ('expert',),
            'medium-expert': ('medium', 'expert'), 'medium-replay': ()}[kind]
  digest = ''.join(f'-{experts.bundled_digest(task.name, lvl)}' for lvl in levels)
  if kind == 'medium-replay':
    digest = f'-{_file_digest(replay.bundle_path(task.name), replay.load, task.name)}'
  # Ant data written with real contact forces (before they were zeroed as in D4RL's)
  # had no layout tag: its files are never taken for the current layout's.
  layout = '-zerocontact' if task.zero_contact_forces else ''
  return os.path.join(data_dir(),
                      f'{task.name}-{kind}-{size}-seed{seed}-v{VERSION}{layout}{digest}.hdf5')


def _file_digest(path: str, loader: Callable[[str], object], task_name: str) -> str:
  """Short hash of a bundled file; `loader(task_name)` raises the error naming what is
  missing when it is not there."""
  if not os.path.exists(path):
    loader(task_name)
  with open(path, 'rb') as f:
    return hashlib.sha1(f.read()).hexdigest()[:8]


def _policy_file(task: tasks.Task, level: str | None) -> str:
  if level is None:
    return 'uniform random'
  return os.path.basename(experts.bundled_policy_path(task.name, level))


_shared_rows = None  # A worker's handle on the parent's progress counter.


def _init_worker(counter) -> None:
  global _shared_rows
  _shared_rows = counter


def _shard(task_name: str, level: str | None, rows: int, seed: int,
           num_envs: int) -> dict[str, np.ndarray]:
  """One shard: `rows` rows of the bundled `level` policy (None: random actions)."""
  task = tasks.get_task(task_name)
  policy = None
  if level is not None:
    mlp = experts.load_bundled(task_name, level)
    rng = streams.generator(seed, 'policy actions')
    policy = lambda obs: mlp.sample(obs, rng)
  done = [0]

  def report(total):
    total = min(total, rows)
    if _shared_rows is not None and total > done[0]:
      with _shared_rows.get_lock():
        _shared_rows.value += total - done[0]
      done[0] = total

  return rollout(task, policy, rows, seed, num_envs, on_progress=report)


def _replay_shard(task_name: str, start: int, end: int, seed: int) -> dict[str, np.ndarray]:
  """Steps [start, end) of a bundled SAC run's collection (replay.stretch)."""
  done = [0]

  def report(total):
    if _shared_rows is not None and total > done[0]:
      with _shared_rows.get_lock():
        _shared_rows.value += total - done[0]
      done[0] = total

  return replay.stretch(task_name, start, end, seed, on_progress=report)


def _in_shards(worker: Callable[..., dict[str, np.ndarray]], jobs: list[tuple],
               processes: int | None, on_progress: Callable[[int], None] | None
               ) -> dict[str, np.ndarray]:
  """Runs `worker(*job)` for each job, in parallel processes when there are several, and
  concatenates their arrays in the jobs' order."""
  processes = min(processes or os.cpu_count() or 1, len(jobs))
  counter = multiprocessing.get_context('spawn').Value('q', 0)
  if processes == 1:
    _init_worker(counter)
    parts = []
    for job in jobs:
      parts.append(worker(*job))
      if on_progress:
        on_progress(counter.value)
  else:
    with multiprocessing.get_context('spawn').Pool(
        processes, initializer=_init_worker, initargs=(counter,)) as pool:
      pending = pool.starmap_async(worker, jobs)
      while not pending.ready():
        pending.wait(2.0)
        if on_progress:
          on_progress(counter.value)
      parts = pending.get()
  return {k: np.concatenate([p[k] for p in parts]) for k in KEYS}


def _shard_sizes(rows: int) -> list[int]:
  shards = SHARDS if rows >= SHARDS * MIN_SHARD_ROWS else 1
  return [rows // shards] * (shards - 1) + [rows - (rows // shards) * (shards - 1)]


def collect(task: tasks.Task, level: str | None, rows: int, seed: int, num_envs: int = 8,
            processes: int | None = None, on_progress: Callable[[int], None] | None = None
            ) -> dict[str, np.ndarray]:
  """`rows` rows in SHARDS shards (fewer for small sizes) run by parallel processes.

  The shards, and so the contents, depend on the seed and size only, never on the
  number of processes. Shards are concatenated as D4RL concatenated its parts.
  """
  jobs = [(task.name, level, n, streams.seed(seed, 'generated shard', i), num_envs)
          for i, n in enumerate(_shard_sizes(rows))]
  return _in_shards(_shard, jobs, processes, on_progress)


def replay_from_bundle(task: tasks.Task, rows: int | None, seed: int,
                       processes: int | None = None,
                       on_progress: Callable[[int], None] | None = None
                       ) -> tuple[dict[str, np.ndarray], dict]:
  """The first `rows` steps (None: all) of the bundled SAC run's collection up to the
  medium level, regenerated in shards of consecutive steps; and its metadata."""
  bundle = replay.load(task.name)
  total = bundle.end_step if rows is None else min(rows, bundle.end_step)
  if rows is not None and rows > bundle.end_step:
    print(f'Note: the {task.name} SAC run reached the medium level at step {bundle.end_step}: '
          f'medium-replay holds {bundle.end_step} rows, not {rows}.', flush=True)
  bounds = np.cumsum([0] + _shard_sizes(total))
  jobs = [(task.name, int(a), int(b), seed) for a, b in zip(bounds[:-1], bounds[1:])]
  arrays = _in_shards(_replay_shard, jobs, processes, on_progress)
  info = {'policy': f'SAC snapshots at steps {bundle.steps[0]}..{bundle.steps[-1]} '
                    f'({os.path.basename(replay.bundle_path(task.name))})',
          'replay': replay.NOTE, 'replay_run': bundle.metadata,
          'shard_starts': [int(b) for b in bounds[:-1]]}
  return arrays, info



def build(task: tasks.Task, kind: str, rows: int | None, seed: int, num_envs: int = 8,
          expert_run_dir: str | None = None, on_progress: Callable[[int], None] | None = None,
          processes: int | None = None) -> tuple[dict, dict]:
  """The arrays and metadata of a generated dataset (without writing it)."""
  rows_or_default = rows or DEFAULT_ROWS
  metadata = {'task': task.name, 'env_id': task.env_id, 'kind': kind, 'seed': seed,
              'version': VERSION, 'generator': 'rl_repr_trail.datagen.generate',
              'note': 'generated with D4RL\'s protocol on gymnasium MuJoCo v4; not D4RL data'}
  if task.zero_contact_forces:
    metadata['observation_layout'] = (
        f'as D4RL\'s {task.name} files: dims {task.contact_dims[0]}..{task.contact_dims[1] - 1} '
        '(contact forces) are zeros and the reward has no contact cost (D4RL\'s were made '
        'with MuJoCo 2.0, whose contact forces read zero)')
  if kind in ('random', 'medium', 'expert'):
    level = None if kind == 'random' else kind
    arrays = collect(task, level, rows_or_default, seed, num_envs, processes, on_progress)
    metadata['policy'] = _policy_file(task, level)
    if level:
      metadata['policy_metadata'] = experts.load_bundled(task.name, level).metadata
  elif kind == 'medium-expert':
    half = rows_or_default // 2
    medium = collect(task, 'medium', half, seed, num_envs, processes, on_progress)
    offset = len(medium['actions'])
    expert = collect(task, 'expert', rows_or_default - half,
                     streams.seed(seed, 'generated second half'), num_envs, processes,
                     on_progress and (lambda n: on_progress(offset + n)))
    # As in D4RL, the halves are concatenated; readers see where an episode was cut
    # because next_observations then differs from the following row.
    arrays = {k: np.concatenate([medium[k], expert[k]]) for k in medium}
    metadata['policy'] = [_policy_file(task, 'medium'), _policy_file(task, 'expert')]
  elif kind == 'medium-replay' and expert_run_dir is None:
    arrays, info = replay_from_bundle(task, rows, seed, processes, on_progress)
    metadata.update(info)
  elif kind == 'medium-replay':
    arrays, info = _replay_until_medium(task, rows, expert_run_dir)
    metadata.update(info)
  else:
    raise errors.InputError(f'unknown dataset kind {kind!r}: expected one of {KINDS}.')
  return arrays, metadata


def _replay_until_medium(task, rows, expert_run_dir):
  """A SAC run directory's own replay up to the bundled medium policy's step (that run
  must be the one that made the bundled medium policy)."""
  from rl_repr_trail.datagen import sac  # TensorFlow is imported only where it is needed.
  step = experts.load_bundled(task.name, 'medium').metadata.get('step')
  if not os.path.exists(os.path.join(expert_run_dir, 'replay')) or step is None:
    raise errors.InputError(
        f'--run_dir {expert_run_dir}: no SAC replay there to cut {task.name} medium-replay '
        'data from (without it, the data is made from the bundled snapshots).')
  data = sac.load_replay(expert_run_dir, int(step))
  if rows is not None:
    data = {k: v[:rows] for k, v in data.items()}
  return data, {'policy': f'SAC replay, steps 0..{step}', 'expert_run_dir': expert_run_dir}


def check(name: str) -> None:
  """Raises the error that `resolve` would raise for lack of a bundled policy or
  medium-replay bundle, without generating anything."""
  task, kind, rows = parse_name(name)
  dataset_path(task, kind, rows, seed=0)  # Names a missing bundled file.


def ensure(name: str, seed: int = 0, num_envs: int = 8, expert_run_dir: str | None = None) -> str:
  """The file of a generated dataset name, generated first if it is not cached."""
  task, kind, rows = parse_name(name)
  path = dataset_path(task, kind, rows, seed)
  if kind == 'medium-replay' and expert_run_dir is not None:  # Not the bundle's data.
    tag = hashlib.sha1(os.path.abspath(expert_run_dir).encode()).hexdigest()[:8]
    path = path.replace('.hdf5', f'-run{tag}.hdf5')
  if os.path.exists(path):
    return path
  print(f'Generating {name} (seed {seed}) into {path} ...', flush=True)
  note = '' if kind == 'random' else experts.shortfall_note(task.name)
  if note:
    print(note, flush=True)
  total = rows or DEFAULT_ROWS
  if kind == 'medium-replay' and expert_run_dir is None:
    total = min(total, replay.load(task.name).end_step)
  tracker = progress.Progress(f'generate {name}', total)
  arrays, metadata = build(task, kind, rows, seed, num_envs, expert_run_dir, tracker.update)
  metadata['name'] = name
  datasets.write_hdf5(path, arrays, metadata)
  print(f'Wrote {len(arrays["actions"])} rows to {path}.', flush=True)
  return path


def resolve(name_or_path: str) -> str:
  """Generated names become their file (generated on first use); others pass through."""
  return ensure(name_or_path) if names.is_generated(name_or_path) else name_or_path
