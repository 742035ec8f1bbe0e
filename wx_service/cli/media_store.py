"""``flask --app wx_service media-store copy``: move the files of a media directory into the configured store."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from jobs.storage import LocalStorage, copy_all, storage

from ..config import settings


@click.group("media-store")
def media_store_cli():
    """The media store ([media]): a directory or an S3-compatible bucket."""


@click.command("copy")
@click.option("--from", "source_dir", default=None, help="The directory to copy (default: [app] media_dir).")
@click.option("--overwrite", is_flag=True, help="Copy again files the store already holds.")
@click.option("--remove", is_flag=True, help="Delete each file from the directory once the store holds it.")
@with_appcontext
def copy(source_dir, overwrite, remove):
    """Copy every file of the directory into the store, under the same relative path (rows keep their paths).

    Run it again after an interruption: files the store already holds are skipped.
    """
    source = LocalStorage(source_dir or settings().app.media_dir)
    target = storage()
    if isinstance(target, LocalStorage) and target.root == source.root:
        raise click.UsageError("the store is this directory already: set [media] backend = \"s3\" (or another dir)")
    copied, skipped = copy_all(source, target, overwrite=overwrite)
    removed = 0
    if remove:
        for path in list(source.paths()):
            if target.exists(path):
                source.delete(path)
                removed += 1
    click.echo(f"{copied} copied, {skipped} already in the store, {removed} removed from {source.root}")


media_store_cli.add_command(copy)
