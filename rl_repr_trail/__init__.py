"""TRAIL: Transition-Reparametrized Actions for Imitation Learning, in TensorFlow/Keras.

`from rl_repr_trail import Agent` loads a trained run (agent.py); the package's other
modules are reached by their paths. Agent is imported on first use, so that the binaries
that need no TensorFlow (sweep, summarize, claims) start without it.
"""


def __getattr__(name: str):
  if name == 'Agent':
    from rl_repr_trail.agent import Agent  # pylint: disable=g-import-not-at-top
    return Agent
  raise AttributeError(f'module rl_repr_trail has no attribute {name!r}')
