"""tapeflow.testing (under construction)."""
