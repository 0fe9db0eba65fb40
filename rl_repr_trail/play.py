r"""Plays a trained run's agent in its environment, and films it.

  python -m rl_repr_trail.play RUN_DIR [--episodes=3] [--seed=0] [--video=episode.gif]

Prints each episode's return and normalized score (the agent acts as the evaluation
does). With --video the first episode is rendered offscreen by MuJoCo into a GIF or an
MP4 (MP4 needs imageio-ffmpeg); rendering needs a system GL, Debian's libegl1 (EGL, the
default) or libosmesa6 (MUJOCO_GL=osmesa). Without one the episodes are still played
and one line says why no video was written.
"""

import os
import subprocess
import sys
import tempfile

from absl import app
from absl import flags

from rl_repr_trail import cli  # First: it sets the environment's defaults (see cli).
from rl_repr_trail.core import errors

# The renderer the user asked for, read before a DM Control environment sets MUJOCO_GL to
# 'disable' in this process (envs/tasks.py); the rendering process gets this one.
_RENDER_GL = os.environ.get('MUJOCO_GL')

FLAGS = flags.FLAGS
flags.DEFINE_integer('episodes', 3, 'Episodes to play, one after the other.', lower_bound=1)
flags.DEFINE_integer('seed', 0, 'Episode i is reset with seed + i.')
flags.DEFINE_string('video', None, 'Write the first episode as a .gif or .mp4 here.')


def play(run_dir: str, episodes: int, seed: int, video: str | None) -> list[dict]:
  """Plays `episodes` seeded episodes; returns each one's return and normalized score."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  from rl_repr_trail.agent import Agent  # pylint: disable=g-import-not-at-top
  from rl_repr_trail.envs import tasks  # pylint: disable=g-import-not-at-top
  if video and os.path.splitext(video)[1].lower() not in ('.gif', '.mp4'):
    raise errors.InputError(f'--video={video}: expected a .gif or .mp4 path.')
  agent = Agent.load(run_dir)
  print(f'{agent.config.label} on {agent.task.name}, step {agent.step} of {run_dir}', flush=True)
  played, states = [], None
  for episode in range(episodes):
    env = tasks.make_env(agent.task)
    obs, _ = env.reset(seed=seed + episode)
    agent.reset([seed + episode])
    record = episode == 0 and video
    qpos, qvel, total, steps, done = [], [], 0.0, 0, False
    while not done:
      if record:
        q, v = tasks.physics_state(env)
        qpos.append(q)
        qvel.append(v)
      obs, reward, terminated, truncated, _ = env.step(agent.act(obs[None])[0])
      total += reward
      steps += 1
      done = terminated or truncated
    env.close()
    if record:
      states = (np.array(qpos), np.array(qvel))
    score = float(tasks.normalized_score(agent.task, total))
    played.append({'episode': episode, 'seed': seed + episode, 'steps': steps,
                   'return': total, 'normalized_score': score})
    print(f'episode {episode} (seed {seed + episode}): {steps} steps, return {total:.1f}, '
          f'normalized score {score:.1f}', flush=True)
  if video:
    _film(agent.task.name, states, video)
  return played


def _film(task_name: str, states, video: str) -> None:
  """Renders the recorded states in a process of their own (MuJoCo's GL context and
  TensorFlow cannot share one: envs/render.py)."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, 'states.npz')
    np.savez(path, task=task_name, qpos=states[0], qvel=states[1])
    env = {k: v for k, v in os.environ.items() if k != 'MUJOCO_GL'}
    if _RENDER_GL:
      env['MUJOCO_GL'] = _RENDER_GL
    result = subprocess.run([sys.executable, '-m', 'rl_repr_trail.envs.render', path, video],
                            capture_output=True, text=True, env=env, check=False)
  if result.returncode == 0:
    print(result.stdout.strip(), flush=True)
    return
  lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
  print(f'No video written: offscreen rendering failed (MUJOCO_GL='
        f'{_RENDER_GL or "egl"}; it needs a system GL such as Debian\'s libegl1, '
        f'or libosmesa6 with MUJOCO_GL=osmesa): {lines[-1] if lines else "no message"}',
        flush=True)


def main(argv: list[str]) -> None:
  if len(argv) != 2:
    raise app.UsageError('Usage: python -m rl_repr_trail.play RUN_DIR [--episodes=N] '
                         '[--seed=S] [--video=PATH]')
  from rl_repr_trail.core import devices  # pylint: disable=g-import-not-at-top
  devices.configure()
  try:
    play(argv[1], FLAGS.episodes, FLAGS.seed, FLAGS.video)
  except (errors.InputError, FileNotFoundError) as e:
    print(f'error: {e}', file=sys.stderr)
    sys.exit(2)


if __name__ == '__main__':
  cli.run(main)
