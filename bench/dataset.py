"""National-scale data for the benchmark, bulk-loaded with COPY (never one ORM insert at a time).

`load(app, tickets)` fills an empty, migrated PostgreSQL database with:
- the real category tree (`flask categories seed`), 20 operators and one published 利用規約;
- `tickets` inquiries over the last two years across every 中カテゴリー, with a mix of statuses that ages
  like a help desk's (recent tickets open, old ones closed), their histories (created, status changes,
  public replies, notes) and, for the 「介護情報基盤ポータルのID発行申請」 share, the institution's details;
- 200,000 organizations (介護事業所, みなし, 医療機関) with three portal users each (600,000 users), who
  have finished their first login and share one password (hashing 600,000 passwords would take hours);
  their 事業所番号・医療機関コード start with one of the 47 prefectures' codes;
- the onboarding funnel: a row for each organization at the end of its flow, with the times of its
  steps, and 60,000 more offices stalled on the way (directory entries that never started, stopped at
  ※3 or at the one-time password, and ID requests waiting or rejected).

Secondary indexes and constraints are dropped during the load and rebuilt afterwards (much faster than
maintaining them row by row), then the tables are vacuumed and analysed, as after a real import.
"""

import hashlib
import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from types import SimpleNamespace
from typing import Any

import psycopg
import sqlalchemy as sa
from flask import Flask

from backoffice.accounts import search_index as accounts_search_index
from backoffice.accounts.models import TermsVersion
from backoffice.business_days import business_minutes, day_minutes, desk_hours, late_from, on_time
from backoffice.extensions import db
from backoffice.inquiries import counts, targets
from backoffice.inquiries.categories import seed_categories
from backoffice.inquiries.models import InquiryCategory
from backoffice.inquiries.operations import REFERENCE_ALPHABET
from backoffice.inquiries.search_index import rebuild_grams
from backoffice.inquiries.vocabulary import CategoryKind, InquiryStatus
from backoffice.onboarding import counts as onboarding_counts
from backoffice.onboarding import progress
from backoffice.onboarding.models import OnboardingProgress
from backoffice.operators.models import Operator, Role
from backoffice.passwords import hash_password
from backoffice.reports import summary
from bench import funnel_data

ORGANIZATIONS = 200_000
USERS_PER_ORGANIZATION = 3
OPERATORS = 20
PORTAL_PASSWORD = "bench-portal-pass-2026"
OPERATOR_PASSWORD = "bench-operator-pass-2026"
BENCH_OPERATOR = "bench-admin@kaigo-portal.example.jp"

