r"""Renders a played episode offscreen into a GIF or MP4, in a process without TensorFlow.

  python -m rl_repr_trail.envs.render STATES.npz VIDEO_PATH

STATES.npz holds the task's name and the episode's simulator states (qpos, qvel per
step); each is set into the task's environment and rendered by MuJoCo. MuJoCo's GL
context and TensorFlow 2.21 cannot share a process (it segfaults), so play.py, which
acts with TensorFlow, records the states and hands them here. The renderer is
MUJOCO_GL's (default egl: Debian's libegl1; osmesa: libosmesa6).
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault('MUJOCO_GL', 'egl')
if os.environ['MUJOCO_GL'] == 'osmesa':
  os.environ.setdefault('PYOPENGL_PLATFORM', 'osmesa')

# pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np

from rl_repr_trail.envs import tasks

WIDTH, HEIGHT, FPS = 320, 240, 30


def frames(task: tasks.Task, qpos: np.ndarray, qvel: np.ndarray) -> np.ndarray:
  """[T, HEIGHT, WIDTH, 3] uint8 frames of the states, rendered offscreen."""
  import mujoco
  env = tasks.make_env(task)
  inner = env.unwrapped
  if hasattr(inner, 'ant_env'):  # gymnasium-robotics' AntMaze.
    inner = inner.ant_env
  if hasattr(inner, 'physics'):  # dm_control through shimmy.
    model, data = inner.physics.model.ptr, inner.physics.data.ptr
  else:
    model, data = inner.model, inner.data
  renderer = mujoco.Renderer(model, HEIGHT, WIDTH)
  out = []
  for p, v in zip(qpos, qvel):
    data.qpos[:], data.qvel[:] = p, v
    mujoco.mj_forward(model, data)
    renderer.update_scene(data, camera=-1 if model.ncam == 0 else 0)
    out.append(renderer.render().copy())
  renderer.close()
  env.close()
  return np.stack(out)


def write_video(path: str, images: np.ndarray) -> None:
  """A GIF (Pillow) or an MP4 (needs imageio-ffmpeg), written to a temporary name first."""
  import imageio.v3 as iio
  extension = os.path.splitext(path)[1].lower()
  tmp = f'{path}.tmp{extension}'
  if extension == '.gif':
    iio.imwrite(tmp, images, duration=1000 / FPS, loop=0)
  elif extension == '.mp4':
    iio.imwrite(tmp, images, fps=FPS, codec='libx264', plugin='FFMPEG')
  else:
    raise ValueError(f'--video={path}: expected a .gif or .mp4 path.')
  os.replace(tmp, path)


def main(argv: list[str]) -> None:
  states_path, video_path = argv[1:3]
  with np.load(states_path) as states:
    task = tasks.get_task(str(states['task']))
    images = frames(task, states['qpos'], states['qvel'])
  write_video(video_path, images)
  print(f'Wrote {len(images)} frames ({WIDTH}x{HEIGHT}) to {video_path}.')


if __name__ == '__main__':
  main(sys.argv)
