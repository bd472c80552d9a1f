"""What the experiments that train many runs share; the Sacred experiments themselves live outside the package.

:mod:`.comparison` (one training run per optimizer entry and seed, side by side), :mod:`.grid`
(the cells of a step-size sweep) and :mod:`.mixture_ensembles` (a comparison whose entries each
train N seeds at once as one vmapped ensemble, and the ALI paper's mode-count table).
"""