SURNAMES = [
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "佐々木",
    "山口",
    "松本",
    "井上",
    "木村",
    "林",
    "斎藤",
    "清水",
    "山崎",
    "森",
    "池田",
    "橋本",
    "阿部",
    "石川",
    "山下",
    "中島",
    "石井",
    "小川",
    "前田",
    "岡田",
    "長谷川",
    "藤田",
    "後藤",
    "近藤",
    "村上",
    "遠藤",
    "青木",
    "坂本",
]
SURNAMES_KANA = [
    "サトウ",
    "スズキ",
    "タカハシ",
    "タナカ",
    "イトウ",
    "ワタナベ",
    "ヤマモト",
    "ナカムラ",
    "コバヤシ",
    "カトウ",
    "ヨシダ",
    "ヤマダ",
    "ササキ",
    "ヤマグチ",
    "マツモト",
    "イノウエ",
    "キムラ",
    "ハヤシ",
    "サイトウ",
    "シミズ",
    "ヤマザキ",
    "モリ",
    "イケダ",
    "ハシモト",
    "アベ",
    "イシカワ",
    "ヤマシタ",
    "ナカジマ",
    "イシイ",
    "オガワ",
    "マエダ",
    "オカダ",
    "ハセガワ",
    "フジタ",
    "ゴトウ",
    "コンドウ",
    "ムラカミ",
    "エンドウ",
    "アオキ",
    "サカモト",
]
GIVEN = [
    "太郎",
    "花子",
    "一郎",
    "陽子",
    "健太",
    "美咲",
    "大輔",
    "由美",
    "翔太",
    "恵子",
    "誠",
    "直子",
    "拓也",
    "裕子",
    "亮",
    "智子",
    "和也",
    "真理",
    "浩",
    "愛",
]
GIVEN_KANA = [
    "タロウ",
    "ハナコ",
    "イチロウ",
    "ヨウコ",
    "ケンタ",
    "ミサキ",
    "ダイスケ",
    "ユミ",
    "ショウタ",
    "ケイコ",
    "マコト",
    "ナオコ",
    "タクヤ",
    "ユウコ",
    "リョウ",
    "トモコ",
    "カズヤ",
    "マリ",
    "ヒロシ",
    "アイ",
]
PLACES = [
    "ひまわり",
    "さくら",
    "あおば",
    "みどり",
    "つばさ",
    "ひかり",
    "こもれび",
    "やすらぎ",
    "はなみずき",
    "すずらん",
    "かえで",
    "わかば",
]
OFFICE_KINDS = [
    "デイサービス",
    "訪問介護ステーション",
    "介護老人保健施設",
    "グループホーム",
    "居宅介護支援事業所",
    "訪問看護ステーション",
]
CLINIC_KINDS = ["内科クリニック", "病院", "診療所", "医院"]
PREFECTURES = [
    "北海道",
    "青森県",
    "宮城県",
    "東京都",
    "神奈川県",
    "愛知県",
    "大阪府",
    "兵庫県",
    "広島県",
    "福岡県",
    "熊本県",
    "沖縄県",
]
BODIES = [
    "ログイン画面でパスワードを入力してもエラーになります。",
    "ワンタイムパスワードのメールが届きません。迷惑メールフォルダも確認しました。",
    "利用者の追加方法を教えてください。担当者が異動したため、登録内容を変更したいです。",
    "電子請求受付システムのIDとパスワードで初回利用登録ができません。",
    "セキュリティコードの入力を求められましたが、どこで確認できますか。",
    "マイページの事業所情報が古いままです。修正をお願いします。",
    "操作マニュアルの最新版はどこから入手できますか。",
    "初期パスワードの有効期限が切れてしまいました。再発行をお願いします。",
]
# Every answered ticket's first public reply (and so its messages_text).
REPLY = "お問い合わせありがとうございます。"
# Status mix by age: open tickets are recent, older ones are closed (weights add up to 100).
RECENT_MIX = {
    "new": 30,
    "in_progress": 25,
    "answered": 10,
    "waiting": 10,
    "on_hold": 10,
    "resolved": 10,
    "spam": 5,
}
OLD_MIX = {"closed": 70, "resolved": 20, "rejected": 5, "spam": 5}
RECENT_DAYS = 30
SPAN_DAYS = 730


