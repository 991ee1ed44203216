"""tapeflow.data (under construction)."""
