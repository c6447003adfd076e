"""Know your data: audit a pretraining corpus and remove the downstream sets' molecules from it.

``audit(corpus, against=[...])`` reports invalid rows, duplicates, statistics with flagged outliers, and how
many of each downstream set's test/valid/train molecules and test scaffolds the corpus holds;
``decontaminate(corpus, against, out)`` writes the corpus without them, with a record of every removed row.
"""

from molssl.audit.decontaminate import Decontamination, decontaminate
from molssl.audit.report import AuditReport
from molssl.audit.run import audit, audit_keys

__all__ = ["AuditReport", "Decontamination", "audit", "audit_keys", "decontaminate"]
