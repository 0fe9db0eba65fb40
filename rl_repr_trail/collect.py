"""Expert training and dataset generation.

  python -m rl_repr_trail.collect train_expert --env=hopper [--total_steps=1000000]

Runs resume from their run directory (default $TRAIL_DATA_DIR/experts/<env>).
"""

from __future__ import annotations

import os

from absl import app
from absl import flags

from rl_repr_trail import envs

FLAGS = flags.FLAGS
flags.DEFINE_string('env', None, f'Task name, one of {sorted(envs.TASKS)}.')
flags.DEFINE_string('run_dir', None, 'Expert run directory (default $TRAIL_DATA_DIR/experts/ENV).')
flags.DEFINE_integer('total_steps', 1_000_000, 'SAC environment steps (one update per step).')
flags.DEFINE_integer('eval_every', 10_000, 'Steps between evaluations and checkpoints.')
flags.DEFINE_integer('seed', 0, 'Random seed.')
flags.DEFINE_integer('threads', 1, 'TensorFlow intra- and inter-op threads.')

COMMANDS = ('train_expert',)


def data_dir() -> str:
  """Where generated data and expert runs live ($TRAIL_DATA_DIR, default ~/.rl_repr_trail)."""
  return os.path.expanduser(os.environ.get('TRAIL_DATA_DIR', '~/.rl_repr_trail'))


def main(argv: list[str]) -> None:
  if len(argv) != 2 or argv[1] not in COMMANDS:
    raise app.UsageError(f'Expected one command, one of {COMMANDS}; got {argv[1:]}.')
  if FLAGS.env is None:
    raise app.UsageError(f'--env is required: one of {sorted(envs.TASKS)}.')
  task = envs.get_task(FLAGS.env)
  import tensorflow as tf  # Imported late so that usage errors come fast.
  tf.config.threading.set_intra_op_parallelism_threads(FLAGS.threads)
  tf.config.threading.set_inter_op_parallelism_threads(FLAGS.threads)
  from rl_repr_trail import sac
  run_dir = FLAGS.run_dir or os.path.join(data_dir(), 'experts', task.name)
  config = sac.SacConfig(total_steps=FLAGS.total_steps, eval_every=FLAGS.eval_every,
                         seed=FLAGS.seed)
  sac.train(task, run_dir, config)


if __name__ == '__main__':
  app.run(main)
