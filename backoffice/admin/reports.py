"""レポート: what a supervisor opens every morning — volume, backlog, times against the service
targets, per operator and per channel, for a period and a category; each table also as CSV
(管理者・担当者; 閲覧者 read the page only)."""

from typing import Any

import sqlalchemy as sa
from flask import Response, abort, request
from flask_admin import BaseView, expose

from backoffice.admin.access import WORK
from backoffice.admin.base import SecuredMixin
from backoffice.db import utcnow
from backoffice.display import to_jst
from backoffice.extensions import db
from backoffice.inquiries.models import InquiryCategory
from backoffice.reports import charts, tables
from backoffice.reports.figures import Figures
from forms.reports import ReportForm


class ReportView(SecuredMixin, BaseView):
    write_roles = WORK  # who may download the CSV

    @expose("/")
    def index(self) -> Any:
        now = utcnow()
        categories = list(
            db.session.scalars(
                sa.select(InquiryCategory).order_by(
                    InquiryCategory.parent_id.is_not(None),
                    InquiryCategory.position,
                    InquiryCategory.id,
                )
            )
        )
        form = ReportForm(request.args, categories, to_jst(now).date())
        scope = form.scope()
        download = request.args.get("download")
        if download is not None:
            if not self.can_write():
                abort(403)
            if scope is None or download not in tables.TABLES:
                abort(400)
            return self._csv(tables.TABLES[download](Figures(scope, now)), scope)
        if scope is None:
            return self.render("admin/reports/index.html", form=form, scope=None), 422
        source = Figures(scope, now)
        shown = {key: build(source) for key, build in tables.TABLES.items()}
        volume = shown["volume"]
        labels = [str(row[0]) for row in volume.rows]
        return self.render(
            "admin/reports/index.html",
            form=form,
            scope=scope,
            tables=shown,
            can_download=self.can_write(),
            # Only the form's own fields go into the download links (never url_for's keywords).
            query={f.name: f.data for f in form if f.data},
            charts={
                "volume": charts.bars(
                    "volume",
                    "受付件数と解決件数のグラフ（数値は下の表）",
                    labels,
                    [
                        ("受付", [int(r[1]) for r in volume.rows]),
                        ("解決", [int(r[2]) for r in volume.rows]),
                    ],
                ),
                "backlog": charts.line(
                    "backlog",
                    "未完了件数の推移のグラフ（数値は下の表）",
                    labels,
                    [int(r[3]) for r in volume.rows],
                ),
                "age": charts.bars(
                    "age",
                    "未完了のお問い合わせの受付からの日数のグラフ（数値は右の表）",
                    [str(r[0]) for r in shown["age"].rows],
                    [("件数", [int(r[1]) for r in shown["age"].rows])],
                ),
                "channels": charts.bars(
                    "channels",
                    "受付経路のグラフ（数値は右の表）",
                    [str(r[0]) for r in shown["channels"].rows],
                    [("件数", [int(r[1]) for r in shown["channels"].rows])],
                ),
            },
        )

    def _csv(self, table: tables.Table, scope: Any) -> Response:
        name = f"report-{table.key}-{scope.start.isoformat()}-{scope.end.isoformat()}.csv"
        return Response(
            tables.as_csv(table),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
