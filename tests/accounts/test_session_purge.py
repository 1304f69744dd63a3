"""Sessions are deleted 30 days after they began, by a later login; the purge runs at most once per
PURGE_SECONDS in a process, so that a login does not pay for it each time."""

from datetime import timedelta

import sqlalchemy as sa

from backoffice import sessions
from backoffice.accounts.models import PortalSession
from backoffice.accounts.users import SESSIONS
from backoffice.db import utcnow
from tests.builders.accounts import full_first_login


def test_a_login_purges_sessions_past_retention_at_most_once_per_period(
    app, registrant, db
) -> None:
    user, password = registrant
    full_first_login(app.test_client(), user, password)  # a session, and the purge ran
    earlier = db.session.scalars(sa.select(PortalSession)).all()
    for old in earlier:
        old.created_at = utcnow() - sessions.RETENTION - timedelta(days=1)
    db.session.commit()
    statements: list[str] = []
    sa.event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    key = SESSIONS.begin(user, "127.0.0.1")
    db.session.commit()
    assert not any(s.startswith("DELETE FROM portal_sessions") for s in statements)
    count = db.session.scalar(sa.select(sa.func.count()).select_from(PortalSession))
    assert count == len(earlier) + 1

    app.extensions.pop("kip.next_session_purge.portal_sessions")  # the period is over
    SESSIONS.begin(user, "127.0.0.1")
    db.session.commit()
    left = db.session.scalars(sa.select(PortalSession.key_hash)).all()
    assert sessions.hash_key(key) in left
    assert len(left) == 2
