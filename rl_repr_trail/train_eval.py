r"""Pretrain TRAIL on offline data, imitate expert data, evaluate in the environment.

  python -m rl_repr_trail.train_eval

with no data flags runs the default task (default_task.py): TRAIL EBM and BC on ant
data generated from the bundled policies (one expert episode), printed side by side.

  python -m rl_repr_trail.train_eval --offline_data=ant-medium-v2 \
      --expert_data=ant-expert-v2 --method=trail_ebm

Datasets are D4RL names (read from $D4RL_DATASET_DIR) or paths to D4RL-format
HDF5 files. Results go to --save_dir: TensorBoard logs, checkpoints (a rerun
resumes) and results.json.
"""

import dataclasses
import sys

from absl import app
from absl import flags

from rl_repr_trail import cli  # First: it sets the environment's defaults (see cli).
from rl_repr_trail.core import devices
from rl_repr_trail.core import errors
from rl_repr_trail.envs import tasks
from rl_repr_trail.experiment import default_task
from rl_repr_trail.experiment import run_config
from rl_repr_trail.experiment import runner
from rl_repr_trail.methods import method_configs
from rl_repr_trail.methods import registry


_DEFAULTS = run_config.RunConfig()
FLAGS = flags.FLAGS
flags.DEFINE_string('offline_data', None, 'Offline data D_off: D4RL name or HDF5 path.')
flags.DEFINE_string('expert_data', None, 'Expert data D*: D4RL name or HDF5 path.')
flags.DEFINE_string('env', None, f'Task, one of {sorted(tasks.TASKS)}; default: from the data.')
flags.DEFINE_enum('method', None, registry.names(),
                  'The method: ' + ', '.join(f'{m.name} ({m.label})' for m in registry.METHODS.values())
                  + f'. Default: {run_config.RunConfig().spec.name}, or what --embed_learner and '
                  '--downstream name.')
flags.DEFINE_enum('embed_learner', _DEFAULTS.embed_learner, registry.embed_learners(),
                  'Embedding learner (none: no pretraining); with --downstream, another way to '
                  'name a method (--method sets both).')
flags.DEFINE_enum('downstream', _DEFAULTS.downstream, registry.downstreams(),
                  'Downstream algorithm (see --embed_learner).')
flags.DEFINE_integer('expert_size', _DEFAULTS.expert_size, 'N: the first N expert transitions.')
flags.DEFINE_integer('embed_dim', _DEFAULTS.embed_dim, 'd: width of phi and psi.')
flags.DEFINE_integer('fourier_dim', _DEFAULTS.fourier_dim, 'D: random features (trail_linear).')
flags.DEFINE_integer('window', _DEFAULTS.window,
                     't: steps per skill of opal, spirl and skild (pretraining and acting).')
flags.DEFINE_integer('skill_dim', _DEFAULTS.skill_dim, 'Width of z of opal, spirl and skild.')
flags.DEFINE_list('hidden', [str(h) for h in _DEFAULTS.hidden], 'Hidden layer sizes of every MLP.')
flags.DEFINE_integer('pretrain_steps', _DEFAULTS.pretrain_steps, 'Embedding learner steps.')
flags.DEFINE_integer('downstream_steps', _DEFAULTS.downstream_steps, 'Downstream steps.')
flags.DEFINE_integer('batch_size', _DEFAULTS.batch_size, 'Batch size of both phases.')


def _default_rates(which: str) -> str:
  """'3e-4 for trail_ebm, ...': each method's default rate, from its config class."""
  rates = {}
  for m in registry.METHODS.values():
    config_class = m.embedding_config if which == 'embedding' else m.downstream_config
    if config_class is not None:
      rates.setdefault(f'{config_class.learning_rate:g}', []).append(m.name)
  return ', '.join(f'{rate} for {"/".join(names)}' for rate, names in rates.items())


flags.DEFINE_float('embed_learning_rate', None,
                   f'Pretraining Adam rate (default {_default_rates("embedding")}).')
flags.DEFINE_float('downstream_learning_rate', None,
                   f'Downstream Adam rate (default {_default_rates("downstream")}).')
flags.DEFINE_bool('finetune_decoder', _DEFAULTS.finetune_decoder,
                  'Fine-tune the action decoder on the expert data.')
flags.DEFINE_bool('entropy_term', _DEFAULTS.entropy_term,
                  'Add the learned-temperature entropy term (target -|A|) to the losses of '
                  "TRAIL's action decoder (both phases), of BC's policy and of the opal and "
                  "spirl decoders downstream, as the paper and the original code. skild's "
                  'prior term stays.')
flags.DEFINE_enum('latent_action', _DEFAULTS.latent_action, method_configs.LATENT_ACTIONS,
                  'How latent BC acts: sample z from pi_Z(s) (the original code) or take its '
                  'mean (the paper\'s text).')
