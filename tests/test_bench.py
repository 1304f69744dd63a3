"""The benchmark's own parts that could silently go wrong: the loader's 受付番号, the floor app's round
trip (it must insert a row the app can read, or the comparison means nothing), and the generated
sections of docs/performance.md and docs/query-plans.md."""

import json
import re
import time

import pytest
import sqlalchemy as sa
import wtforms.widgets.core
from flask_migrate import upgrade

from backoffice import create_app
from backoffice.extensions import db
from backoffice.inquiries.categories import seed_categories
from backoffice.inquiries.models import Inquiry
from backoffice.inquiries.operations import REFERENCE_ALPHABET
from backoffice.paths import MIGRATIONS
from bench import dataset, docs, floor, scenarios, stack_floor
from forms import html
from tests.builders.app import app_config


def test_loader_reference_numbers_are_unique_and_well_formed() -> None:
    numbers = [dataset.reference_number(i) for i in range(1, 200_001)]
    assert len(set(numbers)) == len(numbers)
    shape = re.compile(f"[{REFERENCE_ALPHABET}]{{4}}-[{REFERENCE_ALPHABET}]{{4}}")
    assert all(shape.fullmatch(n) for n in numbers[:1000])


@pytest.mark.parametrize("module", [floor, stack_floor])
def test_floors_insert_the_same_row_the_app_reads(postgres_cluster, monkeypatch, module) -> None:
    url = postgres_cluster.create_database(f"{module.__name__.rpartition('.')[2]}_check")
    app = create_app(app_config(url))
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        seed_categories()
        category_id = db.session.scalar(
            sa.select(sa.text("id"))
            .select_from(sa.text("inquiry_categories"))
            .where(sa.text("parent_id IS NOT NULL"))
            .limit(1)
        )
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SECRET_KEY", "floor-test-key")
    # Under gunicorn the app's factory never runs beside a floor: start from WTForms' own writer.
    core = wtforms.widgets.core
    for owner in (core, core.Input, core.Button):
        monkeypatch.setattr(owner, "html_params", html._original)
    floor_app = module.create_app()
    if module is stack_floor:  # renders as the app does (bench/stack_floor.py)
        assert core.html_params is html.html_params
        assert core.Input.html_params is html.html_params
    client = floor_app.test_client()
    page = client.get("/inquiry").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    data = {**scenarios.inquiry_data(1), "category": str(category_id), "name": "山田 太郎"}
    refused = client.post("/inquiry", data={**data, "csrf_token": "wrong"})
    assert refused.status_code in (
        200,
        400,
    )  # the floor refuses; the stack floor shows the form again
    assert "Location" not in refused.headers
    data["csrf_token"] = token
    assert client.post("/inquiry", data=data).headers["Location"] == "/inquiry/confirm"
    confirm = client.get("/inquiry/confirm").text
    key = re.search(r'name="submission_key" type="hidden" value="([^"]+)"', confirm).group(1)
    sent = client.post("/inquiry/confirm", data={"csrf_token": token, "submission_key": key})
    assert sent.headers["Location"] == "/inquiry/complete"
    number = re.search(r"[2-9A-Z]{4}-[2-9A-Z]{4}", client.get("/inquiry/complete").text).group(0)
    with app.app_context():
        inquiry = db.session.scalars(sa.select(Inquiry)).one()
        assert (inquiry.reference_number, inquiry.requester_name) == (number, "山田 太郎")
        db.session.remove()
        db.engine.dispose()
    floor_app.extensions["floor_engine"].dispose()


def test_generated_sections_replace_only_their_own_text(tmp_path, monkeypatch) -> None:
    document = tmp_path / "performance.md"
    document.write_text("prose\n<!-- a:begin -->\nold\n<!-- a:end -->\nmore prose\n")
    monkeypatch.setattr(docs, "DOCUMENT", document)
    docs.write_section("a", "new")
    assert document.read_text() == "prose\n<!-- a:begin -->\nnew\n<!-- a:end -->\nmore prose\n"
    with pytest.raises(SystemExit):
        docs.write_section("missing", "x")


def test_query_plans_are_written_to_their_own_document(tmp_path, monkeypatch) -> None:
    summary, plans = tmp_path / "performance.md", tmp_path / "query-plans.md"
    summary.write_text("<!-- results:begin -->\nold\n<!-- results:end -->\n")
    plans.write_text("intro\n<!-- plans:begin -->\nold\n<!-- plans:end -->\n")
    monkeypatch.setattr(docs, "DOCUMENT", summary)
    monkeypatch.setattr(docs, "PLANS_DOCUMENT", plans)
    docs.write_section("plans", "### first_page")
    assert plans.read_text() == "intro\n<!-- plans:begin -->\n### first_page\n<!-- plans:end -->\n"
    assert summary.read_text() == "<!-- results:begin -->\nold\n<!-- results:end -->\n"


@pytest.mark.parametrize(
    ("section", "document"),
    [
        ("results", "performance.md"),
        ("soak", "performance.md"),
        ("faults", "performance.md"),
        ("plans", "query-plans.md"),
    ],
)
def test_every_generated_section_has_its_markers_in_its_document(section, document) -> None:
    assert docs.document_for(section).name == document
    text = docs.document_for(section).read_text()
    assert text.count(f"<!-- {section}:begin -->") == text.count(f"<!-- {section}:end -->") == 1
    if section != "plans":  # the summary links the plans instead of holding them
        assert "<!-- plans:begin -->" not in text


