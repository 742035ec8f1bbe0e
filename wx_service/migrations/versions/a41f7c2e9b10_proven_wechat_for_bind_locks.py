"""proven_wechat: the WeChat users bind locks never shut out (bound before, or reset by SMS code)

Revision ID: a41f7c2e9b10
Revises: d2a34fde9d5f
Create Date: 2026-12-01 10:40:00.000000

Existing bindings of volunteers and help-seekers count as "bound before".
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a41f7c2e9b10'
down_revision = 'd2a34fde9d5f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('proven_wechat',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('openid', sa.String(length=64), nullable=False),
    sa.Column('volunteer_id', sa.Integer(), nullable=True),
    sa.Column('seeker_id', sa.Integer(), nullable=True),
    sa.Column('how', sa.String(length=16), nullable=False),
    sa.Column('proven_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('(volunteer_id IS NULL) <> (seeker_id IS NULL)', name=op.f('ck_proven_wechat_one_person')),
    sa.CheckConstraint("how IN ('bound', 'sms_reset')", name=op.f('ck_proven_wechat_how')),
    sa.ForeignKeyConstraint(['seeker_id'], ['help_seeker.id'], name=op.f('fk_proven_wechat_seeker_id_help_seeker'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteer.id'], name=op.f('fk_proven_wechat_volunteer_id_volunteer'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proven_wechat'))
    )
    with op.batch_alter_table('proven_wechat', schema=None) as batch_op:
        batch_op.create_index('ix_proven_wechat_account_openid', ['account', 'openid'], unique=False)
    op.execute("INSERT INTO proven_wechat (account, openid, volunteer_id, how, proven_at) "
               "SELECT account, openid, volunteer_id, 'bound', bound_at FROM binding")
    op.execute("INSERT INTO proven_wechat (account, openid, seeker_id, how, proven_at) "
               "SELECT account, openid, seeker_id, 'bound', bound_at FROM help_seeker_binding")


def downgrade():
    with op.batch_alter_table('proven_wechat', schema=None) as batch_op:
        batch_op.drop_index('ix_proven_wechat_account_openid')
    op.drop_table('proven_wechat')
