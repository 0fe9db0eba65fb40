"""SAC expert training, built from the project's own pieces.

The actor is `policies.TanhGaussianPolicy`, the two critics and their targets are
`networks.mlp`, the temperature is learned (target entropy -|A|), every optimizer is
the fused `optim.Adam`, and blocks of updates run in one compiled call.

The run directory holds everything a resume needs:
  ckpt/        networks, target critics, temperature, optimizer slots, step and the
               update noise generator (tf.train.CheckpointManager), with rng-N.json,
               the numpy random state of acting and batch sampling at step N
  replay/      every transition, in chunks written with each checkpoint; the
               medium-replay datasets are cut from it
  snapshots/   the deterministic actor after each evaluation (MlpPolicy files)
  evals.jsonl  the evaluation return of each snapshot
  tb/          TensorBoard summaries
A run whose replay is missing (resumed from `export_resume_state`'s few MB on another
machine) refills it with the current policy before it goes on.
Timeouts do not end the bootstrap (discount stays 1); only real terminations do.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import shutil

import numpy as np
import tensorflow as tf

from rl_repr_trail.core import errors
from rl_repr_trail.core import networks
from rl_repr_trail.core import optim
from rl_repr_trail.core import policies
from rl_repr_trail.core import progress
from rl_repr_trail.core import streams
from rl_repr_trail.datagen import experts
from rl_repr_trail.envs import evaluation
from rl_repr_trail.envs import tasks


# The repository's launch/expert_state (this file is rl_repr_trail/datagen/sac.py).
_REPOSITORY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RESUME_STATE_DIR = os.path.join(_REPOSITORY, 'launch', 'expert_state')


def default_run_dir(task_name: str) -> str:
  """$TRAIL_EXPERT_DIR/<task> (default ~/.rl_repr_trail/experts/<task>)."""
  root = os.environ.get('TRAIL_EXPERT_DIR', '~/.rl_repr_trail/experts')
  return os.path.join(os.path.expanduser(root), task_name)


@dataclasses.dataclass
class SacConfig:
  """SAC hyperparameters (the usual MuJoCo settings) and the run's schedule."""

  total_steps: int = 1_000_000
  initial_random_steps: int = 10_000
  batch_size: int = 256
  hidden: tuple[int, ...] = (256, 256)
  learning_rate: float = 3e-4
  gamma: float = 0.99
  tau: float = 0.005
  eval_every: int = 10_000
  eval_episodes: int = 10
  seed: int = 0
  # Collect this many environment steps, then make as many updates in one compiled call
  # (still one update per step; the acting policy lags by at most this many updates).
  update_every: int = 50
  # Stop at the first evaluation whose normalized score reaches this (None: run to
  # total_steps); medium-replay runs stop at the bundled medium policy's score.
  stop_score: float | None = None


