"""photos on the media pipeline: 场所图片 (practice_place_photo), a need's photo, 结项 photos as media items

Revision ID: b7c41d2e9a60
Revises: 7c3f9a1d5e42
Create Date: 2026-12-01 16:50:00.000000

``project_closure_photo`` kept its own download state (account, media id, state, path …, fetched by a job
of its own); that state moves into ``media_item`` rows of purpose ``closure_photo`` (one per account and
media id) and each photo keeps a foreign key to its item.  A stored photo keeps its file where it is (the
item's path points there; it has no thumbnail, so it serves itself); a pending one is picked up by the
media sweep, or failed by it once past WeChat's three days.  A media id sent twice for one closure stays
one photo.  The downgrade copies the state back.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7c41d2e9a60'
down_revision = '7c3f9a1d5e42'
branch_labels = None
depends_on = None

ITEM = ("account, media_id, kind, purpose, state, reason, tries, path, content_type, created_at, stored_at, "
        "failed_at")
CLOSED_AT = "(SELECT c.closed_at FROM project_closure c WHERE c.project_id = p.project_id)"


def upgrade():
    op.create_table('practice_place_photo',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('place_id', sa.Integer(), nullable=False),
    sa.Column('media_item_id', sa.Integer(), nullable=False),
    sa.Column('outside', sa.Boolean(), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['volunteer.id'], name=op.f('fk_practice_place_photo_added_by_id_volunteer'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['media_item_id'], ['media_item.id'], name=op.f('fk_practice_place_photo_media_item_id_media_item'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['place_id'], ['practice_place.id'], name=op.f('fk_practice_place_photo_place_id_practice_place'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_practice_place_photo')),
    sa.UniqueConstraint('place_id', 'media_item_id', name=op.f('uq_practice_place_photo_place_id_media_item_id'))
    )
    with op.batch_alter_table('practice_place_photo', schema=None) as batch_op:
        batch_op.create_index('ix_practice_place_photo_place_id_created_at', ['place_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_practice_place_photo_media_item_id'), ['media_item_id'], unique=False)

    with op.batch_alter_table('practice_need', schema=None) as batch_op:
        batch_op.add_column(sa.Column('photo_item_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_practice_need_photo_item_id_media_item'), 'media_item',
                                    ['photo_item_id'], ['id'], ondelete='SET NULL')

    # -- 结项 photos: one photo per (closure, media id), their state into media items
    op.execute("DELETE FROM project_closure_photo WHERE id <> (SELECT min(q.id) FROM project_closure_photo q "
               "WHERE q.project_id = project_closure_photo.project_id AND q.account = project_closure_photo.account "
               "AND q.media_id = project_closure_photo.media_id)")
    op.execute(f"INSERT INTO media_item ({ITEM}) SELECT p.account, p.media_id, 'image', 'closure_photo', p.state, "
               f"p.error, p.attempts, p.path, p.content_type, {CLOSED_AT}, "
               f"CASE WHEN p.state = 'stored' THEN {CLOSED_AT} END, CASE WHEN p.state = 'failed' THEN {CLOSED_AT} END "
               "FROM project_closure_photo p WHERE p.id = (SELECT min(q.id) FROM project_closure_photo q "
               "WHERE q.account = p.account AND q.media_id = p.media_id)")
    with op.batch_alter_table('project_closure_photo', schema=None) as batch_op:
        batch_op.add_column(sa.Column('media_item_id', sa.Integer(), nullable=True))
    op.execute("UPDATE project_closure_photo SET media_item_id = (SELECT m.id FROM media_item m "
               "WHERE m.purpose = 'closure_photo' AND m.account = project_closure_photo.account "
               "AND m.media_id = project_closure_photo.media_id)")
    with op.batch_alter_table('project_closure_photo', schema=None) as batch_op:
        batch_op.alter_column('media_item_id', existing_type=sa.Integer(), nullable=False)
        for name in ('account', 'media_id', 'state', 'path', 'content_type', 'attempts', 'error'):
            batch_op.drop_column(name)
        batch_op.create_foreign_key(batch_op.f('fk_project_closure_photo_media_item_id_media_item'), 'media_item',
                                    ['media_item_id'], ['id'], ondelete='RESTRICT')
        batch_op.create_unique_constraint(batch_op.f('uq_project_closure_photo_project_id_media_item_id'),
                                          ['project_id', 'media_item_id'])
        batch_op.create_index(batch_op.f('ix_project_closure_photo_media_item_id'), ['media_item_id'], unique=False)


def downgrade():
    with op.batch_alter_table('project_closure_photo', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('media_id', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('state', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('path', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('content_type', sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('error', sa.String(length=200), nullable=True))
    values = {"account": "m.account", "media_id": "m.media_id", "state": "m.state", "path": "m.path",
              "content_type": "m.content_type", "attempts": "m.tries", "error": "substr(m.reason, 1, 200)"}
    sets = ", ".join(f"{name} = (SELECT {expr} FROM media_item m WHERE m.id = project_closure_photo.media_item_id)"
                     for name, expr in values.items())
    op.execute(f"UPDATE project_closure_photo SET {sets}")
    with op.batch_alter_table('project_closure_photo', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_closure_photo_media_item_id'))
        batch_op.drop_constraint(batch_op.f('uq_project_closure_photo_project_id_media_item_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_project_closure_photo_media_item_id_media_item'), type_='foreignkey')
        batch_op.drop_column('media_item_id')
        for name, kind in (('account', sa.String(length=64)), ('media_id', sa.String(length=200)),
                           ('state', sa.String(length=10)), ('attempts', sa.Integer())):
            batch_op.alter_column(name, existing_type=kind, nullable=False)
    op.execute("DELETE FROM media_item WHERE purpose = 'closure_photo'")

    with op.batch_alter_table('practice_need', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_practice_need_photo_item_id_media_item'), type_='foreignkey')
        batch_op.drop_column('photo_item_id')
    op.execute("DELETE FROM media_item WHERE purpose = 'practice_need_photo'")

    with op.batch_alter_table('practice_place_photo', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_practice_place_photo_media_item_id'))
        batch_op.drop_index('ix_practice_place_photo_place_id_created_at')
    op.drop_table('practice_place_photo')
    op.execute("DELETE FROM media_item WHERE purpose = 'place_photo'")
