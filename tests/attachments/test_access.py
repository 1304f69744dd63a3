"""Who gets a file: operators of the back office, the holder of the ticket's status link, and the
organization on マイページ; an anonymous visitor, another organization's user, an operator who is
disabled and another ticket's link get nothing."""

import io

import sqlalchemy as sa

from backoffice.attachments import operations
from backoffice.attachments.models import Attachment
from backoffice.extensions import db
from backoffice.inquiries.actors import REQUESTER
from backoffice.operators.models import Role
from tests.attachments import helpers as files
from tests.attachments.test_journey import fetched
from tests.builders.accounts import full_first_login, make_registrant, publish_terms
from tests.builders.inquiries import make_inquiry, seed_tree
from tests.conversation.helpers import link_in, mails_to


def _file_on(inquiry) -> Attachment:
    data = files.png()
    [stored] = operations.take([operations.Upload(io.BytesIO(data), "画面.png", len(data))])
    [row] = operations.attach([stored], REQUESTER, inquiry=inquiry)
    db.session.commit()
    return row


def test_nobody_without_the_right_gets_a_file(app, client, signed_in) -> None:
    seed_tree()
    publish_terms()
    user, initial = make_registrant(email="staff@sakura.example.jp")
    theirs = make_inquiry(client, email=user.email, email_confirm=user.email)
    other = make_inquiry(
        app.test_client(),
        email="other@elsewhere.example.jp",
        email_confirm="other@elsewhere.example.jp",
    )
    row = _file_on(theirs)
    admin_url = f"/admin/tickets/{theirs.id}/files/{row.id}"

    # Operators of every role read tickets, and so their files.
    operators = {role: signed_in(role) for role in (Role.ADMIN, Role.AGENT, Role.VIEWER)}
    for role, operator in operators.items():
        assert fetched(operator, admin_url).status_code == 200, role
    # An anonymous visitor is sent to sign in; an operator who was disabled is refused.
    anonymous = app.test_client()
    assert fetched(anonymous, admin_url).status_code in (302, 403)
    disabled = operators[Role.VIEWER]
    disabled.operator.is_active = False
    db.session.commit()
    assert fetched(disabled, admin_url).status_code in (302, 403)
    # The file of one ticket is not reached through another ticket's page or link.
    assert (
        fetched(operators[Role.AGENT], f"/admin/tickets/{other.id}/files/{row.id}").status_code
        == 404
    )
    own_link = link_in(next(m for m in mails_to(theirs.email) if m.inquiry_id == theirs.id))
    other_link = link_in(mails_to(other.email)[0])
    assert fetched(anonymous, f"{own_link}/files/{row.id}").status_code == 200
    assert fetched(anonymous, f"{other_link}/files/{row.id}").status_code == 404
    assert fetched(anonymous, f"/inquiry/status/{'x' * 43}/files/{row.id}").status_code == 404

    # マイページ: the organization's user gets it; a user of another organization does not.
    member = app.test_client()
    full_first_login(member, user, initial)
    url = f"/mypage/inquiries/{theirs.reference_number}/files/{row.id}"
    assert fetched(member, url).status_code == 200
    stranger, stranger_initial = make_registrant(
        email="boss@aozora.example.jp", office_number="1310110049"
    )
    outsider = app.test_client()
    full_first_login(outsider, stranger, stranger_initial)
    assert fetched(outsider, url).status_code == 404
    assert fetched(anonymous, url).status_code == 302  # to the portal's login


def test_files_are_never_a_static_url_and_have_random_names(app, client) -> None:
    seed_tree()
    inquiry = make_inquiry(client)
    row = _file_on(inquiry)
    assert row.storage_key not in row.filename
    assert len(row.storage_key) == 32
    path = operations.storage().root  # type: ignore[attr-defined]
    assert not str(path).startswith(app.static_folder)
    assert fetched(client, f"/static/{row.storage_key}").status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 1
