"""Run records: reading Sacred run folders back and grouping them (:mod:`.runs`), selecting step
sizes from them (:mod:`.selection`), the statistics and stability over seeds, and the summary
tables of a comparison and of a study. Nothing here draws (that is :mod:`ali_opt.plots`) or
imports a metric, a model or the training config."""
