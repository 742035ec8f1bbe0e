"""``flask --app wx_service notifications status | retry --failed``: the outbox for operators."""

from __future__ import annotations

import click
from flask.cli import AppGroup, with_appcontext

from .. import clock

notifications_cli = AppGroup("notifications", help="The notification outbox.")


@notifications_cli.command("status")
@with_appcontext
def status():
    """Counts by kind and state, and the oldest notification not yet delivered."""
    from models import Notification

    rows = Notification.counts_by_kind_and_state()
    if not rows:
        click.echo("no notifications")
    else:
        width = max(len(kind) for kind, _state, _count in rows)
        click.echo(f"{'kind':<{width}}  {'state':<16}  count")
        for kind, state, count in rows:
            click.echo(f"{kind:<{width}}  {state:<16}  {count}")
    oldest = Notification.oldest_undelivered()
    if oldest is None:
        click.echo("oldest undelivered: none")
    else:
        age = int((clock.now() - oldest.created_at).total_seconds())
        click.echo(f"oldest undelivered: #{oldest.id} {oldest.kind} written {oldest.created_at:%Y-%m-%d %H:%M:%S} UTC "
                   f"({age} s ago, {oldest.attempts} attempts"
                   + (f", last error: {oldest.last_error}" if oldest.last_error else "") + ")")


@notifications_cli.command("retry")
@click.option("--failed", "failed", is_flag=True, help="Re-queue the rows that failed after their last attempt.")
@click.option("--permanent", is_flag=True, help="Also the rows WeChat refused for good (after fixing the cause).")
@with_appcontext
def retry(failed, permanent):
    """Put failed notifications back to pending and enqueue their delivery."""
    from models import Notification, db

    if not failed:
        raise click.UsageError("say what to retry: --failed")
    ids = Notification.requeue_failed(include_permanent=permanent)
    db.session.commit()  # the delivery jobs are enqueued when this commits
    click.echo(f"{len(ids)} notifications re-queued")
