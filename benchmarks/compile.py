"""asv classes of the catalogue's 'compile' families (gpukernels/catalogue.py; docs/suite.md)."""
from ._suite import classes

globals().update(classes("compile"))
