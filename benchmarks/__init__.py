"""The asv suite.

Imported inside an asv run that would save results for a machine without GPU fields, it stops
with one line and no traceback (gpukernels.machine, "Stray results guard"): results/ holds
registered GPU machines only. Outside asv (pytest, an import by hand) the guard does nothing.
"""
import sys

from gpukernels.machine import UnregisteredMachine, import_guard

try:
    import_guard()
except UnregisteredMachine as exc:
    sys.exit(f"benchmarks: {exc}")
