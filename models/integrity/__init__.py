"""诚信考勤 (integrity beyond the manual): on-site codes and dynamic personal QR codes, location
signals, no-shows, the audit of admin actions on hours, desk punches, offline check-in.

Below the attendance rules: ``tables``, ``codes`` and ``audit_log`` import nothing of attendance, so
``models.attendance`` may call them; ``flags``, ``noshows``, ``desk`` and ``offline`` stand above it.
This ``__init__`` imports nothing, so importing ``models.integrity.tables`` pulls no rule in.
"""
