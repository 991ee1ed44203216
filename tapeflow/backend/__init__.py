"""Array kernels over NumPy: the code that touches every element."""

from tapeflow.backend import memory as _memory

# Freed array memory stays in the process for the next step (see memory.py).
_memory.tune()
