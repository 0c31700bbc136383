"""asv classes of our suite's 'baselines' families (gpukernels/ours/suite.py; docs/suite.md)."""
from gpukernels.asv_classes import classes
from gpukernels.ours.suite import SUITE

globals().update(classes(SUITE, "baselines"))
