"""オンボーディング: where offices stall on the way to マイページ, per step of each flow, for a kind,
a prefecture and a period, each count a link to the list of what it counted (directory entries
and requests before registration, organizations after, registrants to re-issue an initial
password); and the list of the funnel's rows itself. 管理者・担当者 also download the CSV."""

from datetime import date
from typing import Any

from flask import Response, abort, request
from flask_admin import BaseView, expose

from backoffice.admin.access import READ, WORK
from backoffice.admin.base import SecuredMixin, SecuredModelView
from backoffice.admin.funnel_filters import progress_filters
from backoffice.db import utcnow
from backoffice.display import format_datetime
from backoffice.onboarding.models import STEPS_BY_KEY
from backoffice.prefectures import PREFECTURES
from backoffice.reports import charts
from backoffice.reports.funnel import Flow, FunnelScope, StepFigure, funnel
from backoffice.reports.tables import Table, as_csv
from forms.funnel import FunnelForm


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def flow_table(flow: Flow) -> Table:
    """The flow's figures as the page prints them and the CSV writes them."""
    rows: list[list[object]] = []
    for figure in in_order(flow):
        rows.append(
            [
                figure.step.label,
                figure.reached,
                figure.at,
                figure.step.stuck,
                figure.conversion,
                figure.days.median if figure is not flow.side else "—",
                figure.days.p90 if figure is not flow.side else "—",
            ]
        )
    return Table(
        flow.key,
        f"{flow.title}の段階ごとの件数",
        [
            "段階",
            "到達",
            "この段階で止まっている",
            "止まっている理由",
            "前の段階からの割合",
            "前の段階からの日数（中央値）",
            "前の段階からの日数（90パーセンタイル）",
        ],
        rows,
    )


def in_order(flow: Flow) -> list[StepFigure]:
    """The steps as the table lists them: the side branch right after the step it comes off."""
    branch = next(i for i, f in enumerate(flow.steps) if f.step.key == flow.after)
    return [*flow.steps[: branch + 1], flow.side, *flow.steps[branch + 1 :]]


class FunnelView(SecuredMixin, BaseView):
    write_roles = WORK  # who may download the CSV

    @expose("/")
    def index(self) -> Any:
        now = utcnow()
        form = FunnelForm(request.args)
        scope = form.scope()
        download = request.args.get("download")
        if download is not None:
            if not self.can_write():
                abort(403)
            if scope is None:
                abort(400)
            found = {f.key: f for f in funnel(scope, now)}
            if download not in found:
                abort(400)
            return self._csv(flow_table(found[download]))
        if scope is None:
            return self.render("admin/reports/funnel.html", form=form, flows=None), 422
        flows = funnel(scope, now)
        return self.render(
            "admin/reports/funnel.html",
            form=form,
            flows=[self._shown(flow, scope) for flow in flows],
            can_download=self.can_write(),
            query={f.name: f.data for f in form if f.data},
        )

    def _shown(self, flow: Flow, scope: FunnelScope) -> dict[str, Any]:
        table, links = flow_table(flow), self._links(flow, scope)
        return {
            "flow": flow,
            "table": table,
            "rows": [
                (figure, cells, links[figure.step.key])
                for figure, cells in zip(in_order(flow), table.rows, strict=True)
            ],
            "chart": charts.funnel(
                f"funnel-{flow.key}",
                f"{flow.title}の段階ごとの到達件数のグラフ（数値は下の表）",
                [f.step.label for f in flow.steps],
                [
                    ("到達", [f.reached for f in flow.steps]),
                    ("この段階で止まっている", [f.at for f in flow.steps]),
                ],
            ),
        }

    def _links(self, flow: Flow, scope: FunnelScope) -> dict[str, dict[str, str]]:
        """For each step: where its reached, its at and its expired counts lead."""
        views = {v.endpoint: v for v in self.admin._views}
        common = {
            "funnel_kind": scope.kind or ("care_all" if flow.key == "care" else "medical"),
            "prefecture": scope.prefecture or None,
            "entered_from": _iso(scope.start),
            "entered_until": _iso(scope.end),
        }
        rows, organizations, users = (
            views["onboarding"],
            views["organizations"],
            views["portal_users"],
        )
        links: dict[str, dict[str, str]] = {}
        figure: StepFigure
        for figure in [*flow.steps, flow.side]:
            key = figure.step.key
            at_view = rows if figure.step.before_registration else organizations
            links[key] = {
                "reached": rows.filter_url(reached=f"{flow.key}:{key}", **common),
                "at": at_view.filter_url(stage=key, **common),
            }
            if figure.expired is not None:
                links[key]["expired"] = users.filter_url(
                    stage=key, registrant="1", expired="1", **common
                )
        return links

    def _csv(self, table: Table) -> Response:
        return Response(
            as_csv(table),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="onboarding-{table.key}.csv"'},
        )


class OnboardingView(SecuredModelView):
    """Every office in the funnel and the step it is at: before registration the directory's entries
    and the ID requests, after it the registered organizations too."""

    roles = READ
    allow_create = False
    allow_edit = False
    column_list = [
        "office_number",
        "name",
        "kind",
        "prefecture",
        "stage",
        "entered_at",
        "organization_id",
    ]
    column_labels = {
        "office_number": "事業所番号・医療機関コード",
        "name": "名称",
        "kind": "種別",
        "prefecture": "都道府県",
        "stage": "段階",
        "entered_at": "オンボーディング開始",
        "organization_id": "登録",
    }
    column_formatters = {
        "kind": lambda v, c, m, n: m.kind.label,
        "prefecture": lambda v, c, m, n: PREFECTURES.get(m.prefecture, "不明"),
        "stage": lambda v, c, m, n: STEPS_BY_KEY[m.stage].label,
        "entered_at": lambda v, c, m, n: format_datetime(m.entered_at),
        "organization_id": lambda v, c, m, n: "登録済み" if m.organization_id else "未登録",
    }
    column_searchable_list = ["office_number", "name"]
    column_sortable_list = ["office_number", "entered_at"]
    column_default_sort = ("entered_at", True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.column_filters = progress_filters()
        super().__init__(*args, **kwargs)
