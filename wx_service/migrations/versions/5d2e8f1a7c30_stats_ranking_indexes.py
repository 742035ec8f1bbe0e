"""排行榜 indexes in ranking order: (period, hours DESC, volunteer_id) and (period, own_projects DESC, org_id), partial

Revision ID: 5d2e8f1a7c30
Revises: c5d8e1f3a7b2
Create Date: 2026-12-01 17:10:00.000000

The rankings read ``ORDER BY hours DESC, volunteer_id LIMIT 10`` (and the orgs' by own_projects); the indexes on
(period, hours) and (period, own_projects) gave the first key only, so PostgreSQL sorted every tie of it (or
gathered parallel workers to do so).  These give the whole order, only over the rows a ranking can show
(``cycles > 0``, ``own_projects > 0``): the ten first entries are read and the scan stops.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5d2e8f1a7c30'
down_revision = 'c5d8e1f3a7b2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('stat_volunteer_period', schema=None) as batch_op:
        batch_op.drop_index('ix_stat_volunteer_period_period_hours')
        batch_op.create_index('ix_stat_volunteer_period_ranking', ['period', sa.text('hours DESC'), 'volunteer_id'],
                              unique=False, postgresql_where=sa.text('cycles > 0'), sqlite_where=sa.text('cycles > 0'))
    with op.batch_alter_table('stat_org_period', schema=None) as batch_op:
        batch_op.drop_index('ix_stat_org_period_period_own_projects')
        batch_op.create_index('ix_stat_org_period_ranking', ['period', sa.text('own_projects DESC'), 'org_id'],
                              unique=False, postgresql_where=sa.text('own_projects > 0'),
                              sqlite_where=sa.text('own_projects > 0'))


def downgrade():
    with op.batch_alter_table('stat_org_period', schema=None) as batch_op:
        batch_op.drop_index('ix_stat_org_period_ranking', postgresql_where=sa.text('own_projects > 0'),
                            sqlite_where=sa.text('own_projects > 0'))
        batch_op.create_index('ix_stat_org_period_period_own_projects', ['period', 'own_projects'], unique=False)
    with op.batch_alter_table('stat_volunteer_period', schema=None) as batch_op:
        batch_op.drop_index('ix_stat_volunteer_period_ranking', postgresql_where=sa.text('cycles > 0'),
                            sqlite_where=sa.text('cycles > 0'))
        batch_op.create_index('ix_stat_volunteer_period_period_hours', ['period', 'hours'], unique=False)
