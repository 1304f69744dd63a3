"""The organizations' and portal users' search boxes: one or two characters of a name are found
anywhere in a word through the gram tables, which follow every new row and every rename; longer terms
and numbers as before."""

import sqlalchemy as sa

from backoffice.accounts import profile
from backoffice.accounts.models import Organization
from backoffice.accounts.search_index import (
    organization_grams,
    portal_user_grams,
    rebuild,
)
from backoffice.extensions import db as _db
from backoffice.operators.models import Role
from tests.builders.accounts import make_registrant


def found(client, list_url: str, term: str) -> str:
    page = client.get(list_url, query_string={"search": term})
    assert page.status_code == 200
    return page.text


def test_one_or_two_characters_find_organizations_anywhere_in_the_name(app, signed_in, db) -> None:
    user, _ = make_registrant()
    organization = user.organization
    organization.name = "ひまわり訪問看護ステーション"
    organization.name_kana = "ヒマワリホウモンカンゴステーション"
    make_registrant(
        email="boss@care.example.jp", office_number="04A0700017"
    )  # さくら在宅クリニック
    db.session.commit()
    viewer = signed_in(Role.VIEWER)
    orgs = "/admin/organizations/"
    for term in ("訪問", "訪", "ﾎｳ", "ひまわり訪問"):
        page = found(viewer, orgs, term)
        assert "ひまわり訪問看護ステーション" in page, term
        assert "さくら在宅クリニック" not in page, term
    both = found(viewer, orgs, "リ")  # ヒマワリ, クリニック
    assert "ひまわり訪問看護ステーション" in both
    assert "さくら在宅クリニック" in both
    assert "ひまわり" not in found(viewer, orgs, "内科")


def test_one_or_two_characters_find_users_and_follow_a_rename(app, signed_in, db) -> None:
    user, _ = make_registrant()  # 佐藤 花子
    viewer = signed_in(Role.VIEWER)
    users = "/admin/portal_users/"
    assert user.email in found(viewer, users, "佐藤")
    assert user.email in found(viewer, users, "藤")  # anywhere in a word
    assert user.email in found(viewer, users, "ｻﾄ")  # フリガナ, half-width
    profile.update_profile(
        user,
        profile.ProfileDetails(
            name="鈴木 花子", name_kana="スズキ ハナコ", phone=user.phone, department=None
        ),
    )
    assert user.email not in found(viewer, users, "佐藤")
    assert user.email in found(viewer, users, "鈴木")


def test_a_bulk_load_rebuilds_the_gram_tables(app, db) -> None:
    user, _ = make_registrant()
    with _db.engine.begin() as connection:
        connection.execute(sa.delete(organization_grams))
        connection.execute(sa.delete(portal_user_grams))
        rebuild(connection)
    by_org = set(
        db.session.scalars(
            sa.select(organization_grams.c.gram).where(
                organization_grams.c.organization_id == user.organization_id
            )
        )
    )
    assert {"さく", "在宅"} <= by_org
    by_user = set(
        db.session.scalars(
            sa.select(portal_user_grams.c.gram).where(portal_user_grams.c.portal_user_id == user.id)
        )
    )
    assert {"佐藤", "藤 ", "花子", "サト"} <= by_user
    assert db.session.get(Organization, user.organization_id).name == "さくら在宅クリニック"
