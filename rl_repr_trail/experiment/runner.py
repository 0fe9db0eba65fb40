"""One experiment: pretrain an embedding on offline data, imitate expert data, evaluate.

A run directory holds config.json, spec.json (the task's sizes and action bounds),
pretrain/ and downstream/ checkpoints, tb/ (TensorBoard), evals.jsonl and, at the end,
results.json. Rerunning with the same
directory reuses a finished pretraining and resumes an interrupted phase from its
last checkpoint (weights, optimizer state, random state and step).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import resource
import time
from typing import Callable

import tensorflow as tf
from tensorboard.plugins.hparams import api as hp
import tf_keras

from rl_repr_trail.core import devices
from rl_repr_trail.core import errors
from rl_repr_trail.core import progress
from rl_repr_trail.core import settings
from rl_repr_trail.core import specs
from rl_repr_trail.core import stopping
from rl_repr_trail.core import streams
from rl_repr_trail.core import training
from rl_repr_trail.data import batches
from rl_repr_trail.data import datasets
from rl_repr_trail.data import minari_datasets
from rl_repr_trail.data import names
from rl_repr_trail.datagen import generate
from rl_repr_trail.envs import evaluation
from rl_repr_trail.envs import tasks
from rl_repr_trail.experiment import run_config
from rl_repr_trail.experiment import run_directory
from rl_repr_trail.methods import registry


@dataclasses.dataclass
class _Inputs:
  task: tasks.Task
  offline: datasets.Dataset | None
  expert: datasets.Dataset
  zero_contact_forces: bool


def _resolve_task(config: run_config.RunConfig) -> tasks.Task:
  minari_names = [n for n in (config.data.expert_data, config.data.offline_data)
                  if names.is_minari(n)]
  if minari_names:
    found = {name: minari_datasets.task(name) for name in minari_names}
    if len({t.env_id for t in found.values()}) > 1:
      raise run_config.ConfigError(f'The Minari datasets are of different environments: '
                                   f'{ {n: t.env_id for n, t in found.items()} }.')
    if config.data.task:
      raise run_config.ConfigError(
          f'--env={config.data.task}: a Minari dataset names its own environment '
          f'({next(iter(found.values())).env_id}); leave --env out.')
    return next(iter(found.values()))
  if config.data.task:
    return tasks.get_task(config.data.task)
  for name in (config.data.expert_data, config.data.offline_data):
    if name and not names.is_path(name):
      return names.task(name)
  task = datasets.read_metadata(datasets.resolve_path(config.data.expert_data)).get('task')
  if task is None:
    raise run_config.ConfigError(
        f'Cannot tell the task of {config.data.expert_data} (no metadata/task in the file): pass '
        f'--env, one of {sorted(tasks.TASKS)}.')
  return tasks.get_task(str(task))


def _check_dims(dataset: datasets.Dataset, task: tasks.Task, flag: str) -> None:
  if (dataset.obs_dim, dataset.action_dim) != (task.obs_dim, task.action_dim):
    raise datasets.DataError(
        f'--{flag} {dataset.source}: observations have {dataset.obs_dim} dims and actions '
        f'{dataset.action_dim}; the {task.name} environment ({task.env_id}) has '
        f'{task.obs_dim} and {task.action_dim}.')


def _load(name: str) -> datasets.Dataset:
  """A Minari dataset, a generated one (made on first use), a D4RL name or a file."""
  if names.is_minari(name):
    return minari_datasets.load(name)
  return datasets.load(generate.resolve(name))


def load_inputs(config: run_config.RunConfig,
                in_memory: dict[str, datasets.Dataset] | None = None) -> _Inputs:
  """Reads and checks the data against the task's environment; `in_memory` maps a data
  name to a Dataset already in memory (Agent.train's arrays)."""
  in_memory = in_memory or {}
  load = lambda name: in_memory[name] if name in in_memory else _load(name)
  task = _resolve_task(config)
  offline = None
  if config.spec.pretrains:
    offline = load(config.data.offline_data)
    _check_dims(offline, task, 'offline_data')
  expert = load(config.data.expert_data)
  _check_dims(expert, task, 'expert_data')
  expert = expert.first_transitions(config.data.expert_size)
  window = config.spec.window(config.embedding)
  for flag, dataset in (('offline_data', offline), ('expert_data', expert)):
    if dataset is None:
      continue
    items = len(dataset.window_starts(window)) if window else dataset.num_transitions
    what = f'windows of {window} steps' if window else 'transitions'
    # Pretraining takes its negatives from the batch: fewer rows than a batch cannot make
    # one. A few demonstrations are what imitation is for: batches then repeat rows.
    if items < config.batch_size and (flag == 'offline_data' or items == 0):
      raise datasets.DataError(
          f'--{flag} {dataset.source}: {items} {what}, fewer than one batch '
          f'(--batch_size={config.batch_size}); a smaller set is too small to train on.')
    if items < config.batch_size:
      print(f'Note: --{flag} {dataset.source} holds {items} {what}, fewer than one batch '
            f'(--batch_size={config.batch_size}): each batch repeats some of them.', flush=True)
  zero = expert.contact_dims_all_zero(task.contact_dims) and (
      offline is None or offline.contact_dims_all_zero(task.contact_dims))
  return _Inputs(task, offline, expert, zero)


class _Phase:
  """A checkpointed training phase: step counter, summaries, progress and resume."""

  def __init__(self, name: str, save_dir: str, total: int, config: run_config.RunConfig,
               writer, learner: registry.Learner, sampler: batches.Sampler):
    self.name = name
    self.total = total
    self.config = config
    self.writer = writer
    self.step = tf.Variable(0, dtype=tf.int64, name='step')
    self.seconds = {'training': 0.0, 'evaluation': 0.0}  # This process's, by part.
    self.checkpoint = tf.train.Checkpoint(step=self.step, learner=learner.checkpoint(),
                                          sampler=sampler)
    self.checkpoint_variables = list(learner.variables) + list(sampler.variables)
    self.manager = tf.train.CheckpointManager(
        self.checkpoint, os.path.join(save_dir, name), max_to_keep=1)
    if self.manager.latest_checkpoint:
      status = self.checkpoint.restore(self.manager.latest_checkpoint)
      try:
        status.assert_existing_objects_matched()
      except AssertionError:
        status.expect_partial()
        raise errors.InputError(
            f'{self.manager.latest_checkpoint}: this checkpoint does not hold the {name} '
            'networks of this version of rl_repr_trail (it was made by another version); '
            'resume it with that version, or start anew in another --save_dir.') from None
      for optimizer in learner.optimizers():
        optimizer.apply_configured_rate()

  @property
  def current(self) -> int:
    return int(self.step.numpy())

  def _diverged(self, what: str, first: int, last: int) -> errors.RunError:
    self.writer.flush()  # TensorBoard keeps every summary written before.
    saved = self.manager.latest_checkpoint
    kept = (f'its last checkpoint ({os.path.basename(saved)}) is kept: fix the cause '
            '(e.g. a lower learning rate, with --resume_changed) and rerun to resume from '
            'it') if saved else 'no checkpoint of this phase was saved'
    return errors.RunError(f'[{self.name}] diverged between steps {first} and {last}: {what}; '
                           f'the run stops unsaved and writes no results ({kept}).')

  def _check_finite(self, metrics: dict[str, tf.Tensor], first: int, last: int) -> None:
    """Stops the run when a metric of the call that just ran is NaN or inf (a few scalars
    the loop reads anyway)."""
    values = {k: float(v) for k, v in metrics.items()}
    bad = [f'{k} = {v}' for k, v in values.items() if not math.isfinite(v)]
    if bad:
      raise self._diverged(', '.join(bad), first, last)

  def _check_weights(self, step: int) -> None:
    """Refuses to save a state whose variables hold NaN or inf (one reduction per save)."""
    variables = [v for v in self.checkpoint_variables if v.dtype.is_floating]
    if variables and not bool(tf.reduce_all([tf.reduce_all(tf.math.is_finite(v))
                                             for v in variables])):
      bad = next(v.name for v in variables if not bool(tf.reduce_all(tf.math.is_finite(v))))
      raise self._diverged(f'variable {bad} holds NaN or inf', step, step)

  def run(self, run_steps: Callable[[tf.Tensor], dict[str, tf.Tensor]],
          on_eval: Callable[[int], None] | None = None) -> None:
    """Trains from the restored step to `total`, evaluating every eval_interval steps."""
    config, start = self.config, self.current
    if start >= self.total:
      print(f'[{self.name}] finished earlier at step {start}: reusing it.', flush=True)
      return
    if start:
      print(f'[{self.name}] resuming from step {start}.', flush=True)
    tracker = progress.Progress(self.name, self.total, start)
    intervals = [config.schedule.log_interval, config.schedule.checkpoint_interval]
    if on_eval:
      intervals.append(config.schedule.eval_interval)
    step, last_time, last_step = start, time.time(), start
    started = last_time
    while step < self.total:
      if stopping.requested():
        self._stop(step, start)
      n = min([self.total] + [(step // k + 1) * k for k in intervals]) - step
      metrics = run_steps(tf.constant(n, tf.int32))
      self._check_finite(metrics, step, step + n)
      step += n
      self.step.assign(step)
      done = step == self.total
      if step % config.schedule.log_interval == 0 or done:
        now = time.time()
        rate = (step - last_step) / max(now - last_time, 1e-9)
        last_time, last_step = now, step
        with self.writer.as_default(step=step):
          for key, value in metrics.items():
            tf.summary.scalar(f'{self.name}/{key}', value)
          tf.summary.scalar(f'{self.name}/steps_per_sec', rate)
        tracker.update(step, f'loss {float(metrics["loss"]):.3f}', force=done)
      if on_eval and (step % config.schedule.eval_interval == 0 or done):
        eval_start = time.time()
        on_eval(step)
        self.seconds['evaluation'] += time.time() - eval_start
      if step % config.schedule.checkpoint_interval == 0 or done:
        self._check_weights(step)
        self.manager.save(checkpoint_number=step)
      if step == last_step:  # Time spent evaluating or saving is not training time.
        last_time = time.time()
    self.writer.flush()
    self.seconds['training'] += time.time() - started - self.seconds['evaluation']

  def _stop(self, step: int, start: int) -> None:
    """Saves the state at `step` (unless it is the restored one), flushes TensorBoard
    and raises stopping.Stopped."""
    latest = self.manager.latest_checkpoint
    if step != start and not (latest and latest.endswith(f'-{step}')):
      self._check_weights(step)
      self.manager.save(checkpoint_number=step)
    self.writer.flush()
    raise stopping.Stopped(
        f'[{self.name}] stopped by {stopping.requested()} at step {step}, its state saved; '
        'rerun the same command to resume from it.')


def run(config: run_config.RunConfig,
        in_memory: dict[str, datasets.Dataset] | None = None) -> dict:
  """Runs (or resumes) one experiment and returns its results (also in results.json);
  `in_memory` as load_inputs takes it."""
  run_config.validate(config)
  inputs = load_inputs(config, in_memory)
  task = inputs.task
  save_dir = config.save_dir or run_directory.default_save_dir(config, task)
  run_directory.check(save_dir, config)
  print(f'{config.label} on {task.name} ({task.env_id}); run directory {save_dir}', flush=True)
  if inputs.offline is not None:
    print(f'  offline data: {config.data.offline_data} = {inputs.offline.source} '
          f'({inputs.offline.num_transitions} transitions)')
  print(f'  expert data: {config.data.expert_data} = {inputs.expert.source} '
        f'({inputs.expert.num_transitions} transitions)')
  if inputs.zero_contact_forces:
    print(f'  the data has zero contact forces: the policy sees dims {task.contact_dims} as zeros')
  strategy = devices.make_strategy(config.distribution)
  chief = devices.is_chief()
  if not chief:  # Other workers keep their checkpoints and logs apart.
    save_dir = os.path.join(save_dir, devices.worker_name())
  os.makedirs(save_dir, exist_ok=True)
  with run_directory.lock(save_dir), stopping.stop_signals():
    return _run_in(save_dir, config, inputs, strategy, chief)


def _run_in(save_dir: str, config: run_config.RunConfig, inputs: _Inputs,
            strategy: tf.distribute.Strategy, chief: bool) -> dict:
  """The run's steps, in its locked directory."""
  new = not os.path.exists(os.path.join(save_dir, 'config.json'))
  for change in run_directory.record(save_dir, config):
    print(f'  changed {change["setting"]}: {change["old"]} -> {change["new"]} (recorded in '
          'config.json)', flush=True)
  t0 = time.time()
  # Seeds Python's random too: Keras draws each unseeded initializer's seed from it.
  tf_keras.utils.set_random_seed(config.seed)
  writer = tf.summary.create_file_writer(os.path.join(save_dir, 'tb'))
  if new and chief:
    with writer.as_default():
      hp.hparams(hparams(config, inputs.task), trial_id=save_dir)
  spec = env_spec(inputs.task)
  if chief:  # What loading the agent needs without the data or an environment (agent.py).
    run_directory.write_json(os.path.join(save_dir, run_directory.SPEC_FILE), {
        'task': inputs.task.name, 'obs_dim': spec.obs_dim,
        'action_low': spec.action_low.tolist(), 'action_high': spec.action_high.tolist(),
        'zero_contact_forces': inputs.zero_contact_forces})
  embedding, pretrain = _pretrain(save_dir, config, inputs, strategy, writer, spec)
  downstream_phase, evaluate = _imitate(save_dir, config, inputs, strategy, writer, spec,
                                        embedding, chief)
  if not chief:
    return {}
  return _write_results(save_dir, config, inputs.task, pretrain, downstream_phase, evaluate, t0)


def hparams(config: run_config.RunConfig, task: tasks.Task) -> dict[str, bool | int | float | str]:
  """The run's settings for TensorBoard's HParams dashboard: method, task, data, expert
  size, seed and every setting of the run's identity (lists as text)."""
  values = {'method': config.label, 'task': task.name,
            'offline_data': config.data.offline_data or 'none',
            'expert_data': config.data.expert_data, 'expert_size': config.data.expert_size,
            'seed': config.seed}
  identity = run_config.identity_flags(config)
  for name, value in config.flags().items():
    if name in identity and name not in values and name not in ('env', 'method'):
      values[name] = settings.value_text(value)
  return {k: v for k, v in values.items() if v is not None}


def env_spec(task: tasks.Task) -> specs.EnvSpec:
  """The task's observation size and action bounds (read off a new environment)."""
  env = tasks.make_env(task)
  spec = specs.EnvSpec(task.obs_dim, env.action_space.low, env.action_space.high)
  env.close()
  return spec


def _pretrain(save_dir: str, config: run_config.RunConfig, inputs: _Inputs,
              strategy: tf.distribute.Strategy, writer, spec: specs.EnvSpec
              ) -> tuple[object | None, _Phase | None]:
  """Trains (or restores) the method's embedding learner on the offline data; (None,
  None) for a method without pretraining."""
  method = config.spec
  if not method.pretrains:
    return None, None
  with strategy.scope():
    embedding = method.make_embedding(spec, config.embedding, config.seed)
    sampler = batches.Sampler(inputs.offline, streams.seed(config.seed, 'pretrain batches'),
                              window=method.window(config.embedding))
  inputs.offline = None  # The sampler holds the data as tensors: free the numpy copy.
  phase = _Phase('pretrain', save_dir, config.schedule.pretrain_steps, config, writer,
                 learner=embedding, sampler=sampler)
  phase.run(training.compile_steps(embedding.update, sampler, config.batch_size, strategy))
  return embedding, phase


def _imitate(save_dir: str, config: run_config.RunConfig, inputs: _Inputs,
             strategy: tf.distribute.Strategy, writer, spec: specs.EnvSpec,
             embedding, chief: bool) -> tuple[_Phase, Callable[[int], None]]:
  """Trains (or resumes) the downstream learner on the expert data, evaluating it every
  eval_interval steps (on the chief); returns the phase and its evaluation."""
  task, method = inputs.task, config.spec
  with strategy.scope():
    learner = method.make_downstream(spec, config.downstream, embedding, config.seed)
    sampler = batches.Sampler(inputs.expert, streams.seed(config.seed, 'expert batches'),
                              learner.expert_targets(inputs.expert),
                              window=method.window(config.embedding))
  phase = _Phase('downstream', save_dir, config.schedule.downstream_steps, config, writer,
                 learner=learner, sampler=sampler)
  evals_path = os.path.join(save_dir, 'evals.jsonl')
  # Evaluations after the restored step (made before a kill, not checkpointed) are made
  # again, with the same numbers: the file keeps each step once.
  evaluation.keep_evals(evals_path, upto=phase.current)
  policy = learner.actor(task.obs_dim)

  def evaluate(step: int) -> None:
    if not chief:
      return
    returns = evaluation.run_episodes(policy, task, config.schedule.eval_episodes,
                                      seed=streams.seed(config.seed, 'evaluation', step),
                                      zero_contact_forces=inputs.zero_contact_forces)
    stats = evaluation.summarize(task, returns)
    with open(evals_path, 'a') as f:
      f.write(json.dumps({'step': step, **stats}) + '\n')
    with writer.as_default(step=step):
      tf.summary.scalar('eval/return', stats['return_mean'])
      tf.summary.scalar('eval/normalized_score', stats['normalized_score_mean'])
    print(f'[eval] step {step}: return {stats["return_mean"]:.1f} '
          f'normalized score {stats["normalized_score_mean"]:.1f}', flush=True)

  phase.run(training.compile_steps(learner.update, sampler, config.batch_size, strategy),
            evaluate)
  return phase, evaluate


def _write_results(save_dir: str, config: run_config.RunConfig, task: tasks.Task,
                   pretrain: _Phase | None, phase: _Phase, evaluate: Callable[[int], None],
                   t0: float) -> dict:
  """results.json from the evaluations, and the run's one-line summary."""
  evals_path = os.path.join(save_dir, 'evals.jsonl')
  evals = evaluation.read_evals(evals_path, upto=config.schedule.downstream_steps)
  if not evals:  # A finished run asked for fewer steps than it had: evaluate it now.
    evaluate(phase.current)
    evals = evaluation.read_evals(evals_path)
  best = max(evals, key=lambda e: e['normalized_score_mean'])
  results = {
      'method': config.label, 'task': task.name, 'env_id': task.env_id,
      'offline_data': config.data.offline_data, 'expert_data': config.data.expert_data,
      'expert_size': config.data.expert_size, 'seed': config.seed,
      'final': evals[-1], 'best': best,
      'pretrain_steps': config.schedule.pretrain_steps if pretrain else 0,
      'downstream_steps': phase.current, 'wall_time_s': time.time() - t0,
      # This process's peak resident memory (Linux reports kB).
      'peak_memory_gb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20,
      'time_s': {'pretraining': pretrain.seconds['training'] if pretrain else 0.0,
                 'downstream': phase.seconds['training'],
                 'evaluation': phase.seconds['evaluation']},
      'evals': evals}
  run_directory.write_json(os.path.join(save_dir, 'results.json'), results)
  with phase.writer.as_default(step=phase.current):  # The HParams dashboard's metrics.
    tf.summary.scalar('results/final_normalized_score', evals[-1]['normalized_score_mean'])
    tf.summary.scalar('results/best_normalized_score', best['normalized_score_mean'])
    tf.summary.scalar('results/wall_time_s', results['wall_time_s'])
  phase.writer.flush()
  parts = ', '.join(f'{k} {v:.0f}' for k, v in results['time_s'].items())
  print(f'{config.label} | {task.name} | final normalized score {evals[-1]["normalized_score_mean"]:.1f} '
        f'(return {evals[-1]["return_mean"]:.1f}) | best {best["normalized_score_mean"]:.1f} '
        f'at step {best["step"]} | {results["wall_time_s"]:.0f} s ({parts}; this process\'s)',
        flush=True)
  return results
