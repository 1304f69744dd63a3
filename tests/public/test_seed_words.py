"""The registration flows' own words on the public pages (docs/flows.md): the ID's sentence, notes ※1
and ※2, and the two manuals, linked once their addresses are configured."""

import pytest

SEED_ID_SENTENCE = "電子請求受付システムのIDはKJから始まる12桁の英数字です。例：KJ123456789012"
NOTE_1 = "みなし介護事業所とは、介護保険法に基づく正式な指定を受けていなくても"
ECLAIMS_HOME = "https://www.kaigo.e-seikyuu.jp/KShinsei/main"
SETUP = "セットアップ手順書（電子請求受付システムユーザID・パスワード）"
FIRST_LOGIN = "初回利用登録マニュアル"


@pytest.mark.parametrize("url", ["/", "/flows", "/register"])
def test_the_eclaims_id_is_described_in_the_seeds_sentence(client, url: str) -> None:
    page = client.get(url).text
    assert SEED_ID_SENTENCE in page
    assert "14文字" not in page


@pytest.mark.parametrize("url", ["/flows", "/register"])
def test_notes_1_and_2_are_quoted_with_the_eclaims_address(client, url: str) -> None:
    page = client.get(url).text
    assert NOTE_1 in page
    assert 'href="#note-1"' in page
    assert 'id="note-1"' in page
    assert f'href="{ECLAIMS_HOME}"' in page


def test_manuals_are_plain_names_while_their_addresses_are_unset(client) -> None:
    for url in ("/flows", "/register"):
        page = client.get(url).text
        assert f"「{SETUP}」" in page
        assert f"「{FIRST_LOGIN}」" in page


@pytest.mark.parametrize(
    "app_overrides",
    [
        {
            "SETUP_MANUAL_URL": "https://manuals.example.jp/setup.pdf",
            "FIRST_LOGIN_MANUAL_URL": "https://manuals.example.jp/first-login.pdf",
        }
    ],
)
def test_manuals_are_linked_wherever_the_flows_name_them(client) -> None:
    setup = f'<a href="https://manuals.example.jp/setup.pdf">{SETUP}</a>'
    first = f'<a href="https://manuals.example.jp/first-login.pdf">{FIRST_LOGIN}</a>'
    flows = client.get("/flows").text
    assert flows.count(setup) == 2  # the ID's step, and the note under the table
    assert flows.count(first) == 2  # under both tables
    start = client.get("/register").text
    assert setup in start
    assert first in start
