"""userkernels: a user's own Numba CUDA kernels (``kernels``) and their benchmark suite (``bench``)."""
