"""Tensor, Variable, dtypes, shapes, errors and the op dispatcher."""
