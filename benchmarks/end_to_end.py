"""asv classes of the catalogue's 'end_to_end' families (gpukernels/catalogue.py; docs/suite.md)."""
from ._suite import classes

globals().update(classes("end_to_end"))
