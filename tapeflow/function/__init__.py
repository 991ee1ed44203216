"""tapeflow.function (under construction)."""
