"""This project's own suite, built on gpukernels' public API only (as any user's suite would be).

``gpukernels.ours.suite.SUITE`` holds every family; ``benchmarks/`` hands it to
``gpukernels.asv_classes`` and the CLIs read it by default.
"""
