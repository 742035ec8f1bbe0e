"""records: one valid certificate per scope (certificate.scope_key, unique among valid certificates)

Two simultaneous asks for the same certificate could issue two identical valid ones.  Each certificate now
carries its scope as one value — whose hours, by whom, which project or period, exactly which cycles — and a
partial unique index allows one valid certificate per scope.  Existing rows get their key; of duplicates issued
before the index, the first keeps it and the later ones stay without (they remain valid and verifiable, and
asking again hands out the first).

Revision ID: 4b1e7c2d9a60
Revises: 7c1e2d9a4b60
Create Date: 2026-12-01 16:40:00

"""
import hashlib

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '4b1e7c2d9a60'
down_revision = '7c1e2d9a4b60'
branch_labels = None
depends_on = None


def _key(kind, volunteer_id, issuer_id, project_id, start, end, cycle_ids) -> str:
    """``models.records.certificates.scope_key`` as this revision computes it."""
    span = f"{start.isoformat()}~{end.isoformat()}" if start is not None else ""
    text = "|".join((kind, str(volunteer_id), str(issuer_id), str(project_id or ""), span,
                     ",".join(str(i) for i in sorted(cycle_ids))))
    return hashlib.sha256(text.encode()).hexdigest()


def _as_date(value):
    if isinstance(value, str):  # SQLite hands dates back as text
        from datetime import date

        return date.fromisoformat(value[:10])
    return value


def upgrade():
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope_key', sa.String(length=64), nullable=True))

    bind = op.get_bind()
    cycles: dict[int, list[int]] = {}
    for certificate_id, cycle_id in bind.execute(sa.text("SELECT certificate_id, cycle_id FROM certificate_cycle")):
        cycles.setdefault(certificate_id, []).append(cycle_id)
    taken: set[str] = set()
    rows = bind.execute(sa.text("SELECT id, kind, volunteer_id, issuer_org_id, project_id, period_start, period_end, "
                                "state FROM certificate ORDER BY id")).all()
    for cid, kind, volunteer_id, issuer_id, project_id, start, end, state in rows:
        key = _key(kind, volunteer_id, issuer_id, project_id, _as_date(start), _as_date(end), cycles.get(cid, ()))
        if state == 'valid':
            if key in taken:
                continue  # a duplicate of an earlier valid certificate: it keeps no key
            taken.add(key)
        bind.execute(sa.text("UPDATE certificate SET scope_key = :key WHERE id = :id"), {"key": key, "id": cid})

    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.create_index('uq_certificate_valid_scope', ['scope_key'], unique=True,
                              sqlite_where=sa.text("state = 'valid'"), postgresql_where=sa.text("state = 'valid'"))


def downgrade():
    with op.batch_alter_table('certificate', schema=None) as batch_op:
        batch_op.drop_index('uq_certificate_valid_scope', sqlite_where=sa.text("state = 'valid'"),
                            postgresql_where=sa.text("state = 'valid'"))
        batch_op.drop_column('scope_key')
