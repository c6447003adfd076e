"""Know your data: audit a pretraining corpus and remove the downstream sets' molecules from it.

``audit(corpus, against=[...])`` reports invalid rows, duplicates, statistics with flagged outliers, and how
many of each downstream set's test/valid/train molecules and test scaffolds the corpus holds;
``decontaminate(corpus, against, out)`` writes the corpus without them, with a record of every removed row.

The package is callable as its ``audit`` function, so ``molssl.audit(...)`` works although ``molssl.audit``
is this package (Python binds a subpackage to its parent's attribute of that name).
"""

from __future__ import annotations

import sys
import types
from typing import Any

from molssl.audit.decontaminate import Decontamination, decontaminate
from molssl.audit.report import AuditReport
from molssl.audit.run import audit, audit_keys


class _CallablePackage(types.ModuleType):
    """This package's type: calling it calls ``audit``."""

    def __call__(self, *args: Any, **kwargs: Any) -> AuditReport:
        return audit(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage

__all__ = ["AuditReport", "Decontamination", "audit", "audit_keys", "decontaminate"]