class SacLearner(tf.Module):
  """Soft actor-critic: a tanh-Gaussian actor, two Q critics with Polyak-averaged targets
  and a learned temperature. `update(batch)` makes one step of all three."""

  def __init__(self, obs_dim: int, action_low: np.ndarray, action_high: np.ndarray,
               config: SacConfig):
    super().__init__(name='sac')
    self.config = config
    self.action_dim = len(action_low)
    self.actor = policies.TanhGaussianPolicy(obs_dim, action_low, action_high,
                                             config.hidden, name='actor', init='glorot')
    width = obs_dim + self.action_dim
    self.critics, self.target_critics = [
        [networks.mlp(width, config.hidden, 1, f'{kind}_{i}', activation='relu', init='glorot')
         for i in range(2)] for kind in ('critic', 'target_critic')]
    for critic, target in zip(self.critics, self.target_critics):
      for t, v in zip(target.variables, critic.variables):
        t.assign(v)
    self.log_alpha = tf.Variable(0.0, name='log_alpha')
    self.target_entropy = -float(self.action_dim)
    self.actor_optimizer = optim.Adam(config.learning_rate)
    self.critic_optimizer = optim.Adam(config.learning_rate)
    self.alpha_optimizer = optim.Adam(config.learning_rate)
    self.actor_optimizer.build(self.actor.trainable_variables)
    self.critic_optimizer.build(self._critic_variables)
    self.alpha_optimizer.build([self.log_alpha])
    self.noise = tf.random.Generator.from_seed(config.seed)
    self.updates = tf.Variable(0, dtype=tf.int64, trainable=False, name='updates')

  @property
  def _critic_variables(self) -> list[tf.Variable]:
    return [v for critic in self.critics for v in critic.trainable_variables]

  def _sample(self, observations: tf.Tensor, noise: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    return self.actor.sample(self.actor(observations), noise)

  @staticmethod
  def _min_q(critics, observations: tf.Tensor, actions: tf.Tensor) -> tf.Tensor:
    inputs = tf.concat([observations, actions], axis=-1)
    return tf.minimum(critics[0](inputs)[:, 0], critics[1](inputs)[:, 0])

  def update(self, batch: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    obs, actions = batch['observations'], batch['actions']
    noise = self.noise.normal([2, tf.shape(obs)[0], self.action_dim])
    alpha = tf.exp(self.log_alpha)
    next_actions, next_log_prob = self._sample(batch['next_observations'], noise[0])
    next_q = self._min_q(self.target_critics, batch['next_observations'], next_actions)
    target = tf.stop_gradient(batch['rewards'] + self.config.gamma * batch['discounts'] * (
        next_q - alpha * next_log_prob))
    inputs = tf.concat([obs, actions], axis=-1)
    with tf.GradientTape() as tape:
      critic_loss = tf.add_n([tf.reduce_mean(tf.square(critic(inputs)[:, 0] - target))
                              for critic in self.critics])
    variables = self._critic_variables
    self.critic_optimizer.apply_gradients(zip(tape.gradient(critic_loss, variables), variables))
    with tf.GradientTape() as tape:
      sampled, log_prob = self._sample(obs, noise[1])
      actor_loss = tf.reduce_mean(alpha * log_prob - self._min_q(self.critics, obs, sampled))
    variables = self.actor.trainable_variables
    self.actor_optimizer.apply_gradients(zip(tape.gradient(actor_loss, variables), variables))
    with tf.GradientTape() as tape:
      alpha_loss = -self.log_alpha * tf.reduce_mean(
          tf.stop_gradient(log_prob + self.target_entropy))
    self.alpha_optimizer.apply_gradients(
        zip(tape.gradient(alpha_loss, [self.log_alpha]), [self.log_alpha]))
    tau = self.config.tau
    for critic, target_critic in zip(self.critics, self.target_critics):
      for t, v in zip(target_critic.variables, critic.variables):
        t.assign(tau * v + (1.0 - tau) * t)
    self.updates.assign_add(1)
    return {'critic_loss': critic_loss, 'actor_loss': actor_loss, 'alpha': alpha,
            'entropy': -tf.reduce_mean(log_prob)}

  def policy(self, metadata: dict | None = None) -> experts.MlpPolicy:
    """The actor as an MlpPolicy (numpy inference; mode or Gaussian samples)."""
    layers = self.actor.trunk.layers
    return experts.MlpPolicy([layer.kernel.numpy() for layer in layers],
                             [layer.bias.numpy() for layer in layers],
                             self.actor.action_low, self.actor.action_high, metadata)


def compile_updates(learner: SacLearner, obs_dim: int, action_dim: int):
  """f(batches) -> metrics: one update per batch of the stacked batches [K, B, ...]."""
  vector = lambda dim: tf.TensorSpec([None, None, dim], tf.float32)
  scalar = tf.TensorSpec([None, None], tf.float32)
  keys = ('observations', 'actions', 'rewards', 'next_observations', 'discounts')

  @tf.function(input_signature=[vector(obs_dim), vector(action_dim), scalar,
                                vector(obs_dim), scalar])
  def run(*stacked):
    metrics = learner.update(dict(zip(keys, [x[0] for x in stacked])))
    for i in tf.range(1, tf.shape(stacked[2])[0]):
      metrics = learner.update(dict(zip(keys, [x[i] for x in stacked])))
    return metrics

  return lambda batch: run(*[batch[k] for k in keys])


class _Replay:
  """Every transition of the run in numpy arrays (the buffer never evicts), each with the
  environment step at which it was collected."""

  KEYS = ('observations', 'actions', 'rewards', 'next_observations', 'terminals', 'timeouts',
          'steps')

  def __init__(self, task: tasks.Task, capacity: int):
    self.size = 0
    self.data = {
        'observations': np.zeros((capacity, task.obs_dim), np.float32),
        'actions': np.zeros((capacity, task.action_dim), np.float32),
        'rewards': np.zeros((capacity,), np.float32),
        'next_observations': np.zeros((capacity, task.obs_dim), np.float32),
        'terminals': np.zeros((capacity,), bool),
        'timeouts': np.zeros((capacity,), bool),
        'steps': np.zeros((capacity,), np.int64),
    }

  def add(self, **values) -> None:
    for key in self.KEYS:
      self.data[key][self.size] = values[key]
    self.size += 1

  def save_chunk(self, directory: str, start: int) -> None:
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f'chunk_{start:09d}.npz')
    tmp = path + '.tmp.npz'
    np.savez(tmp, **{k: v[start:self.size] for k, v in self.data.items()})
    os.replace(tmp, path)

  def load_chunks(self, directory: str, upto: int) -> None:
    """Reads the first `upto` rows from the chunks (each named by its first row)."""
    for path in sorted(glob.glob(os.path.join(directory, 'chunk_*.npz'))):
      start = int(os.path.basename(path)[6:15])
      if start >= upto:
        continue
      with np.load(path) as chunk:
        n = min(len(chunk['rewards']), upto - start)
        for key in self.KEYS:
          self.data[key][start:start + n] = chunk[key][:n]
      self.size = max(self.size, start + n)
    if self.size != upto:
      raise RuntimeError(f'Replay chunks in {directory} hold {self.size} transitions, '
                         f'the checkpoint expects {upto}.')


def load_replay(run_dir: str, upto_step: int) -> dict[str, np.ndarray]:
  """The transitions a run collected before environment step `upto_step` (for
  medium-replay datasets)."""
  with open(os.path.join(run_dir, 'config.json')) as f:
    saved = json.load(f)
  task = tasks.get_task(saved['task'])
  chunks = sorted(glob.glob(os.path.join(run_dir, 'replay', 'chunk_*.npz')))
  rows = 0
  for path in chunks:
    with np.load(path) as chunk:
      rows = max(rows, int(os.path.basename(path)[6:15]) + len(chunk['rewards']))
  replay = _Replay(task, rows)
  replay.load_chunks(os.path.join(run_dir, 'replay'), rows)
  keep = replay.data['steps'] < upto_step
  return {k: v[keep] for k, v in replay.data.items() if k != 'steps'}


def _policy_action(policy: experts.MlpPolicy, obs: np.ndarray, rng: np.random.Generator
                   ) -> np.ndarray:
  return policy.sample(obs[None].astype(np.float32), rng)[0]


class _Collector:
  """Steps the environment with a policy and writes each transition to the replay."""

  def __init__(self, task: tasks.Task, seed: int, writer):
    self.env = tasks.make_env(task)
    self.obs, _ = self.env.reset(seed=seed)
    self.episode_return = 0.0
    self.writer = writer

  def step(self, action: np.ndarray, replay: _Replay, step: int) -> None:
    next_obs, reward, terminated, truncated, _ = self.env.step(action)
    replay.add(observations=self.obs, actions=action, rewards=reward,
               next_observations=next_obs, terminals=terminated,
               timeouts=truncated and not terminated, steps=step)
    self.episode_return += reward
    self.obs = next_obs
    if terminated or truncated:
      with self.writer.as_default(step=step):
        tf.summary.scalar('collect/episode_return', self.episode_return)
      self.obs, _ = self.env.reset()
      self.episode_return = 0.0


def _rng_path(ckpt_dir: str, step: int) -> str:
  return os.path.join(ckpt_dir, f'rng-{step}.json')


def _start_from_resume_state(state_name: str, run_dir: str) -> None:
  """Copies the committed resume state `state_name` into an empty run directory."""
  source = os.path.join(RESUME_STATE_DIR, state_name)
  if os.path.exists(os.path.join(run_dir, 'ckpt')) or not os.path.isdir(source):
    return
  print(f'Starting SAC from the resume state in {source}.', flush=True)
  shutil.copytree(source, run_dir, dirs_exist_ok=True)


def train(task: tasks.Task, run_dir: str, config: SacConfig, resume_state: bool = True,
          state_name: str | None = None) -> None:
  """Trains (or resumes) SAC on `task`, evaluating and snapshotting every eval_every steps.

  With `resume_state`, an empty run directory starts from the committed resume state
  `state_name` (default: the task's name) when there is one.
  """
  if config.update_every < 1 or config.eval_every % config.update_every:
    raise errors.InputError(f'--eval_every={config.eval_every} must be a multiple of '
                            f'--update_every={config.update_every} (a positive number): '
                            'checkpoints are taken between blocks of updates.')
  os.makedirs(run_dir, exist_ok=True)
  if resume_state:
    _start_from_resume_state(state_name or task.name, run_dir)
  with open(os.path.join(run_dir, 'config.json'), 'w') as f:
    json.dump({'task': task.name, **dataclasses.asdict(config)}, f, indent=1)
  env = tasks.make_env(task)
  low, high = env.action_space.low, env.action_space.high
  env.close()
  learner = SacLearner(task.obs_dim, low, high, config)
  step = tf.Variable(0, dtype=tf.int64)
  replay_size = tf.Variable(0, dtype=tf.int64)
  checkpoint = tf.train.Checkpoint(learner=learner, step=step, replay_size=replay_size)
  ckpt_dir = os.path.join(run_dir, 'ckpt')
  manager = tf.train.CheckpointManager(checkpoint, ckpt_dir, max_to_keep=2)
  rng = np.random.default_rng(config.seed)
  writer = tf.summary.create_file_writer(os.path.join(run_dir, 'tb'))
  refill = 0
  if manager.latest_checkpoint:
    checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    with open(_rng_path(ckpt_dir, int(step.numpy()))) as f:
      rng.bit_generator.state = json.load(f)
    has_replay = bool(glob.glob(os.path.join(run_dir, 'replay', 'chunk_*.npz')))
    if not has_replay:
      refill = min(int(step.numpy()), config.initial_random_steps)
    print(f'Resuming SAC on {task.name} from step {int(step.numpy())}'
          + (f' without its replay: refilling {refill} transitions with the current policy.'
             if not has_replay else '.'), flush=True)
  start = int(step.numpy())
  if config.stop_score is not None and any(
      e['step'] <= start and e['normalized_score_mean'] >= config.stop_score
      for e in evaluation.read_evals(os.path.join(run_dir, 'evals.jsonl'))):
    print(f'SAC on {task.name} reached its stop score {config.stop_score:.1f} by step '
          f'{start}: nothing to do.', flush=True)
    return
  replay = _Replay(task, config.total_steps + refill)
  if start and not refill:
    replay.load_chunks(os.path.join(run_dir, 'replay'), int(replay_size.numpy()))
  update = compile_updates(learner, task.obs_dim, task.action_dim)
  collector = _Collector(task, streams.seed(config.seed, 'sac collector', start), writer)
  policy = learner.policy()
  for _ in range(refill):  # Not counted as steps: the buffer is refilled, nothing learned.
    collector.step(_policy_action(policy, collector.obs, rng), replay, start)
  tracker = progress.Progress(f'sac {task.name}', config.total_steps, start, 30.0)
  chunk_start = replay.size if refill else start
  if refill:
    replay.save_chunk(os.path.join(run_dir, 'replay'), 0)
  metrics = {}
  block_start = start
  while block_start < config.total_steps:
    block_end = min(block_start + config.update_every, config.total_steps)
    for t in range(block_start, block_end):
      if t < config.initial_random_steps:
        action = rng.uniform(low, high).astype(np.float32)
      else:
        action = _policy_action(policy, collector.obs, rng)
      collector.step(action, replay, t)
    updates = block_end - max(block_start, config.initial_random_steps)
    if updates > 0:  # One per step of the block past the random steps.
      idx = rng.integers(0, replay.size, (updates, config.batch_size))
      d = replay.data
      metrics = update({'observations': d['observations'][idx], 'actions': d['actions'][idx],
                        'rewards': d['rewards'][idx],
                        'next_observations': d['next_observations'][idx],
                        'discounts': 1.0 - d['terminals'][idx].astype(np.float32)})
      policy = learner.policy()
    step.assign(block_end)
    replay_size.assign(replay.size)
    stop = False
    if block_end % config.eval_every == 0 or block_end == config.total_steps:
      stats = _evaluate_and_snapshot(learner, task, run_dir, block_end, config, writer, metrics)
      stop = (config.stop_score is not None
              and stats['normalized_score_mean'] >= config.stop_score)
      replay.save_chunk(os.path.join(run_dir, 'replay'), chunk_start)
      os.makedirs(ckpt_dir, exist_ok=True)
      with open(_rng_path(ckpt_dir, block_end) + '.tmp', 'w') as f:
        json.dump(rng.bit_generator.state, f)
      os.replace(_rng_path(ckpt_dir, block_end) + '.tmp', _rng_path(ckpt_dir, block_end))
      manager.save(checkpoint_number=block_end)
      _remove_stale_rng_files(ckpt_dir, manager)
      chunk_start = replay.size
    tracker.update(block_end, ' '.join(f'{k} {float(v):.3f}' for k, v in metrics.items()))
    block_start = block_end
    if stop:
      print(f'[sac {task.name}] step {block_end}: reached the stop score '
            f'{config.stop_score:.1f}; stopping.', flush=True)
      break
  collector.env.close()


def _remove_stale_rng_files(ckpt_dir: str, manager: tf.train.CheckpointManager) -> None:
  kept = {os.path.basename(_rng_path(ckpt_dir, int(p.rsplit('-', 1)[1])))
          for p in manager.checkpoints}
  for path in glob.glob(os.path.join(ckpt_dir, 'rng-*.json')):
    if os.path.basename(path) not in kept:
      os.remove(path)


def _evaluate_and_snapshot(learner, task, run_dir, step, config, writer, metrics) -> None:
  policy = learner.policy({'task': task.name, 'step': step, 'source': 'rl_repr_trail SAC'})
  returns = evaluation.run_episodes(policy, task, config.eval_episodes, seed=10_000 + step)
  stats = evaluation.summarize(task, returns)
  policy.metadata.update(stats)
  snapshots = os.path.join(run_dir, 'snapshots')
  os.makedirs(snapshots, exist_ok=True)
  policy.save(os.path.join(snapshots, f'step_{step:09d}.npz'))
  with open(os.path.join(run_dir, 'evals.jsonl'), 'a') as f:
    f.write(json.dumps({'step': step, **stats}) + '\n')
  with writer.as_default(step=step):
    for key, value in stats.items():
      tf.summary.scalar(f'eval/{key}', value)
    for key, value in metrics.items():
      tf.summary.scalar(f'train/{key}', value)
  print(f'[sac {task.name}] step {step}: return {stats["return_mean"]:.1f} '
        f'normalized {stats["normalized_score_mean"]:.1f}', flush=True)
  return stats


def _picked_evals(run_dir: str) -> tuple[dict, dict]:
  """The expert's and the medium's evaluation records, among the snapshots on disk (a run
  resumed from an exported state holds only some of its earlier ones)."""
  evals = [e for e in evaluation.read_evals(os.path.join(run_dir, 'evals.jsonl'))
           if os.path.exists(_snapshot_path(run_dir, e['step']))]
  if not evals:
    raise FileNotFoundError(f'No evaluated snapshots in {run_dir}: train an expert first.')
  expert = max(evals, key=lambda e: e['return_mean'])
  target = expert['return_mean'] / 3.0
  medium = min([e for e in evals if e['step'] < expert['step']] or [expert],
               key=lambda e: abs(e['return_mean'] - target))
  return expert, medium


def _snapshot_path(run_dir: str, step: int) -> str:
  return os.path.join(run_dir, 'snapshots', f'step_{step:09d}.npz')


def pick_policies(run_dir: str) -> dict[str, experts.MlpPolicy]:
  """The run's best snapshot (expert) and, before it, the one whose return is closest
  to a third of the expert's (medium), as D4RL chose its medium policies."""
  expert, medium = _picked_evals(run_dir)
  return {level: experts.MlpPolicy.load(_snapshot_path(run_dir, entry['step']))
          for level, entry in (('expert', expert), ('medium', medium))}


# Medium targets kept in a resume state: a third of the best return, and of bests up to
# three times it that the run may still reach.
_MEDIUM_TARGETS = (1.0, 1.25, 1.5, 2.0, 2.5, 3.0)


def export_resume_state(run_dir: str, dest: str, all_snapshots: bool = False) -> int:
  """Writes what a resume on another machine needs into `dest` (replaced whole): the
  latest checkpoint with its random state, config.json, evals.jsonl and the snapshots
  that `pick_policies` picks now or could pick later (the best, and for a third of the
  best return and of bests up to 3x it the snapshot closest to it), or every snapshot
  (a medium-replay run bundles them all). Returns its size in bytes."""
  latest = tf.train.latest_checkpoint(os.path.join(run_dir, 'ckpt'))
  if latest is None:
    raise FileNotFoundError(f'No SAC checkpoint in {run_dir}.')
  expert, medium = _picked_evals(run_dir)
  evals = [e for e in evaluation.read_evals(os.path.join(run_dir, 'evals.jsonl'))
           if os.path.exists(_snapshot_path(run_dir, e['step']))]
  third = expert['return_mean'] / 3.0
  steps = {expert['step'], medium['step']} | {
      min(evals, key=lambda e, t=third * f: abs(e['return_mean'] - t))['step']
      for f in _MEDIUM_TARGETS}
  if all_snapshots:
    steps = {e['step'] for e in evals}
  tmp = dest + '.tmp'
  shutil.rmtree(tmp, ignore_errors=True)
  os.makedirs(os.path.join(tmp, 'ckpt'))
  os.makedirs(os.path.join(tmp, 'snapshots'))
  number = int(latest.rsplit('-', 1)[1])
  for path in glob.glob(latest + '.*') + [_rng_path(os.path.dirname(latest), number)]:
    shutil.copy(path, os.path.join(tmp, 'ckpt'))
  with open(os.path.join(tmp, 'ckpt', 'checkpoint'), 'w') as f:
    name = os.path.basename(latest)
    f.write(f'model_checkpoint_path: "{name}"\nall_model_checkpoint_paths: "{name}"\n')
  for name in ('config.json', 'evals.jsonl'):
    shutil.copy(os.path.join(run_dir, name), tmp)
  for s in sorted(steps):
    shutil.copy(_snapshot_path(run_dir, s), os.path.join(tmp, 'snapshots'))
  shutil.rmtree(dest, ignore_errors=True)
  os.replace(tmp, dest)
  return sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(dest) for f in files)
