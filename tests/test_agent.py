"""A run directory written by train_eval, loaded back: act, embed, evaluate, export."""

import json
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

from rl_repr_trail import Agent
from rl_repr_trail.core import errors

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _train_eval(files, save_dir, method):
  args = [sys.executable, '-m', 'rl_repr_trail.train_eval', f'--method={method}',
          f'--offline_data={files["offline"]}', f'--expert_data={files["expert"]}',
          '--expert_size=500', '--embed_dim=16', '--hidden=32,32', '--batch_size=32',
          '--pretrain_steps=100', '--downstream_steps=200', '--eval_interval=100',
          '--eval_episodes=2', '--log_interval=50', '--checkpoint_interval=100', '--window=4',
          f'--save_dir={save_dir}']
  result = subprocess.run(args, capture_output=True, text=True, timeout=600, cwd=ROOT,
                          check=False)
  assert result.returncode == 0, result.stderr[-2000:]


# Run in a process where rl_repr_trail cannot be imported: the SavedModel stands alone.
_USE_EXPORT = '''
import sys
sys.modules['rl_repr_trail'] = None
import numpy as np, tensorflow as tf
inputs = dict(np.load(sys.argv[2]))
model = tf.saved_model.load(sys.argv[1])
out = {}
for name in sorted(model.signatures):  # choose_latent before decode, which reads its z.
  function = model.signatures[name]
  args = {k: inputs[k] for k in function.structured_input_signature[1]}
  for key, value in function(**args).items():
    out[f'{name}/{key}'] = value.numpy()
  if name == 'choose_latent':
    inputs['latents'] = out['choose_latent/latents']
np.savez(sys.argv[3], **out)
'''


@pytest.mark.parametrize('method', ['trail_ebm', 'bc', 'opal'])
def test_a_run_loads_acts_embeds_evaluates_and_exports(hopper_files, tmp_path, method):
  run_dir = tmp_path / 'run'
  _train_eval(hopper_files, run_dir, method)
  agent = Agent.load(str(run_dir))
  assert agent.step == 200 and agent.config.method == method
  # The same numbers as evals.jsonl at that step.
  last = json.loads((run_dir / 'evals.jsonl').read_text().splitlines()[-1])
  assert agent.evaluate() == last
  rng = np.random.default_rng(0)
  obs = rng.normal(size=(3, agent.task.obs_dim)).astype(np.float32)
  acts = rng.uniform(-1, 1, (3, agent.task.action_dim)).astype(np.float32)
  agent.reset([5, 6, 7])
  actions = agent.act(obs)
  assert actions.shape == (3, agent.task.action_dim) and np.all(np.abs(actions) <= 1)
  agent.reset([5, 6, 7])
  np.testing.assert_array_equal(agent.act(obs), actions)  # The draws repeat for the seeds.
  if method == 'trail_ebm':
    latents = agent.embed(obs, acts)
    assert latents.shape == (3, 16)
  else:
    with pytest.raises(errors.InputError, match='has no latent action of a transition'):
      agent.embed(obs, acts)
  # The SavedModel, used without the package, acts as the agent.
  agent.export(str(tmp_path / 'exported'))
  noise = np.concatenate([np.random.default_rng(s).standard_normal((1, 8 if method == 'opal'
                                                                    else 16), dtype=np.float32)
                          for s in (5, 6, 7)])
  np.savez(tmp_path / 'inputs.npz', observations=obs, actions=acts, noise=noise)
  result = subprocess.run([sys.executable, '-c', _USE_EXPORT, str(tmp_path / 'exported'),
                           str(tmp_path / 'inputs.npz'), str(tmp_path / 'outputs.npz')],
                          capture_output=True, text=True, timeout=300, check=False)
  assert result.returncode == 0, result.stderr[-2000:]
  out = dict(np.load(tmp_path / 'outputs.npz'))
  if method == 'opal':  # The skill's z from the seeded noise, decoded: the first action.
    assert set(out) == {'choose_latent/latents', 'decode/actions'}
    np.testing.assert_allclose(out['decode/actions'], actions, rtol=1e-5, atol=1e-6)
  else:
    np.testing.assert_allclose(out['act/actions'], actions, rtol=1e-5, atol=1e-6)
  if method == 'trail_ebm':
    assert set(out) == {'act/actions', 'embed/latents'}
    np.testing.assert_allclose(out['embed/latents'], latents, rtol=1e-5, atol=1e-6)


def test_load_names_what_is_missing(tmp_path):
  with pytest.raises(errors.InputError, match='config.json is missing'):
    Agent.load(str(tmp_path))


def test_the_python_example_of_the_docs_runs_as_written(hopper_files, tmp_path):
  run_dir = tmp_path / 'run'
  _train_eval(hopper_files, run_dir, 'trail_ebm')
  text = (ROOT / 'docs' / 'usage.md').read_text()
  section = text[text.index('## Python API'):]
  code = re.search(r'```python\n(.*?)```', section, re.S).group(1)
  exec(compile(code, 'usage.md', 'exec'), {'RUN_DIR': str(run_dir),  # pylint: disable=exec-used
                                           'EXPORT_DIR': str(tmp_path / 'exported')})
  assert os.path.exists(tmp_path / 'exported' / 'saved_model.pb')


def test_training_from_arrays_in_memory_writes_a_run_directory_as_train_eval(
    hopper_files, tmp_path):
  import h5py  # pylint: disable=g-import-not-at-top
  with h5py.File(hopper_files['expert']) as f:
    expert = {k: f[k][:] for k in ('observations', 'actions', 'terminals', 'timeouts',
                                   'next_observations')}
  settings = dict(env='hopper', method='bc', expert_size=500, hidden=(32, 32), batch_size=32,
                  downstream_steps=100, eval_interval=50, eval_episodes=1,
                  save_dir=str(tmp_path / 'run'))
  agent = Agent.train(settings, expert)
  assert agent.step == 100 and agent.config.data.expert_data.startswith('memory:expert_data-')
  results = json.loads((tmp_path / 'run' / 'results.json').read_text())
  assert [e['step'] for e in results['evals']] == [50, 100]
  assert results['peak_memory_gb'] > 0.1
  assert os.listdir(tmp_path / 'run' / 'tb')
  assert agent.evaluate() == results['evals'][-1]
  # Other arrays are another run: the same directory refuses them.
  expert['actions'] = expert['actions'] * 0.5
  with pytest.raises(errors.InputError, match='holds a run with other settings'):
    Agent.train(settings, expert)
  expert['observations'][3, 0] = np.nan
  with pytest.raises(errors.InputError, match=r"expert_data \(in memory\): key "
                     r"'observations' holds NaN or inf \(first at row 3\)"):
    Agent.train(settings, expert)
