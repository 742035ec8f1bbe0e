"""``flask --app wx_service attendance …``: the clean-up's removals, listed and undone."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from .. import clock

attendance_cli = AppGroup("attendance", help="考勤: clean-up removals (list, restore), publicity.")


@attendance_cli.command("removals")
@click.option("--limit", default=50, show_default=True)
def list_removals(limit):
    """The latest activities and signups removed by the clean-up job."""
    from models.attendance import cleanup as att_cleanup

    for r in att_cleanup.removals(limit):
        restored = f" restored {r.restored_at:%Y-%m-%d %H:%M} by {r.restored_by}" if r.restored_at else ""
        click.echo(f"{r.kind} {r.target_id} (was {r.previous_state}) removed {r.removed_at:%Y-%m-%d %H:%M} UTC: "
                   f"{r.reason}{restored}")


@attendance_cli.command("restore")
@click.argument("kind", type=click.Choice(["project", "signup"]))
@click.argument("target_id", type=int)
@click.option("--by", default="operator", show_default=True, help="Who restores it (kept in the log).")
def restore(kind, target_id, by):
    """Undo the clean-up's removal of a project or a signup (KIND ID)."""
    from models import RuleViolation, db
    from models.attendance import cleanup as att_cleanup

    try:
        removal = att_cleanup.restore(kind, target_id, now=clock.now(), by=by)
        db.session.commit()
    except RuleViolation as exc:
        db.session.rollback()
        raise click.ClickException(f"{exc.message} ({exc.code})") from None
    click.echo(f"{kind} {target_id} restored to {removal.previous_state}")


@attendance_cli.command("close-publicity")
def close_publicity_now():
    """Run the publicity job once (confirm records past their 7 days, lapse stale sign-ins)."""
    from jobs.attendance import close_publicity

    click.echo(close_publicity())
