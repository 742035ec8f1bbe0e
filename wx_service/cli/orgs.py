"""``flask --app wx_service orgs …``: the organization tree from the command line."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from .. import clock

orgs_cli = AppGroup("orgs", help="Organizations (志愿服务组织).")


@orgs_cli.command("init-root")
@click.option("--name", default="江海志愿者服务总站", show_default=True, help="Name of the level-1 org.")
@click.option("--admin", "admin_number", required=True, help="Volunteer number of its first admin.")
def init_root(name, admin_number):
    """Create the root org (level 1) and its first admin, for a new deployment."""
    from models import RuleViolation, Volunteer, db
    from models.org_rules import create_root

    volunteer = Volunteer.query.filter_by(number=admin_number.strip()).one_or_none()
    if volunteer is None:
        raise click.UsageError(f"no volunteer with number {admin_number!r}")
    try:
        org = create_root(name, volunteer, now=clock.now())
        db.session.commit()
    except RuleViolation as exc:
        db.session.rollback()
        raise click.ClickException(f"{exc.message} ({exc.code})") from None
    click.echo(f"root org {org.id} {org.name!r} created; admin {volunteer.number}")