flags.DEFINE_integer('eval_interval', _DEFAULTS.eval_interval, 'Steps between evaluations.')
flags.DEFINE_integer('eval_episodes', _DEFAULTS.eval_episodes, 'Episodes per evaluation.')
flags.DEFINE_integer('log_interval', _DEFAULTS.log_interval, 'Steps between summaries.')
flags.DEFINE_integer('checkpoint_interval', _DEFAULTS.checkpoint_interval,
                     'Steps between checkpoints.')
flags.DEFINE_integer('seed', _DEFAULTS.seed, 'Random seed.')
flags.DEFINE_enum('distribution', _DEFAULTS.distribution, run_config.DISTRIBUTIONS,
                  'tf.distribute: none, mirrored (all local devices) or multi_worker '
                  '(hosts from TF_CONFIG). The batch is global and split among replicas.')
flags.DEFINE_string('save_dir', None, 'Run directory (default runs/TASK/METHOD/seedN).')


# The RunConfig field of each train_eval flag that sets one (every field has its flag).
_FIELDS = {run_config.FLAG_NAMES.get(f.name, f.name): f.name
           for f in dataclasses.fields(run_config.RunConfig)}
# Flags that choose the task or the method, which the default task fixes.
_DEFAULT_TASK_FIXED = ('env', 'method', 'embed_learner', 'downstream')


def _flag_value(name: str):
  if name != 'hidden':
    return FLAGS[name].value
  try:
    return tuple(int(h) for h in FLAGS.hidden)
  except ValueError:
    raise run_config.ConfigError(f'--hidden={",".join(FLAGS.hidden)}: expected integers.') from None


def config_from_flags() -> run_config.RunConfig:
  """The run's settings; --method sets --embed_learner and --downstream, which it refuses
  to contradict."""
  values = {_FIELDS[name]: _flag_value(name) for name in _FIELDS}
  if FLAGS.method:
    method = registry.get(FLAGS.method)
    for name in ('embed_learner', 'downstream'):
      if FLAGS[name].present and FLAGS[name].value != getattr(method, name):
        raise run_config.ConfigError(f'--method={method.name} runs --{name}='
                                     f'{getattr(method, name)}, not --{name}={FLAGS[name].value}; '
                                     'give --method alone.')
    values.update(embed_learner=method.embed_learner, downstream=method.downstream)
  return run_config.RunConfig(**values)


def default_task_overrides() -> dict:
  """RunConfig fields of the flags given on the command line, for both default-task runs.

  --env, --embed_learner and --downstream choose another task or method: they need data
  flags, and are refused here rather than ignored.
  """
  fixed = [f'--{name}={FLAGS[name].value}' for name in _DEFAULT_TASK_FIXED
           if FLAGS[name].present and not (name == 'env' and FLAGS.env == default_task.TASK)]
  if fixed:
    raise run_config.ConfigError(
        f'{" ".join(fixed)} needs --offline_data and --expert_data: without them train_eval '
        f'runs the default task (TRAIL EBM and BC on {default_task.TASK}), whose task and '
        'methods are fixed.')
  return {_FIELDS[name]: _flag_value(name) for name in _FIELDS
          if FLAGS[name].present and name not in _DEFAULT_TASK_FIXED + ('save_dir',)}


def run_default_task() -> None:
  """No data flags: TRAIL EBM and BC on generated ant data, side by side; other flags
  given (steps, --noentropy_term, --seed, ...) apply to both runs."""
  overrides = default_task_overrides()
  configs = default_task.configs(FLAGS.save_dir, overrides)
  given = ' '.join(FLAGS[name].serialize() for name in _FIELDS
                   if _FIELDS[name] in overrides)
  print(f'No --offline_data/--expert_data: running the default task, TRAIL EBM and BC on '
        f'{default_task.TASK} in the paper\'s regime (generated D4RL-like data: '
        f'{configs[0].offline_data} offline, the first {configs[0].expert_size} transitions of '
        f'{configs[0].expert_data}, one episode, as expert data; '
        f'{configs[0].pretrain_steps} + {configs[0].downstream_steps} steps, the original '
        f'code\'s settings)' + (f', with {given}' if given else '')
        + f'. Why this task: {default_task.WHY}.', flush=True)
  results = [runner.run(config) for config in configs]
  print()
  print(default_task.side_by_side(results))


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  devices.configure_threads()
  try:
    if FLAGS.offline_data is None and FLAGS.expert_data is None:
      run_default_task()
    else:
      runner.run(config_from_flags())
  except (errors.InputError, FileNotFoundError) as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)
  except errors.RunError as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(1)


if __name__ == '__main__':
  cli.run(main)
