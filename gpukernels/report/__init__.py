"""The pandas report from asv results, driven by gpukernels.catalogue.

``data`` (which rows: catalogue ids only, each family from the newest commit that ran it),
``tables`` (frames with units in their headers and captions naming commit and timing method),
``plots`` (matplotlib figures), ``sections`` (what the report says), ``render`` (Markdown, HTML,
CSV and PNG output; ``write_report`` is the entry point).

Reads only through gpukernels.results; imports no numba and touches no GPU. No benchmark id or
op name is written in this package: they come from the catalogue.
"""
