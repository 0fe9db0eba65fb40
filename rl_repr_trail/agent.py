"""A trained run as an agent: load it, act, embed, evaluate and export it.

  from rl_repr_trail import Agent
  agent = Agent.load('runs/hopper/trail_ebm/seed0')
  actions = agent.act(observations)          # a batch, as the evaluation acts
  stats = agent.evaluate()                   # evals.jsonl's numbers for its step
  agent.export('exported/')                  # a SavedModel, used without this package

A run directory is rebuilt from its config.json, spec.json (the task's sizes and action
bounds) and checkpoints alone: no data file and no environment.
"""

from __future__ import annotations

import hashlib
import json
import os
from typing import Sequence

import numpy as np
import tensorflow as tf
import tf_keras

from rl_repr_trail.core import acting
from rl_repr_trail.core import errors
from rl_repr_trail.core import specs
from rl_repr_trail.core import streams
from rl_repr_trail.data import datasets
from rl_repr_trail.data import names
from rl_repr_trail.envs import evaluation
from rl_repr_trail.envs import tasks
from rl_repr_trail.experiment import run_config
from rl_repr_trail.experiment import run_directory


class Agent:
  """The downstream policy of a run (and its embedding, for the methods that have one)."""

  def __init__(self, config: run_config.RunConfig, task: tasks.Task, spec: dict,
               embedding, learner, step: int):
    self.config, self.task, self.spec = config, task, spec
    self.embedding, self.learner, self.step = embedding, learner, step
    self._actor = learner.actor(task.obs_dim)

  @classmethod
  def load(cls, run_dir: str, step: int | None = None) -> 'Agent':
    """The run in `run_dir` at its latest downstream checkpoint (or at `step`, if that
    checkpoint is kept), finished or interrupted."""
    config_path = os.path.join(run_dir, 'config.json')
    spec_path = os.path.join(run_dir, run_directory.SPEC_FILE)
    for path in (config_path, spec_path):
      if not os.path.exists(path):
        raise errors.InputError(f'{run_dir} is not a run directory of this version of '
                                f'rl_repr_trail: {os.path.basename(path)} is missing.')
    with open(config_path) as f:
      config = run_config.from_saved(json.load(f))
    with open(spec_path) as f:
      spec = json.load(f)
    task = tasks.get_task(spec['task'])
    env = specs.EnvSpec.from_json(spec)
    method = config.spec
    tf_keras.utils.set_random_seed(config.seed)  # As the runner built them.
    embedding = (method.make_embedding(env, config.embedding, config.seed)
                 if method.pretrains else None)
    learner = method.make_downstream(env, config.downstream, embedding, config.seed)
    path = _checkpoint(os.path.join(run_dir, 'downstream'), step)
    if embedding is not None:
      pretrained = tf.train.latest_checkpoint(os.path.join(run_dir, 'pretrain'))
      tf.train.Checkpoint(learner=embedding.checkpoint()).restore(pretrained).expect_partial()
    status = tf.train.Checkpoint(learner=learner.checkpoint()).restore(path)
    status.assert_existing_objects_matched()
    status.expect_partial()  # The phase's step and sampler are training state, not the agent.
    return cls(config, task, spec, embedding, learner, int(path.rsplit('-', 1)[1]))

  @classmethod
  def train(cls, settings: dict, expert: dict[str, np.ndarray],
            offline: dict[str, np.ndarray] | None = None) -> 'Agent':
    """Trains a run on arrays in memory, as train_eval does with files: `settings` are
    train_eval's flags (`env` required, the data flags left out); `expert` and `offline`
    map D4RL keys (observations, actions, terminals, timeouts, optionally
    next_observations) to arrays. The same run directory (checkpoints, TensorBoard,
    evaluations, results.json; `save_dir` or runs/TASK/METHOD/seedN); returns its agent."""
    from rl_repr_trail.experiment import runner  # pylint: disable=g-import-not-at-top
    if not settings.get('env'):
      raise errors.InputError(f'Agent.train needs settings["env"], one of {sorted(tasks.TASKS)}.')
    given = {'expert_data': expert, 'offline_data': offline}
    in_memory, given_names = {}, {}
    for flag, arrays in given.items():
      if arrays is None:
        continue
      dataset = _from_arrays(flag, arrays)
      given_names[flag] = f'{names.MEMORY_PREFIX}{dataset.source}'
      in_memory[given_names[flag]] = dataset
    config = run_config.from_settings(dict(settings, **given_names))
    runner.run(config, in_memory)
    return cls.load(config.save_dir or run_directory.default_save_dir(
        config, tasks.get_task(config.data.task)))

  def reset(self, seeds: Sequence[int]) -> None:
    """Starts one episode per seed, a row each: the latent draws of a row repeat for its
    seed (a no-op for BC, which draws nothing)."""
    if hasattr(self._actor, 'reset'):
      self._actor.reset(list(seeds))

  def act(self, observations: np.ndarray) -> np.ndarray:
    """Actions for a batch of observations [B, obs_dim], as the evaluation acts: latent
    BC's z sampled with its seeded generator (see `reset`), skills' z held for t steps."""
    observations = np.array(observations, np.float32, ndmin=2)
    if self.spec.get('zero_contact_forces'):
      observations[:, self.task.contact_dims[0]:self.task.contact_dims[1]] = 0.0
    return self._actor(observations)

  def embed(self, observations: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """The latent actions z = phi(s, a) of a batch of transitions (TRAIL's methods)."""
    if not hasattr(self.embedding, 'embed'):
      raise errors.InputError(f'{self.config.label} has no latent action of a transition '
                              '(TRAIL EBM and TRAIL linear have one).')
    return self.embedding.embed(np.asarray(observations, np.float32),
                                np.asarray(actions, np.float32)).numpy()

  def evaluate(self, episodes: int | None = None, seed: int | None = None) -> dict:
    """Mean and std of returns and normalized scores over `episodes` (default: the run's)
    seeded episodes; with the default seed, the numbers evals.jsonl holds for this step."""
    episodes = episodes or self.config.schedule.eval_episodes
    seed = streams.seed(self.config.seed, 'evaluation', self.step) if seed is None else seed
    returns = evaluation.run_episodes(self._actor, self.task, episodes, seed=seed,
                                      zero_contact_forces=self.spec.get('zero_contact_forces'))
    return {'step': self.step, **evaluation.summarize(self.task, returns)}

  def export(self, path: str) -> None:
    """A TensorFlow SavedModel with serving signatures: `act(observations)` for BC;
    `act(observations, noise)` (z = mean + std * noise of pi_Z(s); zeros: its mean) for
    latent BC, and `embed(observations, actions)` for TRAIL; `choose_latent(observations,
    noise)` and `decode(observations, latents)` for the skill methods."""
    module = tf.Module()
    obs = tf.TensorSpec([None, self.task.obs_dim], tf.float32, name='observations')
    acts = tf.TensorSpec([None, self.task.action_dim], tf.float32, name='actions')
    learner = self.learner
    # The variables alone are tracked (not the learners, whose own functions return
    # distributions, which a SavedModel cannot hold without TFP imported).
    module.weights = list(learner.variables)
    signatures = {}
    if not hasattr(learner, 'latent_policy'):
      signatures['act'] = tf.function(lambda o: {'actions': learner.act(o)},
                                      input_signature=[obs])
    else:
      latents = tf.TensorSpec([None, self.embedding.latent_dim], tf.float32,
                              name='noise')
      if hasattr(learner, 'act'):
        signatures['act'] = tf.function(lambda o, n: {'actions': learner.act(o, n)},
                                        input_signature=[obs, latents])
      else:
        choose = lambda o, n: {'latents': acting.sampled_latent(learner.latent_policy(o), n)}
        decode = lambda o, z: {'actions': learner.decoder.mode(tf.concat([o, z], axis=-1))}
        signatures['choose_latent'] = tf.function(choose, input_signature=[obs, latents])
        signatures['decode'] = tf.function(decode, input_signature=[
            obs, tf.TensorSpec(latents.shape, tf.float32, name='latents')])
    if hasattr(self.embedding, 'embed'):
      embedding = self.embedding
      module.embedding_weights = list(embedding.variables)
      signatures['embed'] = tf.function(lambda o, a: {'latents': embedding.embed(o, a)},
                                        input_signature=[obs, acts])
    for name, function in signatures.items():
      setattr(module, name, function)
    tf.saved_model.save(module, path, signatures=signatures)


def _from_arrays(flag: str, arrays: dict[str, np.ndarray]) -> datasets.Dataset:
  """A checked Dataset of D4RL arrays, named by a hash of their contents (the name is part
  of the run's identity: other arrays, another run)."""
  missing = [k for k in ('observations', 'actions', 'terminals') if k not in arrays]
  if missing:
    raise errors.InputError(f'{flag}: missing array(s) {missing}; expected D4RL keys '
                            'observations, actions, terminals[, timeouts, next_observations].')
  digest = hashlib.sha1()
  for key in sorted(arrays):
    values = np.ascontiguousarray(arrays[key])
    datasets.check_values(f'{flag} (in memory)', key, values)
    digest.update(key.encode() + values.tobytes())
  return datasets.from_arrays(arrays['observations'], arrays['actions'], arrays['terminals'],
                              arrays.get('timeouts'), arrays.get('next_observations'),
                              source=f'{flag}-{digest.hexdigest()[:12]}')


def _checkpoint(directory: str, step: int | None) -> str:
  """The path of a kept downstream checkpoint, or an error naming the kept ones."""
  state = tf.train.get_checkpoint_state(directory)
  kept = list(state.all_model_checkpoint_paths) if state else []
  if not kept:
    raise errors.InputError(f'{directory} holds no checkpoint: the run has not trained its '
                            'downstream policy yet.')
  if step is None:
    return state.model_checkpoint_path
  found = [p for p in kept if p.endswith(f'-{step}')]
  if not found:
    raise errors.InputError(f'{directory}: no checkpoint of step {step} is kept; kept: '
                            f'{[int(p.rsplit("-", 1)[1]) for p in kept]}.')
  return found[0]
