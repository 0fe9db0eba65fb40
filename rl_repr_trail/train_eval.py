r"""Pretrain TRAIL on offline data, imitate expert data, evaluate in the environment.

  python -m rl_repr_trail.train_eval

with no data flags runs the default task (default_task.py): TRAIL EBM and BC on ant
data generated from the bundled policies (one expert episode), printed side by side.

  python -m rl_repr_trail.train_eval --offline_data=ant-medium-v2 \
      --expert_data=ant-expert-v2 --method=trail_ebm

Datasets are D4RL names (read from $D4RL_DATASET_DIR), generated names
(gen:TASK-KIND[-ROWS], made on first use), Minari ids (minari:mujoco/ant/expert-v0) or
paths to D4RL-format HDF5 files. Results go to --save_dir: TensorBoard logs, checkpoints (a rerun
resumes) and results.json. SIGTERM or Ctrl-C saves the state at the current step and
exits with status 75 (core/stopping.py); the same command resumes.
"""

import sys

from absl import app
from absl import flags

from rl_repr_trail import cli  # First: it sets the environment's defaults (see cli).
from rl_repr_trail.core import devices
from rl_repr_trail.core import errors
from rl_repr_trail.core import stopping
from rl_repr_trail.envs import tasks
from rl_repr_trail.experiment import default_task
from rl_repr_trail.experiment import run_config
from rl_repr_trail.experiment import runner
from rl_repr_trail.methods import registry


FLAGS = flags.FLAGS


def _register_named_method(argv: list[str]) -> None:
  """Imports a method named by import path (--method=package.module.ATTR) before the flags
  are made, so that its settings have flags too; exits with one line if it cannot."""
  for i, arg in enumerate(argv):
    value = arg.split('=', 1)[1] if arg.startswith('--method=') else (
        argv[i + 1] if arg == '--method' and i + 1 < len(argv) else None)
    if value and registry.is_import_path(value):
      try:
        registry.get(value)
      except KeyError as e:
        sys.exit(f'error: --method={value}: {e.args[0]}')


_register_named_method(sys.argv)
# One flag per setting, made from the config dataclasses' fields (their defaults and help).
SETTINGS = run_config.all_flags()
_EXTRA_HELP = {'env': f' One of {sorted(tasks.TASKS)}.'}
for _flag in SETTINGS.values():
  _help = _flag.help + _EXTRA_HELP.get(_flag.name, '')
  if _flag.type is bool:
    flags.DEFINE_bool(_flag.name, _flag.default, _help)
  elif _flag.type is int:
    flags.DEFINE_integer(_flag.name, _flag.default, _help)
  elif _flag.type is float:
    flags.DEFINE_float(_flag.name, _flag.default, _help)
  elif _flag.type is tuple:
    flags.DEFINE_list(_flag.name, [str(v) for v in _flag.default], _help)
  elif _flag.choices:
    flags.DEFINE_enum(_flag.name, _flag.default, _flag.choices, _help)
  else:
    flags.DEFINE_string(_flag.name, _flag.default, _help)
_DEFAULT_METHOD = registry.get(run_config.RunConfig.method)
flags.DEFINE_enum('embed_learner', _DEFAULT_METHOD.embed_learner, registry.embed_learners(),
                  'Embedding learner (none: no pretraining); with --downstream, another way to '
                  'name a method (--method names both).')
flags.DEFINE_enum('downstream', _DEFAULT_METHOD.downstream, registry.downstreams(),
                  'Downstream algorithm (see --embed_learner).')
# Flags that choose the task or the method, which the default task fixes.
_DEFAULT_TASK_FIXED = ('env', 'method', 'embed_learner', 'downstream')


def _flag_value(name: str):
  if SETTINGS[name].type is not tuple:
    return FLAGS[name].value
  try:
    return tuple(int(v) for v in FLAGS[name].value)
  except ValueError:
    raise run_config.ConfigError(
        f'--{name}={",".join(FLAGS[name].value)}: expected integers.') from None


def _method_name() -> str:
  """--method, or the method of --embed_learner and --downstream, which --method refuses
  to contradict."""
  pair = (FLAGS.embed_learner, FLAGS.downstream)
  if FLAGS['method'].present:
    method = registry.get(FLAGS.method)
    for name in ('embed_learner', 'downstream'):
      if FLAGS[name].present and FLAGS[name].value != getattr(method, name):
        raise run_config.ConfigError(f'--method={method.name} runs --{name}='
                                     f'{getattr(method, name)}, not --{name}={FLAGS[name].value}; '
                                     'give --method alone.')
    return method.name
  method = registry.from_flags(*pair)
  if method is None:
    pairs = ', '.join(f'{m.embed_learner} with {m.downstream}' for m in registry.METHODS.values())
    raise run_config.ConfigError(f'--embed_learner={pair[0]} with --downstream={pair[1]} is not '
                                 f'a method; the methods are {pairs}.')
  return method.name


def config_from_flags() -> run_config.RunConfig:
  """The run's settings, from every flag."""
  values = {name: _flag_value(name) for name in SETTINGS}
  return run_config.from_settings(dict(values, method=_method_name()))


def default_task_overrides() -> dict:
  """{flag: value} of the flags given on the command line, for both default-task runs.

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
  return {name: _flag_value(name) for name in SETTINGS
          if FLAGS[name].present and name not in _DEFAULT_TASK_FIXED + ('save_dir',)}


def run_default_task() -> None:
  """No data flags: TRAIL EBM and BC on generated ant data, side by side; other flags
  given (steps, --noentropy_term, --seed, ...) apply to both runs."""
  overrides = default_task_overrides()
  configs = default_task.configs(FLAGS.save_dir, overrides)
  given = ' '.join(FLAGS[name].serialize() for name in sorted(overrides))
  print(f'No --offline_data/--expert_data: running the default task, TRAIL EBM and BC on '
        f'{default_task.TASK} in the paper\'s regime (generated D4RL-like data: '
        f'{configs[0].data.offline_data} offline, the first {configs[0].data.expert_size} transitions of '
        f'{configs[0].data.expert_data}, one episode, as expert data; '
        f'{configs[0].schedule.pretrain_steps} + {configs[0].schedule.downstream_steps} steps, the original '
        f'code\'s settings)' + (f', with {given}' if given else '')
        + f'. Why this task: {default_task.WHY}.', flush=True)
  results = [runner.run(config) for config in configs]
  print()
  print(default_task.side_by_side(results))


def main(argv: list[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f'Unexpected arguments: {argv[1:]}')
  devices.configure()
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
  except stopping.Stopped as e:
    print(e, file=sys.stderr, flush=True)
    sys.exit(stopping.STOPPED_EXIT_CODE)


if __name__ == '__main__':
  cli.run(main)
