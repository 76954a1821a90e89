"""graphjit: TF1 graph-mode executor fused into Numba kernels."""
