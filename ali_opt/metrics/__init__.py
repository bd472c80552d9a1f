"""Everything measured on a model: reconstruction, the linear probe, sample diversity, mode
coverage, sample quality in Inception feature space, and the scalars of an optimizer step."""