def load(app: Flask, tickets: int, log: Callable[[str], None] = print) -> None:
    """Fill the (migrated, empty) database behind `app` with the benchmark's data."""
    started = time.monotonic()
    with app.app_context():
        seed_categories()
        minors = db.session.scalars(
            sa.select(InquiryCategory).where(InquiryCategory.parent_id.is_not(None))
        ).all()
        operator_hash = hash_password(OPERATOR_PASSWORD)
        operators = [
            Operator(
                email=BENCH_OPERATOR if i == 0 else f"agent{i:02d}@kaigo-portal.example.jp",
                name=f"{SURNAMES[i]} {GIVEN[i]}",
                role=Role.ADMIN if i == 0 else Role.AGENT,
                password_hash=operator_hash,
                totp_secret="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
                if i == 0
                else f"{'A' * 31}{i % 8 + 2}",
                totp_confirmed_at=datetime.now(UTC),
            )
            for i in range(OPERATORS)
        ]
        db.session.add_all(operators)
        terms = TermsVersion(
            version="2026.1",
            title="介護情報基盤ポータル利用規約",
            body="第1条（目的）この規約は、介護情報基盤ポータルの利用について定めます。",
            published_at=datetime.now(UTC) - timedelta(days=400),
        )
        db.session.add(terms)
        db.session.commit()
        request_category = next(c.id for c in minors if c.kind is CategoryKind.ACCOUNT_REQUEST)
        general = [c.id for c in minors if c.kind is not CategoryKind.ACCOUNT_REQUEST]
        operator_ids = [o.id for o in operators]
        terms_id = terms.id
        hours = desk_hours()
        target_days = {
            c.id: (c.first_response_business_days, c.target_business_days) for c in minors
        }
        url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        portal_hash = hash_password(PORTAL_PASSWORD)

    tables = [
        "inquiries",
        "inquiry_events",
        "inquiry_account_requests",
        "inquiry_grams",
        "organizations",
        "portal_users",
        "organization_grams",
        "portal_user_grams",
        "onboarding_progress",
    ]
    with psycopg.connect(url, autocommit=True) as conn:
        rebuild = _drop_secondary(conn, tables)
        log(f"dropped {len(rebuild)} secondary indexes and constraints")
        rng = random.Random(2026)
        inquiries_gen = _Inquiries(
            rng, tickets, request_category, general, operator_ids, hours, target_days
        )
        _copy(conn, "inquiries", inquiries_gen.COLUMNS, inquiries_gen.rows(), log)
        _copy(conn, "inquiry_events", _Inquiries.EVENT_COLUMNS, iter(inquiries_gen.events), log)
        _copy(
            conn,
            "inquiry_account_requests",
            _Inquiries.REQUEST_COLUMNS,
            iter(inquiries_gen.requests),
            log,
        )
        inquiries_gen.events.clear()
        inquiries_gen.requests.clear()
        grams_started = time.monotonic()
        with app.app_context(), db.engine.begin() as connection:
            rebuild_grams(connection)
        log(f"inquiry_grams in {time.monotonic() - grams_started:.0f} s")
        _copy(conn, "organizations", ORG_COLUMNS, _organizations(rng), log)
        _copy(conn, "portal_users", USER_COLUMNS, _users(rng, portal_hash, terms_id), log)
        grams_started = time.monotonic()
        with app.app_context(), db.engine.begin() as connection:
            accounts_search_index.rebuild(connection)
        log(f"organization and user grams in {time.monotonic() - grams_started:.0f} s")
        _copy(conn, "onboarding_progress", funnel_data.COLUMNS, funnel_data.rows(rng, _ORGS), log)
        with app.app_context():
            # Each row's stage and waits, as the app keeps them (backoffice.onboarding.progress).
            db.session.execute(sa.update(OnboardingProgress).values(**progress.derived()))
            onboarding_counts.rebuild()
            db.session.commit()
        for table in tables:
            # Keyed by their inquiry: no sequence of their own.
            if not table.endswith("_grams") and table != "inquiry_account_requests":
                conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )
        index_started = time.monotonic()
        conn.execute("SET maintenance_work_mem = '512MB'")
        for statement in rebuild:
            conn.execute(statement)
        log(f"rebuilt indexes and constraints in {time.monotonic() - index_started:.0f} s")
        for table in tables:
            conn.execute(f"VACUUM (ANALYZE) {table}")
    recount(app)
    log(f"loaded in {time.monotonic() - started:.0f} s")


def recount(app: Flask) -> None:
    """COPY and plain DELETEs bypass the ORM hooks that keep the per-status counters and the
    reports' daily summary."""
    with app.app_context(), db.engine.begin() as connection:
        counts.recount(connection)
    with app.app_context():
        summary.rebuild()


