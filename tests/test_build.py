"""BUILD, CI and requirements stay in sync with the files and the environment."""

import pathlib
from importlib import metadata
import re
import subprocess
import sys

from packaging import requirements
import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Pinned packages published as source distributions only (see requirements.txt).
SOURCE_ONLY = ("rliable",)


def _build_sources():
  """Every .py file a target lists in srcs, its globs expanded; and BUILD's text."""
  text = (ROOT / 'BUILD').read_text()
  blocks = re.findall(r'srcs = \[(.*?)\]', text, re.S)
  listed = [src for block in blocks for src in re.findall(r'"([\w/]+\.py)"', block)]
  for pattern in re.findall(r'srcs = glob\(\["([^"]+\.py)"\]\)', text):
    listed += [str(p.relative_to(ROOT)) for p in ROOT.glob(pattern)]
  return listed, text


def test_every_python_file_has_one_target():
  sources, _ = _build_sources()
  files = sorted(str(p.relative_to(ROOT)) for d in ('rl_repr_trail', 'tests')
                 for p in (ROOT / d).rglob('*.py'))
  assert sorted(sources) == files


def test_every_test_file_is_a_py_test_and_binaries_have_mains():
  _, text = _build_sources()
  for path in (ROOT / 'tests').glob('test_*.py'):
    assert re.search(rf'py_test\(\s*name = "{path.stem}",\s*srcs = \["tests/{path.name}"\]',
                     text), path.name
  for binary in ('train_eval', 'collect', 'benchmark', 'sweep', 'summarize', 'claims', 'play'):
    assert f'main = "rl_repr_trail/{binary}.py"' in text


def test_every_launch_script_and_config_is_in_build():
  _, text = _build_sources()
  # SAC resume states (launch/expert_state/TASK/...) are data, one glob for all of them.
  assert 'glob(["launch/expert_state/**"])' in text
  for path in (ROOT / 'launch').rglob('*'):
    if path.is_file() and 'expert_state' not in path.parts:
      assert f'"{path.relative_to(ROOT)}"' in text, path


def test_ci_runs_the_readme_test_command():
  ci = (ROOT / '.ci' / 'run').read_text()
  command = re.search(r'TEST_CMD="([^"]+)"', ci).group(1)
  assert command in (ROOT / 'README.md').read_text()
  assert 'pip install --quiet --no-deps -r requirements.txt' in ci
  assert 'pip install --no-deps -r requirements.txt' in (ROOT / 'README.md').read_text()


def _pins() -> list[requirements.Requirement]:
  lines = [line.split('#')[0].strip()
           for line in (ROOT / 'requirements.txt').read_text().splitlines()]
  return [requirements.Requirement(line) for line in lines if line and not line.startswith('-e')]


@pytest.mark.parametrize('python', ['3.10', '3.12', '3.13'])
def test_pinned_set_resolves_to_wheels_for_other_pythons(python, tmp_path):
  # This machine runs 3.11 only. pip can pick distributions for another interpreter, but
  # evaluates a requirements file's markers for the one it runs on: evaluate them for
  # the target first, then ask for exactly those wheels (no source builds, no deps: the
  # file is the complete set).
  environment = {'python_version': python, 'python_full_version': f'{python}.0'}
  chosen = [f'{pin.name}{pin.specifier}' for pin in _pins()
            if pin.marker is None or pin.marker.evaluate(environment)]
  names = [requirements.Requirement(line).name.lower() for line in chosen]
  assert len(names) == len(set(names)), f'two pins of one package for Python {python}'
  (tmp_path / 'pins.txt').write_text('\n'.join(chosen) + '\n')
  result = subprocess.run(
      [sys.executable, '-m', 'pip', 'install', '--dry-run', '--ignore-installed', '--no-deps',
       '--only-binary=:all:', f'--no-binary={",".join(SOURCE_ONLY)}', f'--python-version={python}', f'--target={tmp_path / "t"}',
       '--quiet', '--disable-pip-version-check', '-r', str(tmp_path / 'pins.txt')],
      capture_output=True, text=True, timeout=600, check=False)
  assert result.returncode == 0, result.stderr[-3000:]


def test_installed_packages_are_the_pinned_ones():
  # requirements.txt pins every package, dependencies of dependencies included, so that
  # a new install is the set the tests ran with; this catches a pin that was not applied
  # (or an environment that drifted from the file).
  pins = _pins()
  assert pins and all(len(pin.specifier) == 1 and next(iter(pin.specifier)).operator == '=='
                      for pin in pins)
  wrong = {}
  for pin in pins:
    if pin.marker is not None and not pin.marker.evaluate():
      continue
    try:
      installed = metadata.version(pin.name)
    except metadata.PackageNotFoundError:
      installed = None
    if installed is None or not pin.specifier.contains(installed):
      wrong[pin.name] = (str(pin.specifier), installed)
  assert not wrong, f'requirements.txt pin against installed version: {wrong}'


def test_docs_cite_and_link_only_what_the_repository_holds():
  # The design notes behind the project are not in it: the project cites docs/reference.md.
  texts = {p: p.read_text() for d in ('rl_repr_trail', 'tests', 'docs', 'launch')
           for p in (ROOT / d).rglob('*') if p.suffix in ('.py', '.md', '.sh', '.json')}
  texts[ROOT / 'README.md'] = (ROOT / 'README.md').read_text()
  notes = 'TRAIL' + '.md'  # Spelled apart, so that this file does not cite it either.
  assert not [str(p) for p, text in texts.items() if notes in text]
  for path, text in texts.items():
    if path.suffix != '.md':
      continue
    for target in re.findall(r'\]\(([^)#:]+)(?:#[^)]*)?\)', text):
      assert (path.parent / target).exists(), f'{path.name} links {target}'
