"""notification: rows addressed to a follower without a volunteer account (account + openid)

Revision ID: c5d8e1f3a7b2
Revises: b7c41d2e9a60
Create Date: 2026-12-01 17:05:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c5d8e1f3a7b2'
down_revision = 'b7c41d2e9a60'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.add_column(sa.Column('openid', sa.String(length=64), nullable=True))
        batch_op.alter_column('volunteer_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_check_constraint(
            'addressed', 'volunteer_id IS NOT NULL OR (account IS NOT NULL AND openid IS NOT NULL)')


def downgrade():
    op.execute("DELETE FROM notification WHERE volunteer_id IS NULL")
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_constraint('ck_notification_addressed', type_='check')
        batch_op.alter_column('volunteer_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('openid')
