"""Reverse-mode automatic differentiation: GradientTape, custom_gradient."""
