"""asv classes of our suite's 'end_to_end' families (gpukernels/ours/suite.py; docs/suite.md)."""
from gpukernels.asv_classes import classes
from gpukernels.ours.suite import SUITE

globals().update(classes(SUITE, "end_to_end"))
