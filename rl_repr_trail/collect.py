r"""Expert policies and generated datasets.

  python -m rl_repr_trail.collect train_expert --env=hopper [--total_steps=1000000]
  python -m rl_repr_trail.collect train_expert --env=hopper --until_medium
  python -m rl_repr_trail.collect export_replay_policies --env=hopper
  python -m rl_repr_trail.collect export_policies --env=hopper
  python -m rl_repr_trail.collect export_resume_state --env=hopper
  python -m rl_repr_trail.collect evaluate_policies [--env=hopper] [--episodes=10]
  python -m rl_repr_trail.collect datasets --env=hopper --kind=medium [--size=1000000]

train_expert resumes from its run directory ($TRAIL_EXPERT_DIR/ENV, default
~/.rl_repr_trail/experts/ENV). export_policies copies the run's best snapshot
(expert) and the snapshot closest to a third of its return (medium) into the
package. export_resume_state writes what an unfinished run needs to go on on another
machine (a few MB, no replay) to launch/expert_state/ENV, where train_expert in an empty
run directory starts from it. datasets writes D4RL-format HDF5 into $TRAIL_DATA_DIR.

--until_medium trains a separate SAC run (run directory ENV-medium-replay) that stops at
the first evaluation reaching the bundled medium policy's score; export_replay_policies
then bundles its snapshots up to that step, from which gen:ENV-medium-replay is made.
"""

import os

from absl import app
from absl import flags

from rl_repr_trail import cli  # First: it sets the environment's defaults (see cli).
from rl_repr_trail.core import errors
from rl_repr_trail.datagen import experts
from rl_repr_trail.datagen import generate
from rl_repr_trail.envs import evaluation
from rl_repr_trail.envs import tasks


FLAGS = flags.FLAGS
flags.DEFINE_string('env', None, f'Task name, one of {sorted(tasks.TASKS)}.')
flags.DEFINE_string('run_dir', None, 'Expert run directory (default $TRAIL_EXPERT_DIR/ENV).')
flags.DEFINE_integer('total_steps', 1_000_000, 'SAC environment steps (one update per step).')
flags.DEFINE_integer('eval_every', 10_000, 'SAC steps between evaluations and checkpoints.')
flags.DEFINE_integer('update_every', 50, 'SAC collects this many steps, then makes as many '
                     'updates in one compiled call.')
flags.DEFINE_bool('until_medium', False, 'train_expert and export_resume_state: the '
                  'medium-replay run (run directory ENV-medium-replay), which stops at the first '
                  'evaluation that reaches the bundled medium policy\'s normalized score.')
flags.DEFINE_integer('threads', None, 'SAC: TensorFlow ops run at once, one thread each '
                     '(default: one per core; 1 leaves the other cores to other work).')
flags.DEFINE_enum('kind', None, generate.KINDS, 'Dataset kind.')
flags.DEFINE_integer('size', None, 'Dataset rows (default 1,000,000; medium-replay: all).')
flags.DEFINE_integer('num_envs', 8, 'Environments stepped together when collecting.')
flags.DEFINE_integer('episodes', 10, 'Episodes per policy for evaluate_policies.')
flags.DEFINE_integer('seed', 0, 'Random seed.')

COMMANDS = ('train_expert', 'export_policies', 'export_resume_state', 'export_replay_policies',
            'evaluate_policies', 'datasets')


def _task() -> tasks.Task:
  if FLAGS.env is None:
    raise errors.InputError(f'--env is required: one of {sorted(tasks.TASKS)}.')
  return tasks.get_task(FLAGS.env)


def train_expert() -> None:
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from rl_repr_trail.core import devices  # pylint: disable=g-import-not-at-top
  from rl_repr_trail.datagen import sac  # pylint: disable=g-import-not-at-top
  # As train_eval: one thread per op (docs/speed.md).
  devices.configure()
  if FLAGS.threads:
    tf.config.threading.set_inter_op_parallelism_threads(FLAGS.threads)
  task = _task()
  stop_score = None
  if FLAGS.until_medium:
    stop_score = experts.load_bundled(task.name, 'medium').metadata['normalized_score_mean']
  config = sac.SacConfig(total_steps=FLAGS.total_steps, eval_every=FLAGS.eval_every,
                         update_every=FLAGS.update_every, seed=FLAGS.seed, stop_score=stop_score)
  sac.train(task, _run_dir(task), config, state_name=_state_name(task))


