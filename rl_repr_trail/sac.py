"""SAC expert training with tf-agents' SacAgent on gymnasium MuJoCo environments.

The run directory holds everything a resume needs:
  ckpt/        agent weights, optimizer state and step (tf.train.CheckpointManager)
  replay/      every transition, in chunks written with each checkpoint; the
               medium-replay datasets are cut from it
  snapshots/   the deterministic actor after each evaluation (MlpPolicy files)
  evals.jsonl  the evaluation return of each snapshot
  tb/          TensorBoard summaries
Timeouts do not end the bootstrap (discount stays 1); only real terminations do.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import warnings

import numpy as np
import tensorflow as tf

from rl_repr_trail import envs  # pylint: disable=g-bad-import-order

envs.import_old_gym_quietly()  # Before tf-agents imports it.
# tf-agents compares with literals using `is` in code that autograph converts when SAC's
# steps are traced; Python would warn of it on every conversion.
warnings.filterwarnings('ignore', message='"is( not)?" with a literal',
                        category=SyntaxWarning, module='.*__autograph_generated_file')
from tf_agents.agents.sac import sac_agent  # pylint: disable=g-import-not-at-top
from tf_agents.agents.sac import tanh_normal_projection_network
from tf_agents.agents.ddpg import critic_network
from tf_agents.networks import actor_distribution_network
from tf_agents.specs import tensor_spec
from tf_agents.trajectories import policy_step
from tf_agents.trajectories import time_step as ts
from tf_agents.trajectories import trajectory

from rl_repr_trail import errors
from rl_repr_trail import evaluation
from rl_repr_trail import experts
from rl_repr_trail import progress


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
  # Measured on ant, 2 cores: 8.7 ms an update in calls of 50, 10.9 one call each.
  update_every: int = 50


def _specs(task: envs.Task):
  env = envs.make_env(task)
  space = env.action_space
  env.close()
  obs_spec = tensor_spec.TensorSpec([task.obs_dim], tf.float32, 'observation')
  action_spec = tensor_spec.BoundedTensorSpec(
      [task.action_dim], tf.float32, space.low.astype(np.float32),
      space.high.astype(np.float32), 'action')
  return ts.time_step_spec(obs_spec), action_spec


def make_agent(task: envs.Task, config: SacConfig
               ) -> tuple[sac_agent.SacAgent, actor_distribution_network.ActorDistributionNetwork]:
  """Returns the SacAgent and its actor network (which the agent keeps private)."""
  time_step_spec, action_spec = _specs(task)
  actor = actor_distribution_network.ActorDistributionNetwork(
      time_step_spec.observation, action_spec, fc_layer_params=config.hidden,
      continuous_projection_net=tanh_normal_projection_network.TanhNormalProjectionNetwork)
  critic = critic_network.CriticNetwork(
      (time_step_spec.observation, action_spec), joint_fc_layer_params=config.hidden,
      kernel_initializer='glorot_uniform', last_kernel_initializer='glorot_uniform')
  adam = lambda: tf.keras.optimizers.Adam(config.learning_rate)
  agent = sac_agent.SacAgent(
      time_step_spec, action_spec, actor_network=actor, critic_network=critic,
      actor_optimizer=adam(), critic_optimizer=adam(), alpha_optimizer=adam(),
      target_update_tau=config.tau, gamma=config.gamma,
      td_errors_loss_fn=tf.math.squared_difference, train_step_counter=tf.Variable(0, dtype=tf.int64))
  agent.initialize()
  return agent, actor


def export_actor(actor: actor_distribution_network.ActorDistributionNetwork,
                 action_spec: tensor_spec.BoundedTensorSpec, metadata: dict) -> experts.MlpPolicy:
  """The deterministic SAC actor as an MlpPolicy (dense layers in call order)."""
  variables = actor.trainable_variables
  kernels = [v.numpy() for v in variables if 'kernel' in v.name]
  biases = [v.numpy() for v in variables if 'bias' in v.name]
  return experts.MlpPolicy(kernels, biases, action_spec.minimum, action_spec.maximum, metadata)


class _Replay:
  """Every transition of the run in numpy arrays (the buffer never evicts)."""

  KEYS = ('observations', 'actions', 'rewards', 'next_observations', 'terminals', 'timeouts')

  def __init__(self, task: envs.Task, capacity: int):
    self.size = 0
    self.data = {
        'observations': np.zeros((capacity, task.obs_dim), np.float32),
        'actions': np.zeros((capacity, task.action_dim), np.float32),
        'rewards': np.zeros((capacity,), np.float32),
        'next_observations': np.zeros((capacity, task.obs_dim), np.float32),
        'terminals': np.zeros((capacity,), bool),
        'timeouts': np.zeros((capacity,), bool),
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


def load_replay(run_dir: str, upto: int) -> dict[str, np.ndarray]:
  """The first `upto` transitions of a run's replay data (for medium-replay datasets)."""
  with open(os.path.join(run_dir, 'config.json')) as f:
    task = envs.get_task(json.load(f)['task'])
  replay = _Replay(task, upto)
  replay.load_chunks(os.path.join(run_dir, 'replay'), upto)
  return replay.data


