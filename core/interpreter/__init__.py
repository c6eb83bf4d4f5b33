"""Code interpreter: sandboxed per-session Jupyter kernels (kernel.py, launcher.py) and the model ↔ code loop (loop.py)."""
