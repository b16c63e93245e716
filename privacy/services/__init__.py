from .erasure import ErasureRefused, person_erase
from .export import personal_data_export
from .retention import RetentionReport, retention_apply

__all__ = ["ErasureRefused", "RetentionReport", "person_erase", "personal_data_export", "retention_apply"]