def train(task: envs.Task, run_dir: str, config: SacConfig) -> None:
  """Trains (or resumes) SAC on `task`, evaluating and snapshotting every eval_every steps."""
  if config.update_every < 1 or config.eval_every % config.update_every:
    raise errors.InputError(f'--eval_every={config.eval_every} must be a multiple of '
                            f'--update_every={config.update_every} (a positive number): '
                            'checkpoints are taken between blocks of updates.')
  os.makedirs(run_dir, exist_ok=True)
  with open(os.path.join(run_dir, 'config.json'), 'w') as f:
    json.dump({'task': task.name, **dataclasses.asdict(config)}, f, indent=1)
  tf.random.set_seed(config.seed)
  agent, actor = make_agent(task, config)
  step = tf.Variable(0, dtype=tf.int64)
  checkpoint = tf.train.Checkpoint(agent=agent, step=step)
  manager = tf.train.CheckpointManager(checkpoint, os.path.join(run_dir, 'ckpt'), max_to_keep=2)
  replay = _Replay(task, config.total_steps)
  if manager.latest_checkpoint:
    checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
    replay.load_chunks(os.path.join(run_dir, 'replay'), int(step.numpy()))
    print(f'Resuming SAC on {task.name} from step {int(step.numpy())}.', flush=True)

  @tf.function
  def sample_action(obs):
    distribution, _ = actor(obs, step_type=(), network_state=())
    return distribution.sample()

  def train_step(obs, action, reward, next_obs, discount):
    mid = tf.fill(tf.shape(reward), ts.StepType.MID)
    experience = trajectory.Transition(
        time_step=ts.TimeStep(mid, tf.zeros_like(reward), tf.ones_like(reward), obs),
        action_step=policy_step.PolicyStep(action, (), ()),
        next_time_step=ts.TimeStep(mid, reward, discount, next_obs))
    return agent.train(experience).loss

  vector = lambda dim: tf.TensorSpec([None, None, dim], tf.float32)
  scalar = tf.TensorSpec([None, None], tf.float32)

  @tf.function(input_signature=[vector(task.obs_dim), vector(task.action_dim), scalar,
                                vector(task.obs_dim), scalar])
  def train_steps(obs, action, reward, next_obs, discount):
    """One update per batch of the stacked batches [K, B, ...]; the last update's loss."""
    loss = tf.constant(0.0)
    for i in tf.range(tf.shape(reward)[0]):
      loss = train_step(obs[i], action[i], reward[i], next_obs[i], discount[i])
    return loss

  env = envs.make_env(task)
  rng = np.random.default_rng(config.seed + int(step.numpy()))
  obs, _ = env.reset(seed=config.seed + int(step.numpy()))
  writer = tf.summary.create_file_writer(os.path.join(run_dir, 'tb'))
  tracker = progress.Progress(f'sac {task.name}', config.total_steps, int(step.numpy()), 30.0)
  chunk_start = int(step.numpy())
  episode_return, loss = 0.0, float('nan')
  block_start = int(step.numpy())
  while block_start < config.total_steps:
    block_end = min(block_start + config.update_every, config.total_steps)
    for t in range(block_start, block_end):
      if t < config.initial_random_steps:
        action = env.action_space.sample()
      else:
        action = sample_action(obs[None].astype(np.float32))[0].numpy()
      next_obs, reward, terminated, truncated, _ = env.step(action)
      replay.add(observations=obs, actions=action, rewards=reward, next_observations=next_obs,
                 terminals=terminated, timeouts=truncated and not terminated)
      episode_return += reward
      obs = next_obs
      if terminated or truncated:
        with writer.as_default(step=t):
          tf.summary.scalar('collect/episode_return', episode_return)
        obs, _ = env.reset()
        episode_return = 0.0
    updates = block_end - max(block_start, config.initial_random_steps)
    if updates > 0:  # One per step of the block past the random steps.
      idx = rng.integers(0, replay.size, (updates, config.batch_size))
      d = replay.data
      loss = train_steps(d['observations'][idx], d['actions'][idx], d['rewards'][idx],
                         d['next_observations'][idx],
                         1.0 - d['terminals'][idx].astype(np.float32))
    step.assign(block_end)
    if block_end % config.eval_every == 0 or block_end == config.total_steps:
      _evaluate_and_snapshot(agent, actor, task, run_dir, block_end, config, writer, float(loss))
      replay.save_chunk(os.path.join(run_dir, 'replay'), chunk_start)
      manager.save(checkpoint_number=block_end)
      chunk_start = block_end
    tracker.update(block_end, f'loss {float(loss):.3f}')
    block_start = block_end
  env.close()


def _evaluate_and_snapshot(agent, actor, task, run_dir, step, config, writer, loss) -> None:
  policy = export_actor(actor, agent.action_spec, {'task': task.name, 'step': step, 'source': 'tf-agents SAC'})
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
    tf.summary.scalar('train/loss', loss)
  print(f'[sac {task.name}] step {step}: return {stats["return_mean"]:.1f} '
        f'normalized {stats["normalized_score_mean"]:.1f}', flush=True)


def pick_policies(run_dir: str) -> dict[str, experts.MlpPolicy]:
  """The run's best snapshot (expert) and, before it, the one whose return is closest
  to a third of the expert's (medium), as D4RL chose its medium policies."""
  evals = evaluation.read_evals(os.path.join(run_dir, 'evals.jsonl'))
  if not evals:
    raise FileNotFoundError(f'No evaluated snapshots in {run_dir}: train an expert first.')
  expert = max(evals, key=lambda e: e['return_mean'])
  target = expert['return_mean'] / 3.0
  medium = min((e for e in evals if e['step'] < expert['step']) or [expert],
               key=lambda e: abs(e['return_mean'] - target))
  return {level: experts.MlpPolicy.load(
      os.path.join(run_dir, 'snapshots', f'step_{entry["step"]:09d}.npz'))
          for level, entry in (('expert', expert), ('medium', medium))}
