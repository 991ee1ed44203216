"""Array kernels over NumPy: the code that touches every element."""