def _drop_secondary(conn: psycopg.Connection, tables: list[str]) -> list[str]:
    """Drop every index and constraint on `tables` but primary keys and checks; return how to
    rebuild them (constraints first, so foreign keys find their unique keys)."""
    constraints = conn.execute(
        """
        SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype
        FROM pg_constraint c
        WHERE c.conrelid::regclass::text = ANY(%s) AND c.contype IN ('u', 'f')
        ORDER BY c.contype DESC
        """,
        (tables,),
    ).fetchall()
    indexes = conn.execute(
        """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        WHERE i.indrelid::regclass::text = ANY(%s) AND NOT i.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        """,
        (tables,),
    ).fetchall()
    # Foreign keys first: a unique constraint cannot go while a foreign key depends on it.
    for table, name, _definition, _kind in sorted(constraints, key=lambda c: c[3] != "f"):
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _definition in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    rebuild = [
        f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d, k in constraints if k == "u"
    ]
    rebuild += [definition for _name, definition in indexes]
    rebuild += [
        f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, d, k in constraints if k == "f"
    ]
    return rebuild


def _copy(
    conn: psycopg.Connection,
    table: str,
    columns: tuple[str, ...],
    rows: Iterator[tuple[Any, ...]],
    log: Callable[[str], None],
) -> None:
    started = time.monotonic()
    count = 0
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    log(f"{table}: {count:,} rows in {time.monotonic() - started:.0f} s")


def _person(rng: random.Random) -> tuple[str, str]:
    s, g = rng.randrange(len(SURNAMES)), rng.randrange(len(GIVEN))
    return f"{SURNAMES[s]} {GIVEN[g]}", f"{SURNAMES_KANA[s]} {GIVEN_KANA[g]}"


def reference_number(i: int) -> str:
    """The i-th ticket's 受付番号: a bijection of i onto 8 characters of the real alphabet."""
    base = len(REFERENCE_ALPHABET)
    n = (i * 1_000_003 + 7_919) % base**8
    chars = []
    for _ in range(8):
        n, digit = divmod(n, base)
        chars.append(REFERENCE_ALPHABET[digit])
    return f"{''.join(chars[:4])}-{''.join(chars[4:])}"


def inquiry_email(i: int) -> str:
    return f"staff{i}@office{i % 9973}.example.jp"


_TARGET_COLUMNS = targets.MEASURES


def _targets(
    hours: tuple[dt_time, dt_time],
    status: str,
    target_days: tuple[int, int],
    created: datetime,
    first_response: datetime | None,
    resolved: datetime | None,
) -> tuple[Any, ...]:
    """The service-target columns, as backoffice.inquiries.targets keeps them (no waits recorded)."""
    length = day_minutes(hours)
    at = {
        n: v and v.replace(tzinfo=UTC)
        for n, v in (("c", created), ("f", first_response), ("r", resolved))
    }
    first_due = late_from(at["c"], target_days[0] * length, hours)
    resolution_due = late_from(at["c"], target_days[1] * length, hours)
    ticket = SimpleNamespace(
        status=InquiryStatus(status),
        first_response_at=at["f"],
        resolved_at=at["r"],
        first_response_due_at=first_due,
        resolution_due_at=resolution_due,
        first_response_minutes=at["f"] and business_minutes(at["c"], at["f"], hours),
        resolution_minutes=at["r"] and business_minutes(at["c"], at["r"], hours),
        first_response_met=at["f"] and on_time(at["f"], first_due),
        resolution_met=at["r"] and on_time(at["r"], resolution_due),
        waited_minutes=0,
    )
    targets.settle(ticket)
    return tuple(
        value.replace(tzinfo=None) if isinstance(value, datetime) else value
        for value in (getattr(ticket, name) for name in _TARGET_COLUMNS)
    )


