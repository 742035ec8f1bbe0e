"""project: index (status, ends_at) for the queries by end date (结项 reminders, no-shows, clean-up, month ranges)

Revision ID: 7c1e2d9a4b60
Revises: 13305eb3eeb0
Create Date: 2026-12-01 16:50:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '7c1e2d9a4b60'
down_revision = '13305eb3eeb0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_project_status_ends_at', 'project', ['status', 'ends_at'], unique=False)


def downgrade():
    op.drop_index('ix_project_status_ends_at', table_name='project')
