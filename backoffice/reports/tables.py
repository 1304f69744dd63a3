"""The reports' tables, each once: the page prints them beside their charts and the CSV writes the
same rows, so the two never disagree."""

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass

from backoffice.inquiries.export import safe_cell
from backoffice.reports import figures
from backoffice.reports.figures import Figures
from backoffice.reports.scope import GRAINS


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    header: list[str]
    rows: list[list[object]]


def volume(source: Figures) -> Table:
    found = figures.volume(source)
    unit = GRAINS[source.scope.grain]
    return Table(
        "volume",
        f"{unit}ごとの受付件数・解決件数・未完了件数",
        [f"{unit}", "受付", "解決", f"未完了（{unit}の終わり）"],
        [list(row) for row in found.rows],
    )


def backlog_age(source: Figures) -> Table:
    return Table(
        "age",
        "現在の未完了のお問い合わせ（受付からの日数）",
        ["受付からの日数", "件数"],
        [list(row) for row in figures.backlog_age(source)],
    )


def _times_cells(d: figures.Durations) -> list[object]:
    return [d.count, d.median, d.p90, d.share_met]


def times(source: Figures) -> Table:
    return Table(
        "times",
        "初回回答・解決にかかった営業日（期間中に回答・解決したもの）",
        [
            "中カテゴリー",
            "初回回答 件数",
            "初回回答 中央値（営業日）",
            "初回回答 90パーセンタイル（営業日）",
            "初回回答 目標達成率",
            "解決 件数",
            "解決 中央値（営業日）",
            "解決 90パーセンタイル（営業日）",
            "解決 目標達成率",
        ],
        [
            [row.name, *_times_cells(row.first_response), *_times_cells(row.resolution)]
            for row in figures.times(source)
        ],
    )


def operators(source: Figures) -> Table:
    return Table(
        "operators",
        "担当者別（期間中）",
        [
            "担当者",
            "担当して解決したお問い合わせ",
            "送った回答（すべての区分）",
            "初回回答 中央値（営業日）",
            "解決 中央値（営業日）",
        ],
        [
            [r.name, r.resolved, r.replies, r.first_response.median, r.resolution.median]
            for r in figures.per_operator(source)
        ],
    )


def channels(source: Figures) -> Table:
    return Table(
        "channels",
        "受付経路（期間中に受け付けたもの）",
        ["受付経路", "件数"],
        [list(row) for row in figures.channels(source)],
    )


TABLES: dict[str, Callable[[Figures], Table]] = {
    "volume": volume,
    "age": backlog_age,
    "times": times,
    "operators": operators,
    "channels": channels,
}


def as_csv(table: Table) -> bytes:
    """UTF-8 with a BOM for Excel, formulas neutralised as in the ticket export."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.header)
    for row in table.rows:
        writer.writerow([safe_cell(v) for v in row])
    return "\ufeff".encode() + buffer.getvalue().encode()
