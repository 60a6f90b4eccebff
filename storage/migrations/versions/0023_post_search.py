"""post_search: the full-text index of posts (node/post_search.py fills it)

SQLite: an FTS5 table, rowid = the post's id, one column of terms that node/search_text.py
has already stemmed (English or German Snowball), so the tokenizer only splits on spaces and
must not stem again: `unicode61 remove_diacritics 0` (a second, Porter, stemming would change
German stems and make the two engines disagree). PostgreSQL: a table of `tsvector`s built
with the `simple` configuration from the same terms, under a GIN index (`fastupdate = off`:
no pending list for searches to scan); it follows its post on delete (the foreign key).

Revision ID: 0023
Revises: 0022
"""

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE post_search USING fts5(terms, tokenize = 'unicode61 remove_diacritics 0')"
        )
        return
    op.execute(
        "CREATE TABLE post_search ("
        " post_id BIGINT PRIMARY KEY REFERENCES posts(id) ON DELETE CASCADE,"
        " terms TSVECTOR NOT NULL)"
    )
    # fastupdate off: each post's terms go into the index as it is written (a dozen entries),
    # rather than into a pending list that every search would scan until a vacuum merges it.
    op.execute("CREATE INDEX ix_post_search_terms ON post_search USING GIN (terms) WITH (fastupdate = off)")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS post_search")
