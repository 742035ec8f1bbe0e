"""考勤: 打卡签到 (单签 / 双签), 扫码辅助签到, 补签, 时长公示与异议, 清理.

Manual part 2 §二.9–10, §三.13(3), §三.15, §三.18–19 and its notes; part 3 §二.7–8, §三.5, §三.7, §三.9.

The face of the package hands on ``tables``: the rows and their states, which ``models.hours`` (the
read-models of hours) and ``models.points`` (the ledger) read.  The rules that change the rows stand
above them: ``punches`` (打卡, 扫码), ``makeup`` (补签), ``objection`` (公示与异议), ``cleanup`` (清理);
import those by name.  Every rule takes ``now`` (naive UTC).
"""

from .tables import *  # noqa: F403