def test_gunicorn_workers_freeze_what_loading_the_app_made() -> None:
    import gc
    import runpy

    from bench.infra import ROOT

    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["worker_class"] == "sync"
    frozen = gc.get_freeze_count()
    settings["post_worker_init"](None)
    try:
        assert gc.get_freeze_count() > frozen
    finally:
        gc.unfreeze()


def test_cpu_per_step_walks_the_three_forms_and_delivers_the_mail(
    postgres_cluster, monkeypatch
) -> None:
    import os

    from bench import steps
    from bench.infra import app_env

    url = postgres_cluster.create_database("steps_check")
    with create_app(app_config(url)).app_context():
        upgrade(directory=str(MIGRATIONS))
        seed_categories()
        db.session.remove()
        db.engine.dispose()
    monkeypatch.setattr(os, "environ", dict(os.environ))  # in_process_app configures through it
    measured = steps.measure(app_env(url, 0, 0), walks=2, warmup=1)
    assert set(measured["app"]) == {*steps.STEPS, "mail"}
    assert set(measured["stack_floor"]) == set(measured["floor"]) == set(steps.STEPS)
    assert all(ms > 0 for side in measured.values() for ms in side.values())
    with create_app(app_config(url)).app_context():
        statuses = db.session.execute(sa.text("SELECT status FROM outbound_emails")).scalars()
        assert set(statuses) == {"sent"}
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Inquiry)) == 9
        db.session.remove()
        db.engine.dispose()


def _burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_cpu_share_tells_the_server_from_the_load_generator() -> None:
    import multiprocessing
    import subprocess
    import sys

    from bench.infra import CpuShare

    server = subprocess.Popen([sys.executable, "-c", "import time\nwhile True: time.sleep(1)"])
    try:
        with CpuShare([server.pid]) as idle:
            client = multiprocessing.get_context("fork").Process(target=_burn, args=(0.3,))
            client.start()
            client.join()
        assert idle.spent["clients"] >= 0.25
        assert idle.spent["server"] < 0.1
    finally:
        server.kill()
        server.wait()
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        with CpuShare([busy.pid]) as share:
            time.sleep(1)
        assert (
            share.spent["server"] >= 0.1
        )  # a busy loop gets that much of a second even when shared
        assert share.spent["clients"] < 0.05
        assert share.per(10)["server"] == round(share.spent["server"] * 100, 2)
    finally:
        busy.kill()
        busy.wait()


def test_results_table_compares_the_app_with_both_floors() -> None:
    from bench.infra import ROOT

    results = json.loads((ROOT / "bench" / "results" / "latest.json").read_text())
    table = docs.results_table(results).splitlines()
    assert "| Part | App | Stack floor | Floor |" in table
    assert "| Step | App | Stack floor | Floor |" in table
    cores = next(line for line in table if "cores ÷ throughput" in line)
    expected = round(results["workers"] * 1000 / results["submit"]["floor_rps"], 1)
    assert cores.endswith(f"| {expected} ms |")
    mail = next(line for line in table if line.startswith("| mail |"))
    assert mail.endswith("| — | — |")  # the floors send no mail


def test_results_table_reports_the_account_lists_beside_the_targets() -> None:
    from bench.infra import ROOT

    results = json.loads((ROOT / "bench" / "results" / "latest.json").read_text())
    results["accounts"] = dict.fromkeys(docs.ACCOUNT_PAGES, 12.5)
    results["accounts"]["users_deep_page_p95_ms"] = 150.0
    table = docs.results_table(results).splitlines()
    for key, label in docs.ACCOUNT_PAGES.items():
        if key == "users_deep_page_p95_ms":
            assert f"| {label} | p95 150.0 ms | ≤ 100 ms | ❌ |" in table
        else:
            assert f"| {label} | p95 12.5 ms | ≤ 100 ms | ✅ |" in table


def test_results_table_reports_inbound_mail_against_its_target() -> None:
    from bench.infra import ROOT

    results = json.loads((ROOT / "bench" / "results" / "latest.json").read_text())
    results["inbound"] = {
        "pipe": {"messages": 100, "rate": 1.2, "p95_ms": 2100.0},
        "fetch": {"messages": 2000, "rate": 61.0, "wall_rate": 50.0, "p95_ms": 40.4, "fetchers": 2},
    }
    results["met"]["inbound_fetch"] = True
    table = docs.results_table(results).splitlines()
    assert any(row.startswith("| Reply by mail, piped") and "1.2 /s" in row for row in table)
    fetch = next(row for row in table if row.startswith("| Reply by mail, `mail fetch`"))
    assert "61.0 /s, p95 40.4 ms" in fetch
    assert fetch.endswith("| ≥ 50 /s | ✅ |")


def test_the_import_bench_directory_is_valid_and_its_row_is_reported() -> None:
    import csv
    import io

    from backoffice.eclaims import importer
    from bench import directory_import
    from bench.infra import ROOT

    text = directory_import.directory(50)
    seen: set[str] = set()
    for line, raw in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        row = importer._parse(line, raw, seen)  # raises on a row the import would refuse
        seen.add(row.eclaims_id)
    assert len(seen) == 50
    assert all(i.startswith(directory_import.PREFIX) for i in seen)
    results = json.loads((ROOT / "bench" / "results" / "latest.json").read_text())
    results["import"] = {
        "rows": 2000,
        "workers": 2,
        "first_rows_per_s": 7.1,
        "first_seconds": 281.7,
        "again_rows_per_s": 950.0,
        "again_seconds": 2.1,
    }
    line = next(x for x in docs.results_table(results).splitlines() if "E-claims import" in x)
    assert "first 7.1 rows/s (281.7 s); again, unchanged: 950.0 rows/s (2.1 s)" in line
