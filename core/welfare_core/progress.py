"""Progress and cancellation protocol for long work.

A `Progress` is passed down to long-running core functions. QGIS wires
`feedback.setProgress` / `feedback.isCanceled`; SQL relies on time limits and
passes nothing (the default does nothing and never cancels).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .errors import CancelledError


@dataclass(frozen=True)
class Progress:
    report: Callable[[float], None] = lambda pct: None
    is_cancelled: Callable[[], bool] = lambda: False

    def __call__(self, pct: float) -> None:
        """Report `pct` (0-100) and raise CancelledError if the user cancelled."""
        if self.is_cancelled():
            raise CancelledError("the run was cancelled; nothing was written")
        self.report(max(0.0, min(100.0, float(pct))))

    def scaled(self, start: float, stop: float) -> "Progress":
        """A child progress mapping its 0-100 onto [start, stop] of this one."""
        return Progress(lambda pct: self.report(start + (stop - start) * pct / 100.0),
                        self.is_cancelled)


NO_PROGRESS = Progress()