class _Inquiries:
    COLUMNS = (
        "id",
        "reference_number",
        "submission_key",
        "status_token_hash",
        "category_id",
        "status",
        "requester_name",
        "requester_kana",
        "organization_name",
        "email",
        "phone",
        "body",
        "messages_text",
        "priority",
        "assignee_id",
        "due_on",
        "created_at",
        "updated_at",
        "first_response_at",
        "resolved_at",
        "requester_replied_at",
        "waiting_since",
        "version",
        *_TARGET_COLUMNS,
    )
    EVENT_COLUMNS = (
        "inquiry_id",
        "kind",
        "actor",
        "operator_id",
        "old_value",
        "new_value",
        "body",
        "created_at",
    )
    REQUEST_COLUMNS = (
        "inquiry_id",
        "medical_code",
        "medical_code_check_ok",
        "institution_name",
        "institution_kana",
        "postal_code",
        "address",
        "department",
    )

    def __init__(
        self,
        rng: random.Random,
        count: int,
        request_category: int,
        general: list[int],
        operator_ids: list[int],
        hours: tuple[dt_time, dt_time],
        target_days: dict[int, tuple[int, int]],
    ) -> None:
        self.rng, self.count = rng, count
        self.hours, self.target_days = hours, target_days
        self.request_category, self.general, self.operator_ids = (
            request_category,
            general,
            operator_ids,
        )
        self.events: list[tuple[Any, ...]] = []
        self.requests: list[tuple[Any, ...]] = []

    def rows(self) -> Iterator[tuple[Any, ...]]:
        rng = self.rng
        now = datetime.now(UTC).replace(tzinfo=None)
        recent = list(RECENT_MIX), list(RECENT_MIX.values())
        old = list(OLD_MIX), list(OLD_MIX.values())
        for i in range(1, self.count + 1):
            # Oldest first, so ids grow with time as in a live system.
            created = now - timedelta(seconds=SPAN_DAYS * 86400 * (1 - i / self.count) + 60)
            is_recent = (now - created).days < RECENT_DAYS
            statuses, weights = recent if is_recent else old
            status = rng.choices(statuses, weights)[0]
            is_request = rng.random() < 0.15
            category = self.request_category if is_request else rng.choice(self.general)
            name, kana = _person(rng)
            place = rng.choice(PLACES)
            organization = (
                f"{place}{rng.choice(CLINIC_KINDS)}"
                if is_request
                else f"{place}{rng.choice(OFFICE_KINDS)}"
            )
            answered = status not in ("new", "spam")
            first_response = created + timedelta(hours=rng.randint(1, 72)) if answered else None
            resolved = (
                first_response + timedelta(days=rng.randint(0, 5))
                if status in ("resolved", "closed", "rejected")
                else None
            )
            assignee = rng.choice(self.operator_ids) if status != "new" else None
            # A third of the tickets at work have an answer from the requester not yet replied to.
            replied = (
                first_response + timedelta(hours=rng.randint(1, 48))
                if status == "in_progress" and first_response and rng.random() < 0.33
                else None
            )
            # The sweep's clock runs for tickets asked about, and for recently resolved ones.
            waiting = (
                first_response
                if status == "waiting" or (is_recent and status == "resolved")
                else None
            )
            updated = resolved or first_response or created
            body = "" if is_request else rng.choice(BODIES) * rng.randint(1, 3)
            yield (
                i,
                reference_number(i),
                hashlib.sha256(b"s%d" % i).hexdigest(),
                hashlib.sha256(b"t%d" % i).hexdigest(),
                category,
                status,
                name,
                kana,
                organization,
                inquiry_email(i),
                f"0{rng.randint(100000000, 999999999)}",
                body,
                f"\n{REPLY}" if answered else "",
                rng.choices(["low", "normal", "high", "urgent"], [10, 75, 12, 3])[0],
                assignee,
                (created + timedelta(days=7)).date(),
                created,
                updated,
                first_response,
                resolved,
                replied,
                waiting,
                1,
                *_targets(
                    self.hours,
                    status,
                    self.target_days[category],
                    created,
                    first_response,
                    resolved,
                ),
            )
            self._history(i, status, created, first_response, resolved, assignee)
            if is_request:
                self.requests.append(
                    (
                        i,
                        f"{rng.randint(1, 47):02d}1{rng.randint(0, 9999999):07d}",
                        rng.random() > 0.05,
                        organization,
                        "イリョウキカン",
                        f"{rng.randint(100, 999)}-{rng.randint(0, 9999):04d}",
                        f"{rng.choice(PREFECTURES)}中央区本町{rng.randint(1, 9)}-{rng.randint(1, 30)}",
                        "事務部",
                    )
                )

    def _history(
        self,
        i: int,
        status: str,
        created: datetime,
        first_response: datetime | None,
        resolved: datetime | None,
        assignee: int | None,
    ) -> None:
        """Its history; what the ticket's 担当者 did is theirs (the reports count replies per operator)."""
        events = self.events
        events.append((i, "created", "依頼者", None, None, "new", None, created))
        if first_response is None:
            if status == "spam":
                events.append(
                    (i, "status_changed", "担当者", assignee, "new", "spam", None, created)
                )
            return
        events.append(
            (i, "status_changed", "担当者", assignee, "new", "in_progress", None, first_response)
        )
        events.append((i, "public_reply", "担当者", assignee, None, None, REPLY, first_response))
        if resolved is not None:
            events.append(
                (i, "status_changed", "担当者", assignee, "in_progress", status, None, resolved)
            )


