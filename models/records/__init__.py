"""志愿服务记录 beyond the hours: certificates (志愿服务记录证明), star levels (星级), trainings, awards and
evaluations (志愿服务条例 art. 19), and the national record (统一编号, the export to 全国志愿服务信息系统).

``tables`` holds the rows; ``certificates``, ``stars``, ``entries`` and ``national`` the rules and reads above them.
"""

from .tables import (
    Certificate,
    CertificateCycle,
    NationalNumber,
    RecordAudit,
    RecordEntry,
    StarLevel,
)

__all__ = ["Certificate", "CertificateCycle", "NationalNumber", "RecordAudit", "RecordEntry",
           "StarLevel"]
