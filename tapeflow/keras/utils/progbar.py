"""`keras.utils.Progbar`: the progress bar `fit`, `evaluate` and `predict` print.

Keras 2's format: verbose=1 draws `1875/1875 [==============================] - 12s
6ms/step - loss: 0.4405 - accuracy: 0.8428` (redrawn in place on a terminal; elsewhere
only the final line of each bar is written); verbose=2 writes one line at the end,
`313/313 - 3s - loss: 0.0512 - accuracy: 0.9872`.

    >>> bar = Progbar(2, verbose=2)
    >>> bar.update(1, [('loss', 0.5)])
    >>> bar.update(2, [('loss', 0.25)], finalize=True)  # doctest: +ELLIPSIS
    2/2 - 0s - loss: 0.3750
"""
from __future__ import annotations

import math
import sys
import time


class Progbar:
    """A progress bar over `target` steps.

    Args:
        target: the number of steps, or None when unknown.
        width: the bar's width in characters.
        verbose: 1 (bar), 2 (one line at the end) or 0 (silent).
        interval: the minimum seconds between redraws.
        stateful_metrics: names of values shown as given (not averaged over steps).
        unit_name: 'step' or 'sample', used in the time per unit.
    """

    def __init__(self, target, width=30, verbose=1, interval=0.05, stateful_metrics=None,
                 unit_name="step"):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stateful_metrics = set(stateful_metrics or ())
        stream = sys.stdout
        self._dynamic_display = (hasattr(stream, "isatty") and stream.isatty()) or (
            "ipykernel" in sys.modules)
        self._total_width = 0
        self._seen_so_far = 0
        self._values = {}
        self._values_order = []
        self._start = time.time()
        self._last_update = 0.0

    def _store(self, values, current):
        for k, v in values or []:
            if k not in self._values_order:
                self._values_order.append(k)
            v = float(v)
            if k not in self.stateful_metrics:
                n = max(current - self._seen_so_far, 1)
                if k not in self._values:
                    self._values[k] = [v * n, n]
                else:
                    self._values[k][0] += v * n
                    self._values[k][1] += n
            else:
                self._values[k] = [v, 1]
        self._seen_so_far = current

    def _info_values(self) -> str:
        info = ""
        for k in self._values_order:
            total, count = self._values[k]
            avg = total / max(1, count)
            info += f" - {k}:"
            info += f" {avg:.4f}" if abs(avg) > 1e-3 else f" {avg:.4e}"
        return info

    def _bar(self, current) -> str:
        if self.target is None:
            return f"{current:7d}/Unknown"
        digits = int(math.log10(self.target)) + 1 if self.target > 0 else 1
        bar = f"{current:{digits}d}/{self.target} ["
        prog_width = int(self.width * (current / self.target if self.target else 1.0))
        if prog_width > 0:
            bar += "=" * (prog_width - 1)
            bar += ">" if current < self.target else "="
        bar += "." * (self.width - prog_width) + "]"
        return bar

    def update(self, current, values=None, finalize=None):
        """Moves the bar to `current` with the latest `values` [(name, value), ...]."""
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        self._store(values, current)
        if self.verbose == 0:
            return
        now = time.time()
        elapsed = now - self._start
        info = f" - {elapsed:.0f}s"
        if self.verbose == 1:
            if now - self._last_update < self.interval and not finalize:
                return
            if not self._dynamic_display and not finalize:
                return      # no redraws into a file or pipe: only the final line
            prev = self._total_width
            out = ("\b" * prev + "\r") if self._dynamic_display else ""
            bar = self._bar(current)
            self._total_width = len(bar)
            per_unit = elapsed / current if current else 0.0
            if self.target is None or finalize:
                if per_unit >= 1 or per_unit == 0:
                    info += f" {per_unit:.0f}s/{self.unit_name}"
                elif per_unit >= 1e-3:
                    info += f" {per_unit * 1e3:.0f}ms/{self.unit_name}"
                else:
                    info += f" {per_unit * 1e6:.0f}us/{self.unit_name}"
            else:
                eta = per_unit * (self.target - current)
                if eta > 3600:
                    eta_text = f"{int(eta // 3600)}:{int(eta % 3600 // 60):02d}:{int(eta % 60):02d}"
                elif eta > 60:
                    eta_text = f"{int(eta // 60)}:{int(eta % 60):02d}"
                else:
                    eta_text = f"{int(eta)}s"
                info = f" - ETA: {eta_text}"
            info += self._info_values()
            self._total_width += len(info)
            if prev > self._total_width:
                info += " " * (prev - self._total_width)
            if finalize:
                info += "\n"
            sys.stdout.write(out + bar + info)
            sys.stdout.flush()
            self._last_update = now
        elif self.verbose == 2 and finalize:
            if self.target is not None:
                digits = int(math.log10(self.target)) + 1 if self.target > 0 else 1
                count = f"{current:{digits}d}/{self.target}"
            else:
                count = f"{current}"
            sys.stdout.write(count + info + self._info_values() + "\n")
            sys.stdout.flush()

    def add(self, n, values=None):
        self.update(self._seen_so_far + n, values)
