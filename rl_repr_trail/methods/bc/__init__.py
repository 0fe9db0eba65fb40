"""BC: behavioral cloning of the expert data with a tanh-Gaussian policy, the baseline."""

from rl_repr_trail.methods import registry
from rl_repr_trail.methods.bc import config

registry.register(registry.Method(
    'bc', 'BC', 'baseline', embed_learner='none', downstream='bc',
    builder='rl_repr_trail.methods.bc.builder', downstream_config=config.BCConfig))
