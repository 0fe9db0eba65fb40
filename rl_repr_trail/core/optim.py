"""Optimizers and learning-rate schedules."""

from __future__ import annotations

import tensorflow as tf
import tf_keras


class Adam(tf_keras.optimizers.Adam):
  """Keras Adam (without amsgrad) whose update is TensorFlow's fused kernel (one pass over
  m, v and the variable instead of about ten element-wise ops): the same update, same
  slots and checkpoints, measurably faster for the downstream steps (docs/speed.md)."""

  def __init__(self, learning_rate, **kwargs):
    super().__init__(learning_rate, **kwargs)
    self._configured_rate = learning_rate

  def apply_configured_rate(self) -> None:
    """Sets a constant rate back to the one this optimizer was made with: a checkpoint
    restores the rate it was saved with, and a resumed run must use the one asked for."""
    if isinstance(self._configured_rate, (int, float)):
      self.learning_rate.assign(self._configured_rate)

  def update_step(self, gradient, variable):
    dtype = variable.dtype
    step = tf.cast(self.iterations + 1, dtype)
    beta_1, beta_2 = tf.cast(self.beta_1, dtype), tf.cast(self.beta_2, dtype)
    index = self._index_dict[self._var_key(variable)]
    tf.raw_ops.ResourceApplyAdam(
        var=variable.handle, m=self._momentums[index].handle,
        v=self._velocities[index].handle, beta1_power=tf.pow(beta_1, step),
        beta2_power=tf.pow(beta_2, step), lr=tf.cast(self.learning_rate, dtype),
        beta1=beta_1, beta2=beta_2, epsilon=tf.cast(self.epsilon, dtype), grad=gradient)


def step_decay(learning_rate: float, boundaries: tuple[int, ...]
               ) -> tf_keras.optimizers.schedules.LearningRateSchedule:
  """`learning_rate`, divided by 10 after each boundary (Keras: steps <= the boundary keep
  the earlier rate), the schedule of the original's BC."""
  return tf_keras.optimizers.schedules.PiecewiseConstantDecay(
      list(boundaries), [learning_rate / 10 ** i for i in range(len(boundaries) + 1)])
