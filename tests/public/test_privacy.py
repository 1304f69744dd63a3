"""個人情報の取扱い: the notice on the inquiry form and the registration, from configurable text, and the
consent the form cannot be sent without (what was typed is kept)."""

import re

import pytest
import sqlalchemy as sa

from backoffice.inquiries.drafts import InquiryDraft
from backoffice.inquiries.models import Inquiry
from tests.builders.inquiries import confirm_page, general_input, post_input, seed_tree, send


@pytest.fixture(autouse=True)
def tree(app):
    seed_tree()


def test_the_form_says_what_is_collected_why_for_how_long_and_who_sees_it(client) -> None:
    html = client.get("/inquiry").text
    notice = re.search(r'<section class="privacy".*?</section>', html, re.S).group(0)
    for heading in ("集める情報", "使う目的", "保管する期間", "見る人"):
        assert f"<dt>{heading}</dt>" in notice
    assert "対応が完了してから365日を過ぎると" in notice  # RETENTION_INQUIRY_DAYS
    assert '<label for="privacy_consent">個人情報の取扱いに同意する' in html


@pytest.mark.parametrize("app_overrides", [{"PRIVACY_NOTICE": "運営主体の定める方針に従います。"}])
def test_the_notice_text_can_be_replaced(client) -> None:
    html = client.get("/inquiry").text
    assert '<p class="privacy__text">運営主体の定める方針に従います。</p>' in html
    assert "<dt>集める情報</dt>" not in html


def test_the_form_is_not_sent_without_the_consent_and_keeps_what_was_typed(client, db) -> None:
    response = post_input(client, general_input(privacy_consent=""))
    assert response.status_code == 422
    assert '<p class="field__error" id="err-privacy_consent">' in response.text
    assert "「個人情報の取扱いに同意する」にチェックを入れてください" in response.text
    assert 'value="yamada@himawari.example.jp"' in response.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InquiryDraft)) == 0


def test_the_consent_survives_going_back_to_change_and_sending(client, db) -> None:
    assert confirm_page(client, general_input()).status_code == 200
    again = client.get("/inquiry").text  # 「変更」: the form refilled from the draft
    assert re.search(r'<input checked[^>]*id="privacy_consent"', again) or re.search(
        r'id="privacy_consent"[^>]*checked', again
    )
    assert send(client, general_input()).status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Inquiry)) == 1
