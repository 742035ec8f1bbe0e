"""records: the national export moves onto the one export mechanism (national_export rows → data_export)

Each national_export row becomes a data_export row of kind 'national' (CSV: the ZIP it wrote stays where it is),
with its audit: who, when, whole ID numbers or not, progress, whether it was downloaded.  The old id is kept in
``params`` (record_audit rows of the time name it as ``export:<id>``).  An export still queued or running has no
job left to finish it: it is marked failed, to be asked again.

Revision ID: 7c3f9a1d5e42
Revises: 4b1e7c2d9a60
Create Date: 2026-12-01 17:05:00

"""
import json

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '7c3f9a1d5e42'
down_revision = '4b1e7c2d9a60'
branch_labels = None
depends_on = None

# untyped but for params (JSON): the values go in as the old rows hand them out (SQLite gives times as text)
DATA_EXPORT = sa.table('data_export', sa.column('params', sa.JSON), *(sa.column(name) for name in (
    'kind', 'fmt', 'org_id', 'whole_ids', 'requested_by_id', 'state', 'rows_total', 'rows_done', 'path', 'error',
    'created_at', 'finished_at', 'downloaded_at', 'downloads')))
OLD_COLUMNS = ("id, requested_by_id, org_id, with_id_numbers, state, done_rows, total_rows, path, error, "
               "requested_at, finished_at, downloaded_at")


def _national_export_table():
    op.create_table('national_export',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('org_id', sa.Integer(), nullable=False),
    sa.Column('with_id_numbers', sa.Boolean(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('done_rows', sa.Integer(), nullable=False),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=200), nullable=True),
    sa.Column('error', sa.String(length=200), nullable=True),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('downloaded_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("state IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_national_export_state')),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_national_export_org_id_organization'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['volunteer.id'], name=op.f('fk_national_export_requested_by_id_volunteer'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_national_export'))
    )
    with op.batch_alter_table('national_export', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_national_export_requested_by_id'), ['requested_by_id'], unique=False)


def upgrade():
    bind = op.get_bind()
    old = bind.execute(sa.text(f"SELECT {OLD_COLUMNS} FROM national_export ORDER BY id")).all()
    rows = []
    for (old_id, by, org_id, whole, state, done, total, path, error, requested, finished, downloaded) in old:
        unfinished = state in ('queued', 'running')
        rows.append({"kind": "national", "fmt": "csv", "org_id": org_id, "params": {"national_export_id": old_id},
                     "whole_ids": bool(whole), "requested_by_id": by, "state": "failed" if unfinished else state,
                     "rows_total": total, "rows_done": done, "path": path,
                     "error": "系统升级，请重新导出。" if unfinished else error, "created_at": requested,
                     "finished_at": finished, "downloaded_at": downloaded, "downloads": 1 if downloaded else 0})
    if rows:
        op.bulk_insert(DATA_EXPORT, rows)
    with op.batch_alter_table('national_export', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_national_export_requested_by_id'))
    op.drop_table('national_export')


def downgrade():
    _national_export_table()
    bind = op.get_bind()
    moved = bind.execute(sa.text(
        "SELECT params, requested_by_id, org_id, whole_ids, state, rows_done, rows_total, path, error, created_at, "
        "finished_at, downloaded_at FROM data_export WHERE kind = 'national' AND fmt = 'csv' AND org_id IS NOT NULL "
        "ORDER BY id")).all()
    table = sa.table('national_export', *(sa.column(name.strip()) for name in OLD_COLUMNS.split(",")))
    rows, next_id = [], 1
    for (params, by, org_id, whole, state, done, total, path, error, created, finished, downloaded) in moved:
        params = json.loads(params) if isinstance(params, str) else params
        old_id = params.get("national_export_id") or next_id
        next_id = max(next_id, old_id) + 1
        rows.append({"id": old_id, "requested_by_id": by, "org_id": org_id, "with_id_numbers": whole,
                     "state": state, "done_rows": done, "total_rows": total or 0, "path": path, "error": error,
                     "requested_at": created, "finished_at": finished, "downloaded_at": downloaded})
    if rows:
        op.bulk_insert(table, rows)
        if bind.dialect.name == 'postgresql':  # ids given: the sequence goes on after them
            bind.execute(sa.text("SELECT setval(pg_get_serial_sequence('national_export', 'id'), MAX(id)) "
                                 "FROM national_export"))
    bind.execute(sa.text("DELETE FROM data_export WHERE kind = 'national'"))
