"""asv benchmarks of userkernels: one module per area of the suite (userkernels/bench.py)."""
