"""tapeflow.examples (under construction)."""
