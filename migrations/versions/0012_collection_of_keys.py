"""Collecting the four keys: what GraphQL cost a run, and how far back each source of a repository is read.

``collector_runs`` gains the run's GraphQL queries and the points they cost (GitHub's GraphQL budget is
apart from REST's requests). ``signal_state`` gains ``covered_since``: every fact of the source from
then up to the watermark is stored, so a run that wants more history reads it, and only then.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for column in ("github_graphql_requests", "github_graphql_points"):
        op.add_column("collector_runs", sa.Column(column, sa.Integer, nullable=False, server_default="0"))
    op.add_column("signal_state", sa.Column("covered_since", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("signal_state", "covered_since")
    op.drop_column("collector_runs", "github_graphql_points")
    op.drop_column("collector_runs", "github_graphql_requests")
