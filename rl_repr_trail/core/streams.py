"""Each consumer's random stream, derived from a seed in one place.

`seed(base, NAME, index)` is base * scale + offset + index and `generator(base, NAME,
index)` a numpy Generator seeded [base, offset + index], with NAME's scale and offset
below. A new consumer gets a row here, not an offset of its own. The rows keep the values
the project has always used, so seeded runs and generated files stay as they were.
"""

from __future__ import annotations

import numpy as np

# name: (scale, offset); what `index` is, in the comment.
SEEDS = {
    'pretrain batches': (1, 0),
    'expert batches': (1, 1),
    'evaluation': (1000, 0),  # The step evaluated; episode i then resets with seed + i.
    'generated shard': (1000, 0),  # The shard.
    'generated second half': (1, 1),  # medium-expert's expert half.
    'environment reset': (10_007, 0),  # The reset's number (an environment of a pool, a
                                       # regenerated stretch's first step).
    'sac collector': (1, 0),  # The step a SAC run starts or resumes from.
}
# name: offset.
GENERATORS = {
    'policy actions': 1,  # A generated shard's bundled-policy samples.
    'replay actions': 0,  # index: the regenerated stretch's first step.
}


def seed(base: int, name: str, index: int = 0) -> int:
  scale, offset = SEEDS[name]
  return base * scale + offset + index


def generator(base: int, name: str, index: int = 0) -> np.random.Generator:
  return np.random.default_rng([base, GENERATORS[name] + index])
