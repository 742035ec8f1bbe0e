"""Flask CLI commands, one module per command group; ``flask dev`` lives in ``wx_service.dev``."""

from __future__ import annotations

from .attendance import attendance_cli
from .menus import menus_cli
from .notifications import notifications_cli
from .orgs import orgs_cli
from .stats import stats_cli
from .workers import cron, worker


def register(app) -> None:
    app.cli.add_command(notifications_cli)
    app.cli.add_command(orgs_cli)
    app.cli.add_command(attendance_cli)
    app.cli.add_command(menus_cli)
    app.cli.add_command(stats_cli)
    app.cli.add_command(worker)
    app.cli.add_command(cron)
