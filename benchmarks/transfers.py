"""asv classes of the catalogue's 'transfers' families (gpukernels/catalogue.py; docs/suite.md)."""
from ._suite import classes

globals().update(classes("transfers"))
