"""``flask --app wx_service stats …``: rebuild the statistics' roll-ups from the records, or check them."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..config import settings

stats_cli = AppGroup("stats", help="数据统计: rebuild or check the roll-ups.")


@stats_cli.command("rebuild")
def rebuild():
    """Replace the roll-ups with a recount of the records (after an import or to repair)."""
    from models import db
    from models.stats import recount

    counts = recount.rebuild(settings().app.timezone)
    db.session.commit()
    click.echo(f"rebuilt: {counts['org']} org periods, {counts['volunteer']} volunteer periods, "
               f"{counts['chain']} chain rows")


@stats_cli.command("check")
def check():
    """Compare the roll-ups with a recount; exit status 1 when they differ."""
    from models.stats import recount

    counted, rolled = recount.recount(settings().app.timezone), recount.rollup_snapshot()
    differing = {part: sum(1 for k in set(counted[part]) | set(rolled[part])
                           if counted[part].get(k) != rolled[part].get(k)) for part in counted}
    click.echo(", ".join(f"{part}: {n} differing" for part, n in differing.items()))
    if any(differing.values()):
        raise SystemExit(1)