ORG_COLUMNS = (
    "id",
    "kind",
    "name",
    "name_kana",
    "office_number",
    "eclaims_id",
    "postal_code",
    "address",
    "is_active",
    "users_version",
    "created_at",
)
USER_COLUMNS = (
    "id",
    "organization_id",
    "email",
    "name",
    "name_kana",
    "phone",
    "department",
    "is_registrant",
    "password_hash",
    "must_change_password",
    "password_changed_at",
    "terms_version_id",
    "terms_accepted_at",
    "failed_attempts",
    "is_active",
    "created_at",
    "first_login_at",
    "last_login_at",
)


# Each organization's kind and number, kept for its funnel row.
_ORGS: list[tuple[str, str, datetime]] = []


def _organizations(rng: random.Random) -> Iterator[tuple[Any, ...]]:
    now = datetime.now(UTC).replace(tzinfo=None)
    _ORGS.clear()
    for i in range(1, ORGANIZATIONS + 1):
        kind = rng.choices(["care", "deemed", "medical"], [70, 10, 20])[0]
        place = rng.choice(PLACES)
        name = f"{place}{rng.choice(CLINIC_KINDS if kind == 'medical' else OFFICE_KINDS)}{i}"
        number = funnel_data.office_number(rng, i)
        created = now - timedelta(days=rng.randint(1, 400))
        _ORGS.append((kind, number, created))
        yield (
            i,
            kind,
            name,
            None,
            number,
            None if kind == "medical" else f"KJ{i:012d}",
            f"{rng.randint(100, 999)}-{rng.randint(0, 9999):04d}",
            f"{rng.choice(PREFECTURES)}中央区本町{rng.randint(1, 9)}",
            True,
            0,
            created,
        )


def portal_email(user_id: int) -> str:
    return f"user{user_id}@org{(user_id - 1) // USERS_PER_ORGANIZATION + 1}.example.jp"


def _users(rng: random.Random, password_hash: str, terms_id: int) -> Iterator[tuple[Any, ...]]:
    now = datetime.now(UTC).replace(tzinfo=None)
    user_id = 0
    for org in range(1, ORGANIZATIONS + 1):
        for n in range(USERS_PER_ORGANIZATION):
            user_id += 1
            name, kana = _person(rng)
            since = now - timedelta(days=rng.randint(1, 300))
            yield (
                user_id,
                org,
                portal_email(user_id),
                name,
                kana,
                f"0{rng.randint(100000000, 999999999)}",
                None,
                n == 0,
                password_hash,
                False,
                since,
                terms_id,
                since,
                0,
                True,
                since,
                since,
                since,
            )
