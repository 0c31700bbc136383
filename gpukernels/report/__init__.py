"""The pandas report from asv results, driven by the ``Suite`` it is given.

``data`` (which rows: the suite's ids only, each family from the newest commit that ran it),
``tables`` (frames with units in their headers and captions naming commit and timing method),
``plots`` (matplotlib figures), ``sections`` (what the report says: the engine's per-op sections
and the sections a suite registers), ``render`` (Markdown, HTML, CSV and PNG output;
``write_report`` is the entry point).

Reads only through gpukernels.results and touches no GPU. No benchmark id or op name is written
in this package: they come from the suite.
"""
