"""tapeflow.keras (under construction)."""