def _state_name(task: tasks.Task, until_medium: bool | None = None) -> str:
  """The run's name under launch/expert_state and $TRAIL_EXPERT_DIR."""
  until_medium = FLAGS.until_medium if until_medium is None else until_medium
  return f'{task.name}-medium-replay' if until_medium else task.name


def _run_dir(task: tasks.Task, until_medium: bool | None = None) -> str:
  from rl_repr_trail.datagen import sac  # pylint: disable=g-import-not-at-top
  return FLAGS.run_dir or sac.default_run_dir(_state_name(task, until_medium))


def export_policies() -> None:
  from rl_repr_trail.datagen import sac  # pylint: disable=g-import-not-at-top
  task = _task()
  run_dir = FLAGS.run_dir or sac.default_run_dir(task.name)
  for level, policy in sac.pick_policies(run_dir).items():
    path = experts.bundled_policy_path(task.name, level)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    policy.save(path)
    print(f'{level}: step {policy.metadata["step"]}, return {policy.metadata["return_mean"]:.1f} '
          f'-> {path}')


def export_resume_state() -> None:
  from rl_repr_trail.datagen import sac  # pylint: disable=g-import-not-at-top
  task = _task()
  dest = os.path.join(sac.RESUME_STATE_DIR, _state_name(task))
  size = sac.export_resume_state(_run_dir(task), dest, all_snapshots=FLAGS.until_medium)
  print(f'{task.name}: resume state, {size / 1e6:.1f} MB -> {dest}')


def export_replay_policies() -> None:
  from rl_repr_trail.datagen import replay  # pylint: disable=g-import-not-at-top
  task = _task()
  path = replay.bundle_path(task.name)
  info = replay.write(_run_dir(task, until_medium=True), path)
  print(f'{task.name}: {len(info["snapshot_scores"])} snapshots up to step {info["end_step"]} '
        f'(which scored {info["end_score"]:.1f}, the medium policy '
        f'{info["stop_score"]:.1f}), {os.path.getsize(path) / 1e6:.1f} MB -> {path}')


def evaluate_policies() -> None:
  pairs = [(t, lvl) for t, lvl in experts.available_policies()
           if FLAGS.env is None or t == FLAGS.env]
  if not pairs:
    raise errors.InputError(f'No bundled policy for {FLAGS.env or "any task"}.')
  print(f'| task | policy | SAC step | return (mean +- std, {FLAGS.episodes} episodes) '
        '| normalized score |')
  print('|---|---|---|---|---|')
  for task_name, level in pairs:
    task = tasks.get_task(task_name)
    policy = experts.load_bundled(task_name, level)
    stats = evaluation.summarize(task, evaluation.run_episodes(
        policy, task, FLAGS.episodes, seed=FLAGS.seed))
    print(f'| {task_name} | {level} | {policy.metadata.get("step")} | {stats["return_mean"]:.1f} '
          f'+- {stats["return_std"]:.1f} | {stats["normalized_score_mean"]:.1f} |', flush=True)


def datasets() -> None:
  task = _task()
  if FLAGS.kind is None:
    raise errors.InputError(f'--kind is required: one of {generate.KINDS}.')
  if FLAGS.size is not None and FLAGS.size <= 0:
    raise errors.InputError(f'--size must be positive, got {FLAGS.size}.')
  name = f'gen:{task.name}-{FLAGS.kind}' + (f'-{FLAGS.size}' if FLAGS.size else '')
  path = generate.ensure(name, seed=FLAGS.seed, num_envs=FLAGS.num_envs,
                         expert_run_dir=FLAGS.run_dir)
  print(f'{name} (seed {FLAGS.seed}): {path}')


def main(argv: list[str]) -> None:
  if len(argv) != 2 or argv[1] not in COMMANDS:
    raise app.UsageError(f'Expected one command, one of {COMMANDS}; got {argv[1:]}.')
  try:
    globals()[argv[1]]()
  except (errors.InputError, FileNotFoundError) as e:
    raise app.UsageError(str(e)) from None


if __name__ == '__main__':
  cli.run(main)
