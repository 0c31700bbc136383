from gpukernels.asv_classes import classes
from userkernels.bench import SUITE

globals().update(classes(SUITE, "baselines"))
