"""asv classes of the catalogue's 'seed' families (gpukernels/catalogue.py; docs/suite.md)."""
from ._suite import classes

globals().update(classes("seed"))
