"""integrity: punch signals, flags, audit, on-site code

Revision ID: 08696ffd32d4
Revises: 3830dc5009cd
Create Date: 2026-12-01 13:11:15.018016

Issue 21: each punch keeps the fix's age, the on-site code's window, when it was received if sent
late (offline) and the page's id for it; location flags on punches; the audit log of admin actions
on hours; a project may require the on-site code for 双签.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '08696ffd32d4'
down_revision = '3830dc5009cd'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('admin_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=100), nullable=False),
    sa.Column('volunteer_id', sa.Integer(), nullable=True),
    sa.Column('project_id', sa.Integer(), nullable=True),
    sa.Column('org_id', sa.Integer(), nullable=True),
    sa.Column('cycle_id', sa.Integer(), nullable=True),
    sa.Column('hours', sa.Numeric(precision=6, scale=2), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('user_agent', sa.String(length=300), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('detail', sa.String(length=300), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['volunteer.id'], name=op.f('fk_admin_action_actor_id_volunteer'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['cycle_id'], ['attendance_cycle.id'], name=op.f('fk_admin_action_cycle_id_attendance_cycle'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['org_id'], ['organization.id'], name=op.f('fk_admin_action_org_id_organization'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_admin_action_project_id_project'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteer.id'], name=op.f('fk_admin_action_volunteer_id_volunteer'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_action'))
    )
    with op.batch_alter_table('admin_action', schema=None) as batch_op:
        batch_op.create_index('ix_admin_action_actor_id_action', ['actor_id', 'action'], unique=False)
        batch_op.create_index('ix_admin_action_org_id_at', ['org_id', 'at'], unique=False)

    op.create_table('punch_flag',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('punch_id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('volunteer_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['attendance_cycle.id'], name=op.f('fk_punch_flag_cycle_id_attendance_cycle'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_punch_flag_project_id_project'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['punch_id'], ['punch.id'], name=op.f('fk_punch_flag_punch_id_punch'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['volunteer_id'], ['volunteer.id'], name=op.f('fk_punch_flag_volunteer_id_volunteer'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_punch_flag')),
    sa.UniqueConstraint('punch_id', 'kind', name=op.f('uq_punch_flag_punch_id_kind'))
    )
    with op.batch_alter_table('punch_flag', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_punch_flag_cycle_id'), ['cycle_id'], unique=False)
        batch_op.create_index('ix_punch_flag_project_id_at', ['project_id', 'at'], unique=False)

    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.add_column(sa.Column('require_onsite_code', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('punch', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fix_age_s', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('onsite_code_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('received_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('client_ref', sa.String(length=80), nullable=True))
        batch_op.create_index('ix_punch_latitude_longitude', ['latitude', 'longitude'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_punch_client_ref'), ['client_ref'])



def downgrade():
    with op.batch_alter_table('punch', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_punch_client_ref'), type_='unique')
        batch_op.drop_index('ix_punch_latitude_longitude')
        batch_op.drop_column('client_ref')
        batch_op.drop_column('received_at')
        batch_op.drop_column('onsite_code_at')
        batch_op.drop_column('fix_age_s')

    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_column('require_onsite_code')

    with op.batch_alter_table('punch_flag', schema=None) as batch_op:
        batch_op.drop_index('ix_punch_flag_project_id_at')
        batch_op.drop_index(batch_op.f('ix_punch_flag_cycle_id'))

    op.drop_table('punch_flag')
    with op.batch_alter_table('admin_action', schema=None) as batch_op:
        batch_op.drop_index('ix_admin_action_org_id_at')
        batch_op.drop_index('ix_admin_action_actor_id_action')

    op.drop_table('admin_action')
