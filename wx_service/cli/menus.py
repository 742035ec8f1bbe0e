"""``flask --app wx_service menus sync``: push the menus to WeChat."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from .. import config

menus_cli = AppGroup("menus", help="WeChat menus.")


@menus_cli.command("sync")
@click.option("--account", "account_name", default=None, help="Account name (default: every account).")
@with_appcontext
def menus_sync(account_name):
    """Create the admin tag if needed and push the default and the admin menu."""
    from menus import sync_menus

    settings = config.settings()
    names = [account_name] if account_name else list(settings.accounts)
    for name in names:
        if name not in settings.accounts:
            raise click.UsageError(f"no account named {name!r} in the configuration")
        result = sync_menus(current_app.extensions["wechat"].client(name), settings.app.base_url, name)
        click.echo(f"{name}: menus pushed (admin tag {result['tag_id']}, conditional menu {result['menuid']})")
