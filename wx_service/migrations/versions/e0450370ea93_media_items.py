"""media_item: one media pipeline; wish photos, 补签 photos and voice notes point to their item

Revision ID: e0450370ea93
Revises: 5a4ebac57f44
Create Date: 2026-12-01 13:30:00.000000

The download state of ``wish_photo``, ``makeup_request`` (``photo_*``) and ``help_voice_note`` moves
into ``media_item`` rows (one per account, media id and purpose); each feature row keeps a foreign key
to its item.  The downgrade copies the state back and drops the items.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e0450370ea93'
down_revision = '5a4ebac57f44'
branch_labels = None
depends_on = None

ITEM = ("account, media_id, kind, purpose, state, reason, tries, path, content_type, seconds, created_at, "
        "stored_at, failed_at")


def _first_of_each(table: str, alias: str) -> str:
    """Only the first row of each (account, media_id): the item is unique per account, media and purpose."""
    return (f"{alias}.id = (SELECT min(q.id) FROM {table} q "
            f"WHERE q.account = {alias}.account AND q.media_id = {alias}.media_id)")


def _point_to_items(table: str, column: str, purpose: str) -> None:
    op.execute(f"UPDATE {table} SET {column} = (SELECT m.id FROM media_item m WHERE m.purpose = '{purpose}' "
               f"AND m.account = {table}.account AND m.media_id = {table}.media_id)")


def _copy_back(table: str, column: str, values: dict) -> None:
    sets = ", ".join(f"{name} = (SELECT {expr} FROM media_item m WHERE m.id = {table}.{column})"
                     for name, expr in values.items())
    op.execute(f"UPDATE {table} SET {sets}")


def upgrade():
    op.create_table('media_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('media_id', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('purpose', sa.String(length=40), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=True),
    sa.Column('tries', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=200), nullable=True),
    sa.Column('thumbnail_path', sa.String(length=200), nullable=True),
    sa.Column('content_type', sa.String(length=50), nullable=True),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('seconds', sa.Float(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('tried_at', sa.DateTime(), nullable=True),
    sa.Column('stored_at', sa.DateTime(), nullable=True),
    sa.Column('failed_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("kind IN ('image', 'chat_voice', 'jssdk_voice')", name=op.f('ck_media_item_kind')),
    sa.CheckConstraint("state IN ('pending', 'stored', 'failed')", name=op.f('ck_media_item_state')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_media_item')),
    sa.UniqueConstraint('account', 'media_id', 'purpose', name=op.f('uq_media_item_account_media_id_purpose'))
    )
    with op.batch_alter_table('media_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_media_item_state_created_at'), ['state', 'created_at'], unique=False)

    # -- the rows' state moves into items
    op.execute(f"INSERT INTO media_item ({ITEM}) SELECT p.account, p.media_id, 'image', 'wish_photo', p.state, "
               "p.last_error, p.attempts, p.path, p.content_type, NULL, p.created_at, p.stored_at, "
               "CASE WHEN p.state = 'failed' THEN p.created_at END "
               f"FROM wish_photo p WHERE {_first_of_each('wish_photo', 'p')}")
    op.execute(f"INSERT INTO media_item ({ITEM}) SELECT r.account, r.media_id, 'image', 'makeup_photo', "
               "r.photo_state, r.photo_error, r.photo_attempts, r.photo_path, r.photo_content_type, NULL, "
               "r.submitted_at, NULL, CASE WHEN r.photo_state = 'failed' THEN r.submitted_at END "
               f"FROM makeup_request r WHERE {_first_of_each('makeup_request', 'r')}")
    op.execute(f"INSERT INTO media_item ({ITEM}) SELECT v.account, v.media_id, "
               "CASE WHEN v.source = 'jssdk' THEN 'jssdk_voice' ELSE 'chat_voice' END, 'help_voice', "
               "CASE WHEN v.state = 'ready' THEN 'stored' ELSE v.state END, v.last_error, v.attempts, v.mp3_path, "
               "CASE WHEN v.mp3_path IS NOT NULL THEN 'audio/mpeg' END, v.duration, v.created_at, v.ready_at, "
               "CASE WHEN v.state = 'failed' THEN v.created_at END "
               f"FROM help_voice_note v WHERE {_first_of_each('help_voice_note', 'v')}")

    # -- wish_photo: (wish, item)
    with op.batch_alter_table('wish_photo', schema=None) as batch_op:
        batch_op.add_column(sa.Column('media_item_id', sa.Integer(), nullable=True))
    _point_to_items('wish_photo', 'media_item_id', 'wish_photo')
    with op.batch_alter_table('wish_photo', schema=None) as batch_op:
        batch_op.alter_column('media_item_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_index(batch_op.f('ix_wish_photo_state_created_at'))
        batch_op.drop_constraint(batch_op.f('uq_wish_photo_wish_id_media_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('ck_wish_photo_state'), type_='check')
        for name in ('account', 'media_id', 'state', 'path', 'content_type', 'attempts', 'last_error',
                     'created_at', 'stored_at'):
            batch_op.drop_column(name)
        batch_op.create_foreign_key(batch_op.f('fk_wish_photo_media_item_id_media_item'), 'media_item',
                                    ['media_item_id'], ['id'], ondelete='RESTRICT')
        batch_op.create_unique_constraint(batch_op.f('uq_wish_photo_wish_id_media_item_id'),
                                          ['wish_id', 'media_item_id'])
        batch_op.create_index(batch_op.f('ix_wish_photo_media_item_id'), ['media_item_id'], unique=False)

    # -- makeup_request: photo_id
    with op.batch_alter_table('makeup_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('photo_id', sa.Integer(), nullable=True))
    _point_to_items('makeup_request', 'photo_id', 'makeup_photo')
    with op.batch_alter_table('makeup_request', schema=None) as batch_op:
        batch_op.alter_column('photo_id', existing_type=sa.Integer(), nullable=False)
        for name in ('account', 'media_id', 'photo_state', 'photo_path', 'photo_content_type', 'photo_attempts',
                     'photo_error'):
            batch_op.drop_column(name)
        batch_op.create_foreign_key(batch_op.f('fk_makeup_request_photo_id_media_item'), 'media_item',
                                    ['photo_id'], ['id'], ondelete='RESTRICT')
        batch_op.create_index(batch_op.f('ix_makeup_request_photo_id'), ['photo_id'], unique=False)

    # -- help_voice_note: its item
    with op.batch_alter_table('help_voice_note', schema=None) as batch_op:
        batch_op.add_column(sa.Column('media_item_id', sa.Integer(), nullable=True))
    _point_to_items('help_voice_note', 'media_item_id', 'help_voice')
    with op.batch_alter_table('help_voice_note', schema=None) as batch_op:
        batch_op.alter_column('media_item_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_index(batch_op.f('ix_help_voice_note_state_created_at'))
        batch_op.drop_constraint(batch_op.f('uq_help_voice_note_source_media_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('ck_help_voice_note_source'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_help_voice_note_state'), type_='check')
        for name in ('account', 'media_id', 'source', 'state', 'attempts', 'last_error', 'mp3_path', 'duration',
                     'ready_at'):
            batch_op.drop_column(name)
        batch_op.create_foreign_key(batch_op.f('fk_help_voice_note_media_item_id_media_item'), 'media_item',
                                    ['media_item_id'], ['id'], ondelete='RESTRICT')
        batch_op.create_unique_constraint(batch_op.f('uq_help_voice_note_media_item_id'), ['media_item_id'])


def downgrade():
    # -- help_voice_note
    with op.batch_alter_table('help_voice_note', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('media_id', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('source', sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column('state', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('last_error', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('mp3_path', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('duration', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('ready_at', sa.DateTime(), nullable=True))
    _copy_back('help_voice_note', 'media_item_id', {
        "account": "m.account", "media_id": "m.media_id",
        "source": "CASE WHEN m.kind = 'jssdk_voice' THEN 'jssdk' ELSE 'chat' END",
        "state": "CASE WHEN m.state = 'stored' THEN 'ready' ELSE m.state END", "attempts": "m.tries",
        "last_error": "m.reason", "mp3_path": "m.path", "duration": "m.seconds", "ready_at": "m.stored_at"})
    with op.batch_alter_table('help_voice_note', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_help_voice_note_media_item_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_help_voice_note_media_item_id_media_item'), type_='foreignkey')
        batch_op.drop_column('media_item_id')
        for name, kind in (('account', sa.String(length=64)), ('media_id', sa.String(length=128)),
                           ('source', sa.String(length=8)), ('state', sa.String(length=10)),
                           ('attempts', sa.Integer())):
            batch_op.alter_column(name, existing_type=kind, nullable=False)
        batch_op.create_check_constraint(batch_op.f('ck_help_voice_note_source'), "source IN ('chat', 'jssdk')")
        batch_op.create_check_constraint(batch_op.f('ck_help_voice_note_state'), "state IN ('pending', 'ready', 'failed')")
        batch_op.create_unique_constraint(batch_op.f('uq_help_voice_note_source_media_id'), ['source', 'media_id'])
        batch_op.create_index(batch_op.f('ix_help_voice_note_state_created_at'), ['state', 'created_at'], unique=False)

    # -- makeup_request
    with op.batch_alter_table('makeup_request', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('media_id', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('photo_state', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('photo_path', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('photo_content_type', sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column('photo_attempts', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('photo_error', sa.String(length=200), nullable=True))
    _copy_back('makeup_request', 'photo_id', {
        "account": "m.account", "media_id": "m.media_id", "photo_state": "m.state", "photo_path": "m.path",
        "photo_content_type": "m.content_type", "photo_attempts": "m.tries",
        "photo_error": "substr(m.reason, 1, 200)"})
    with op.batch_alter_table('makeup_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_makeup_request_photo_id'))
        batch_op.drop_constraint(batch_op.f('fk_makeup_request_photo_id_media_item'), type_='foreignkey')
        batch_op.drop_column('photo_id')
        for name, kind in (('account', sa.String(length=64)), ('media_id', sa.String(length=200)),
                           ('photo_state', sa.String(length=10)), ('photo_attempts', sa.Integer())):
            batch_op.alter_column(name, existing_type=kind, nullable=False)

    # -- wish_photo
    with op.batch_alter_table('wish_photo', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('media_id', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('state', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('path', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('content_type', sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('last_error', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('created_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('stored_at', sa.DateTime(), nullable=True))
    _copy_back('wish_photo', 'media_item_id', {
        "account": "m.account", "media_id": "m.media_id", "state": "m.state", "path": "m.path",
        "content_type": "m.content_type", "attempts": "m.tries", "last_error": "substr(m.reason, 1, 200)",
        "created_at": "m.created_at", "stored_at": "m.stored_at"})
    with op.batch_alter_table('wish_photo', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wish_photo_media_item_id'))
        batch_op.drop_constraint(batch_op.f('uq_wish_photo_wish_id_media_item_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_wish_photo_media_item_id_media_item'), type_='foreignkey')
        batch_op.drop_column('media_item_id')
        for name, kind in (('account', sa.String(length=64)), ('media_id', sa.String(length=200)),
                           ('state', sa.String(length=10)), ('attempts', sa.Integer()),
                           ('created_at', sa.DateTime())):
            batch_op.alter_column(name, existing_type=kind, nullable=False)
        batch_op.create_check_constraint(batch_op.f('ck_wish_photo_state'), "state IN ('pending', 'stored', 'failed')")
        batch_op.create_unique_constraint(batch_op.f('uq_wish_photo_wish_id_media_id'), ['wish_id', 'media_id'])
        batch_op.create_index(batch_op.f('ix_wish_photo_state_created_at'), ['state', 'created_at'], unique=False)

    with op.batch_alter_table('media_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_media_item_state_created_at'))
    op.drop_table('media_item')
