"""play: a trained run's agent played in its environment, and its first episode filmed."""

import os
import pathlib
import re
import subprocess
import sys

import imageio.v3 as iio

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _run(*args, **env):
  # MUJOCO_GL as a user's shell has it: not the 'disable' that an earlier test's DM Control
  # environment set in this process.
  base = {k: v for k, v in os.environ.items() if k != 'MUJOCO_GL'}
  return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=600,
                        cwd=ROOT, env=dict(base, **env), check=False)


def test_play_prints_each_episode_and_writes_a_video_of_the_first(hopper_files, tmp_path):
  run_dir = tmp_path / 'run'
  result = _run('-m', 'rl_repr_trail.train_eval', '--method=bc',
                f'--expert_data={hopper_files["expert"]}', '--expert_size=500', '--hidden=32,32',
                '--batch_size=32', '--downstream_steps=100', '--eval_interval=100',
                '--eval_episodes=1', f'--save_dir={run_dir}')
  assert result.returncode == 0, result.stderr[-2000:]
  video = tmp_path / 'episode.gif'
  result = _run('-m', 'rl_repr_trail.play', str(run_dir), '--episodes=2', '--seed=3',
                f'--video={video}')
  assert result.returncode == 0, result.stderr[-2000:]
  episodes = re.findall(r'^episode (\d) \(seed (\d)\): (\d+) steps, return \S+, normalized '
                        r'score \S+$', result.stdout, re.M)
  assert [(e, s) for e, s, _ in episodes] == [('0', '3'), ('1', '4')], result.stdout
  assert video.exists(), result.stdout  # Its last line says why, when rendering failed.
  frames = iio.imread(video)
  assert frames.shape == (int(episodes[0][2]), 240, 320, 3), result.stdout
  assert frames.std() > 0  # Not a blank picture.
  # Without a renderer it still plays, and says in one line why there is no video.
  other = tmp_path / 'none.gif'
  result = _run('-m', 'rl_repr_trail.play', str(run_dir), '--episodes=1', f'--video={other}',
                MUJOCO_GL='glx', DISPLAY='')
  assert result.returncode == 0, result.stderr[-2000:]
  assert 'episode 0 (seed 0): ' in result.stdout and not other.exists()
  assert len([l for l in result.stdout.splitlines() if l.startswith('No video written')]) == 1
  bad = _run('-m', 'rl_repr_trail.play', str(run_dir), '--video=x.avi')
  assert bad.returncode == 2 and 'error: --video=x.avi: expected a .gif or .mp4 path.' in bad.stderr
