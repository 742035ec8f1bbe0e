"""考勤: 打卡签到 (单签 / 双签), 扫码辅助签到, 补签, 时长公示与异议, 清理 — the face of the package.

Manual part 2 §二.9–10, §三.13(3), §三.15, §三.18–19 and its notes; part 3 §二.7–8, §三.5, §三.7, §三.9.

``tables`` holds the rows and their states; ``punches``, ``makeup``, ``objection`` and ``cleanup`` the
rules that change them.  The read-models of hours live in ``models.hours`` and the points ledger in
``models.points``; both are handed on here so that ``from models import attendance as att`` keeps
naming everything of 考勤 in one place.  Every rule takes ``now`` (naive UTC).
"""

from ..hours import *  # noqa: F403
from ..points import *  # noqa: F403
from .cleanup import *  # noqa: F403
from .makeup import *  # noqa: F403
from .objection import *  # noqa: F403
from .punches import *  # noqa: F403
from .tables import *  # noqa: F403
