"""What several migrations do alike: build an index on a live PostgreSQL database without holding up
writes to its table."""

import sqlalchemy as sa
from alembic import op


def create_index_concurrently(
    name: str, table: str, columns: list[str], *, where: str | None = None
) -> None:
    """CREATE INDEX CONCURRENTLY on PostgreSQL (outside a transaction), a plain index elsewhere. A build
    that was interrupted (a lock timeout, a stopped upgrade) leaves an invalid index: it is dropped and
    built anew; a valid one is kept."""
    if op.get_bind().dialect.name != "postgresql":
        op.create_index(
            name, table, columns, sqlite_where=sa.text(where) if where is not None else None
        )
        return
    with op.get_context().autocommit_block():
        state = (
            op.get_bind()
            .execute(
                sa.text(
                    "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                    "WHERE c.relname = :name"
                ),
                {"name": name},
            )
            .scalar()
        )
        if state is True:
            return
        if state is False:
            op.drop_index(name, table_name=table, postgresql_concurrently=True)
        op.create_index(
            name,
            table,
            columns,
            postgresql_where=sa.text(where) if where is not None else None,
            postgresql_concurrently=True,
        )
