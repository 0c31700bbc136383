"""The pandas report from asv results: ``tables`` (frames), ``plots`` (matplotlib figures),
``sections`` (what the report says), ``render`` (Markdown, HTML, CSV and PNG output).

Reads only through gpukernels.results; imports no numba and touches no GPU.
"""
