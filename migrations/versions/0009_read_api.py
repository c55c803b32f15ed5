"""The read API: view_teams, the api_keys table (hashes only) and the dora_api role.

``view_teams`` lists every team (with or without merges) with its current members, for ``GET /teams``.
``api_keys`` holds one row per key: its name, a public key id and the SHA-256 of its secret, never the secret.
``dora_api`` is ``dora_reader`` plus EXECUTE on two SECURITY DEFINER functions over ``api_keys`` (look a key up,
record its use); it has no privilege on any table, and the API takes it on every connection.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from collector.sqlfiles import read_sql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(read_sql("view_teams.v001.sql"))
    op.execute("GRANT SELECT ON view_teams TO dora_reader")
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("key_id", sa.Text, nullable=False, unique=True),
        sa.Column("secret_hash", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("octet_length(secret_hash) = 32", name="ck_api_keys_sha256"),
        comment="API keys: a name, a public key id and the SHA-256 of the secret (never the secret itself).",
    )
    # A name belongs to one live key at a time; a revoked key keeps its row (and its name) for the record.
    op.create_index(
        "uq_api_keys_live_name", "api_keys", ["name"], unique=True, postgresql_where=sa.text("revoked_at IS NULL")
    )
    op.execute(read_sql("role_dora_api.v001.sql"))


def downgrade() -> None:
    op.execute("DROP FUNCTION api_key_used(text, bytea)")
    op.execute("DROP FUNCTION api_key_secret(text)")
    op.execute("REVOKE dora_reader FROM dora_api")  # the role itself may serve other databases
    op.drop_table("api_keys")
    op.execute("DROP VIEW view_teams")
