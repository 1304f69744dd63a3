"""The generated parts of docs/performance.md and docs/query-plans.md: each lies between
`<!-- NAME:begin -->` and `<!-- NAME:end -->` and is rewritten by the run that measures it; the prose
around them is written by hand."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.infra import ROOT

DOCUMENT = ROOT / "docs" / "performance.md"
# The query plans run to hundreds of lines, so they have a document of their own.
PLANS_DOCUMENT = ROOT / "docs" / "query-plans.md"
PLANS_SECTION = "plans"


def document_for(name: str) -> Path:
    """The document that holds the generated section `name`."""
    return PLANS_DOCUMENT if name == PLANS_SECTION else DOCUMENT


def write_section(name: str, content: str) -> None:
    """Replace the text between the section's markers in its document. Raises SystemExit when the
    document has no such markers."""
    document = document_for(name)
    text = document.read_text()
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    if begin not in text or end not in text:
        raise SystemExit(f"{document} has no {begin} … {end} section")
    head, rest = text.split(begin, 1)
    _old, tail = rest.split(end, 1)
    document.write_text(f"{head}{begin}\n{content.strip()}\n{end}{tail}")


LIST_PAGES = {
    "first_page_p95_ms": "first page",
    "filtered_p95_ms": "status + 中カテゴリー",
    "filtered_broad_p95_ms": "the commonest status alone",
    "filtered_assignee_p95_ms": "one operator's tickets (担当者)",
    "filtered_unanswered_p95_ms": "未回答 (linked from the dashboard)",
    "filtered_replied_p95_ms": "依頼者から返信あり (linked from the dashboard)",
    "search_number_p95_ms": "search by 受付番号",
    "search_text_p95_ms": "search by full name",
    "search_surname_p95_ms": "search by the commonest surname alone",
    "search_email_p95_ms": "search by email",
    "search_body_p95_ms": "search by a word of the body (「ワンタイム」)",
    "search_number_part_p95_ms": "search by part of a 受付番号 (four characters)",
    "search_short_p95_ms": "search by two characters of a name (「内科」)",
    "deep_page_p95_ms": "page 1,000",
    "queue_mine_p95_ms": "queue 自分の担当 (the benchmark's operator)",
    "queue_unassigned_p95_ms": "queue 未割り当て",
    "queue_due_soon_p95_ms": "queue 期限が近い",
    "queue_overdue_p95_ms": "queue 期限切れ",
    "queue_requests_p95_ms": "queue ID発行申請",
    "filtered_target_p95_ms": "目標超過 (missed or running late)",
    "filtered_target_running_p95_ms": "目標超過, running late only",
}

REPORT_PAGES = {
    "report_default_p95_ms": "レポート, the last 30 days by day (the default)",
    "report_quarter_p95_ms": "レポート, 13 weeks by week",
    "report_year_p95_ms": "レポート, a year by month",
    "report_category_p95_ms": "レポート, a year by month, one 大カテゴリー",
    "report_funnel_default_p95_ms": "オンボーディング, every office",
    "report_funnel_prefecture_p95_ms": "オンボーディング, 介護事業所・みなし in 東京都",
    "report_funnel_quarter_p95_ms": "オンボーディング, offices that came in the last 90 days",
    "report_funnel_entries_p95_ms": "オンボーディング → the directory entries stopped at ※3",
    "report_funnel_organizations_p95_ms": "オンボーディング → 東京都's organizations at ユーザを追加",
}


ACCOUNT_PAGES = {
    "users_first_page_p95_ms": "Portal users, first page",
    "users_deep_page_p95_ms": "Portal users, page 1,000",
    "organizations_first_page_p95_ms": "Organizations, first page",
    "organizations_deep_page_p95_ms": "Organizations, page 1,000",
    "users_email_p95_ms": "Portal users, search by a whole email (ID)",
    "users_name_p95_ms": "Portal users, search by full name",
    "users_surname_p95_ms": "Portal users, search by the commonest surname alone",
    "organizations_number_p95_ms": "Organizations, search by 事業所番号・医療機関コード",
    "organizations_name_p95_ms": "Organizations, search by the start of a name",
    "organizations_short_p95_ms": "Organizations, search by two characters (「訪問」, anywhere)",
}


def _mark(ok: bool) -> str:
    return "✅" if ok else "❌"


CPU_SIDES = (("App", "app"), ("Stack floor", "stack_floor"), ("Floor", "floor"))
MACHINE_PARTS = {
    "server": "gunicorn (master and workers; the app's mail-sending thread included)",
    "postgresql": "PostgreSQL",
    "clients": "load generator",
    "smtp": "benchmark process (its SMTP server)",
}


def _by_side(
    first: str, sides: dict[str, Any], rows: list[tuple[str, Callable[[str, Any], float | None]]]
) -> list[str]:
    """A Markdown table with a column for each of CPU_SIDES present in `sides` and a row for each
    (label, value(side's key, side)), in milliseconds; a missing value is a dash."""
    present = [(name, key) for name, key in CPU_SIDES if key in sides]
    return [
        f"| {first} | " + " | ".join(name for name, _ in present) + " |",
        "|---" * (len(present) + 1) + "|",
        *(
            f"| {label} | "
            + " | ".join(
                "—" if (v := value(key, sides[key])) is None else f"{v} ms" for _, key in present
            )
            + " |"
            for label, value in rows
        ),
    ]


def results_table(r: dict[str, Any]) -> str:
    s, lists, csv, login, m = r["submit"], r["list"], r["csv"], r["login"], r["machine"]
    limit = r["targets"]["list_p95_ms"]
    rows = [
        (
            "Inquiry form sent (GET, 確認, 送信, 完了)",
            f"{s['rps']} /s, p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms",
            (
                f"≥ 0.5 × stack floor ({s['stack_floor_rps']} /s): {s['ratio_to_stack_floor']} ×"
                if "ratio_to_stack_floor" in s
                else f"≥ 0.5 × floor ({s['floor_rps']} /s): {s['ratio']} ×"
            ),
            r["met"]["submit"],
        ),
        *(
            row
            for shot in ([r["screenshot"]] if "screenshot" in r else [])
            for row in (
                (
                    f"Inquiry form sent with a {shot['bytes'] / 1_000_000:.1f} MB screenshot",
                    f"{shot['rps']} /s, p50 {shot['p50_ms']} ms, p95 {shot['p95_ms']} ms "
                    f"(入力 with the file: p95 {shot['input_p95_ms']} ms)",
                    f"reported beside the plain form's {s['rps']} /s, p95 {s['p95_ms']} ms",
                    None,
                ),
                (
                    f"{shot['uploaders']} requesters uploading at once",
                    f"worker peak {shot['peak_rss_mb']} MB (before {shot['rss_before_mb']} MB), "
                    f"p95 {shot['uploaders_p95_ms']} ms",
                    "reported",
                    None,
                ),
            )
        ),
        *(
            (
                "Status-page reply (GET, 送信, GET)",
                f"{reply['rps']} /s, p50 {reply['p50_ms']} ms, p95 {reply['p95_ms']} ms",
                f"reported beside the form's {s['rps']} /s",
                None,
            )
            for reply in ([r["status_reply"]] if "status_reply" in r else [])
        ),
        *(
            (f"Ticket list, {label}", f"p95 {lists[key]} ms", f"≤ {limit} ms", lists[key] <= limit)
            for key, label in LIST_PAGES.items()
            if key in lists  # a results file from before the row existed
        ),
        (
            "Dashboard",
            f"p95 {r['dashboard_p95_ms']} ms",
            f"≤ {r['targets']['dashboard_p95_ms']} ms",
            r["met"]["dashboard"],
        ),
        *(
            [
                (
                    "Ticket page with the facts panel",
                    f"p95 {r['ticket_page_p95_ms']} ms",
                    "reported",
                    None,
                )
            ]
            if "ticket_page_p95_ms" in r
            else []
        ),
        *(
            (
                label,
                f"p95 {r['reports'][key]} ms",
                f"≤ {r['targets']['report_p95_ms']} ms",
                r["reports"][key] <= r["targets"]["report_p95_ms"],
            )
            for key, label in REPORT_PAGES.items()
            if key in r.get("reports", {})
        ),
        *(
            (
                label,
                f"p95 {r['accounts'][key]} ms",
                f"≤ {r['targets']['account_p95_ms']} ms"
                if "account_p95_ms" in r["targets"]
                else "reported",
                r["accounts"][key] <= r["targets"]["account_p95_ms"]
                if "account_p95_ms" in r["targets"]
                else None,
            )
            for key, label in ACCOUNT_PAGES.items()
            if key in r.get("accounts", {})
        ),
        (
            "CSV export of every ticket",
            f"{csv['rows']:,} rows in {csv['seconds']} s, worker peak {csv['peak_rss_mb']} MB",
            f"peak ≤ {r['targets']['csv_peak_rss_mb']} MB",
            r["met"]["csv"],
        ),
        *(
            (
                f"E-claims import of {imp['rows']:,} rows ({imp['workers']} hashing threads)",
                f"first {imp['first_rows_per_s']} rows/s ({imp['first_seconds']} s); again, unchanged: "
                f"{imp['again_rows_per_s']} rows/s ({imp['again_seconds']} s)",
                "reported",
                None,
            )
            for imp in ([r["import"]] if "import" in r else [])
        ),
        *(
            row
            for mail in ([r["inbound"]] if "inbound" in r else [])
            for row in (
                (
                    "Reply by mail, piped by the MTA (one `mail receive` process each)",
                    f"{mail['pipe']['rate']} /s, p95 {mail['pipe']['p95_ms']} ms per message",
                    "reported",
                    None,
                ),
                (
                    f"Reply by mail, `mail fetch` from Dovecot ({mail['fetch']['fetchers']} fetchers)",
                    f"{mail['fetch']['rate']} /s, p95 {mail['fetch']['p95_ms']} ms per message",
                    f"≥ {r['targets'].get('inbound_fetch_per_s', 50)} /s",
                    r["met"].get("inbound_fetch"),
                ),
            )
        ),
        (
            "Login + one-time password (the two POSTs less one argon2 verification)",
            f"server p50 {login['server_ms']} ms"
            + (f", p95 {login['server_p95_ms']} ms" if "server_p95_ms" in login else "")
            + f" + hashing {login['hash_ms']} ms",
            f"≤ {r['targets']['login_server_ms']} ms"
            if "login_server_ms" in r["targets"]
            else "reported",
            r["met"].get("login"),
        ),
        (
            "Worker memory after the run",
            ", ".join(f"{v} MB" for v in r["worker_rss_mb"]),
            "reported",
            None,
        ),
    ]
    lines = [
        f"Measured {r['date']} on {m['cpus']} × {m['cpu']}, {m['memory_gib']} GiB, Python {m['python']}, "
        f"PostgreSQL {m['postgresql'] // 10000}, {r['workers']} gunicorn workers, "
        f"{r['tickets']:,} tickets (`bench/results/latest.json`).",
        "",
        "| What | Measured | Target | Met |",
        "|---|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} | {'' if ok is None else _mark(ok)} |" for a, b, c, ok in rows]
    steps = ", ".join(f"{k} {v} ms" for k, v in s["steps_p95_ms"].items())
    lines += [
        "",
        f"Inquiry steps, p95: {steps}. Floor: p50 {s['floor_p50_ms']} ms, p95 {s['floor_p95_ms']} ms.",
    ]
    if "stack_floor_rps" in s:
        lines += [
            "",
            f"Stack floor (`bench/stack_floor.py`, the floor written with Flask-WTF, Jinja and the ORM): "
            f"{s['stack_floor_rps']} /s, {s['stack_floor_ratio']} × the floor; p50 "
            f"{s['stack_floor_p50_ms']} ms, p95 {s['stack_floor_p95_ms']} ms.",
        ]
    shares = {k: s.get("machine_ms" if k == "app" else f"{k}_machine_ms") for _, k in CPU_SIDES}
    if all(shares.values()):
        rates = {"app": s["rps"], "stack_floor": s["stack_floor_rps"], "floor": s["floor_rps"]}
        parts = [(label, lambda _k, v, p=part: v[p]) for part, label in MACHINE_PARTS.items()]
        parts += [
            ("all", lambda _k, v: round(sum(v.values()), 1)),
            (
                f"{r['workers']} cores ÷ throughput",
                lambda k, _v: round(r["workers"] * 1000 / rates[k], 1),
            ),
        ]
        lines += [
            "",
            "Machine time of one submission under that load (CPU ms per submission, by process):",
            "",
            *_by_side("Part", shares, parts),
        ]
    if cpu := s.get("cpu_ms"):
        per_step = [(step, lambda _k, v, step=step: v.get(step)) for step in cpu["app"]]
        per_step += [
            (
                "all but the mail",
                lambda _k, v: round(sum(x for k, x in v.items() if k != "mail"), 1),
            ),
            ("all", lambda _k, v: round(sum(v.values()), 1)),
        ]
        lines += [
            "",
            "CPU time of one submission, step by step (median, one process, `bench/steps.py`):",
            "",
            *_by_side("Step", cpu, per_step),
        ]
    return "\n".join(lines)
