"""What every learner shares: its seed, an update counter, one Adam and its step.

A learner subclasses `Learner`, makes its networks, lists what it trains in
`trained_variables` and what its checkpoints hold in `checkpointed`, calls
`build_optimizer` and writes `update(batch)` with `apply_gradients` and `finish`.
Everything it computes is written for the global batch (core/replicas.py), so one
device and many give the same update.
"""

from __future__ import annotations

import tensorflow as tf

from rl_repr_trail.core import optim
from rl_repr_trail.core import policies
from rl_repr_trail.core import replicas


class Learner(tf.Module):
  """Base of the embedding and downstream learners (`update(batch)` -> scalar metrics)."""

  temperature: policies.Temperature  # Set by learners with an entropy term.

  def __init__(self, name: str, seed: int):
    super().__init__(name=name)
    self.seed = seed
    # Keys every stateless draw of an update; checkpointed with the learner.
    self.updates = replicas.sync_counter('updates')

  @property
  def trained_variables(self) -> list[tf.Variable]:
    """The variables `update` changes with its optimizer."""
    raise NotImplementedError

  def checkpointed(self) -> dict[str, tf.Module | tf.Variable]:
    """What a checkpoint of this learner holds, by name: its networks, optimizers, counter
    and any other state (the attribute names, so the layout is the learner's own)."""
    raise NotImplementedError

  def checkpoint(self) -> tf.train.Checkpoint:
    return tf.train.Checkpoint(**self.checkpointed())

  def optimizers(self) -> list[optim.Adam]:
    """Its optimizers (its own and its temperature's), whose configured rates a resume
    sets again."""
    found = [self.optimizer]
    if getattr(self, 'temperature', None) is not None:
      found.append(self.temperature.optimizer)
    return found

  def build_optimizer(self, learning_rate) -> None:
    """One Adam over `trained_variables`, its slots made now so that a checkpoint holds
    them before the first update."""
    self.optimizer = optim.Adam(learning_rate)
    self.optimizer.build(self.trained_variables)

  def apply_gradients(self, tape: tf.GradientTape, loss: tf.Tensor) -> None:
    variables = self.trained_variables
    self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))

  def entropy_terms(self, policy: policies.TanhGaussianPolicy, distribution,
                    rows: tf.Tensor, stream: int = 0) -> tuple[tf.Tensor, tf.Tensor]:
    """log pi of `distribution`'s samples under this update's shared noise, and alpha
    (not differentiated) times their global mean. `stream` separates the noise of two
    uses within one learner."""
    noise = policies.entropy_noise(self.seed + stream, self.updates, rows, policy.action_dim)
    sample_log_prob = policy.sample_log_prob(distribution, noise)
    return sample_log_prob, tf.stop_gradient(self.temperature.alpha) * replicas.global_mean(
        sample_log_prob)

  def finish(self, losses: dict[str, tf.Tensor], **values: tf.Tensor) -> dict[str, tf.Tensor]:
    """Counts the update; returns the global value of each of `losses` (global means of
    this replica's rows) and `values` (already global) as they are."""
    self.updates.assign_add(1)
    return {**{k: replicas.reported(v) for k, v in losses.items()}, **values}
