"""gpukernels: Numba CUDA kernels and the honest measurement of them.

Modules, in the order the data flows: ``kernels`` (the @cuda.jit kernels), ``launch``
(launch configuration and its validation), ``devices`` (which GPUs exist and their
attributes), ``timing`` (device and wall time), ``probes`` (the tutorial's experiments as
data), ``results`` (the one reader of asv's results/), ``report`` and ``compare``.
Importing the package touches no CUDA driver; submodules import numba only where needed.
"""

__version__ = "0.1.0"
