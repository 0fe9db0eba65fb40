"""Latent BC: the downstream learner that TRAIL's and the skill methods' packages build on
(not a method of its own)."""
