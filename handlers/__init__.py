"""What the service does with each WeChat message or event, through one router.

Importing this package registers every handler module's routes on ``router``.
"""

from . import follow, location, menu, scan, text, voice  # noqa: F401  (registration by import)
from .router import Incoming, router

__all__ = ["Incoming", "router"]
