"""Privacy: data export and erasure across every store, preferences, the training export, the audit log."""

from assistant.privacy.audit import SYSTEM, Actor, AuditEntry, AuditLog, pseudonym
from assistant.privacy.erasure import Eraser, ErasureReport, ExtraEraser
from assistant.privacy.export import export_user, has_data
from assistant.privacy.keys import KEY_LEDGER, KeyLedger
from assistant.privacy.service import PrivacyService
from assistant.privacy.training import TrainingExample, TrainingExport, opted_out, training_export

__all__ = [
    "KEY_LEDGER",
    "SYSTEM",
    "Actor",
    "AuditEntry",
    "AuditLog",
    "Eraser",
    "ErasureReport",
    "ExtraEraser",
    "KeyLedger",
    "PrivacyService",
    "TrainingExample",
    "TrainingExport",
    "export_user",
    "has_data",
    "opted_out",
    "pseudonym",
    "training_export",
]
