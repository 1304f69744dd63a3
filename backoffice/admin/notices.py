"""お知らせ (設定 menu, 管理者 only): the banners on the public and portal pages, with their periods."""

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose

from backoffice.admin.access import MANAGE
from backoffice.admin.base import SecuredMixin
from backoffice.db import utcnow
from backoffice.display import to_jst
from backoffice.extensions import db
from backoffice.notices import operations as notices
from backoffice.notices.models import Notice
from forms.errors import populate_errors
from forms.notices import NoticeForm


def state_of(notice: Notice) -> str:
    now = utcnow()
    if notice.shown_at(now):
        return "掲載中"
    return "掲載予定" if notice.starts_at > now else "掲載終了"


class NoticeView(SecuredMixin, BaseView):
    roles = MANAGE
    write_roles = MANAGE

    @expose("/")
    def index(self) -> Any:
        return self.render("admin/notices/list.html", rows=notices.all_notices(), state_of=state_of)

    @expose("/new", methods=("GET", "POST"))
    def new(self) -> Any:
        form = NoticeForm()
        if request.method == "GET":
            form.on_public.data = form.on_portal.data = True
            form.starts_at.data = to_jst(utcnow()).replace(second=0, microsecond=0, tzinfo=None)
        return self._save(form, None)

    @expose("/<int:notice_id>/", methods=("GET", "POST"))
    def edit(self, notice_id: int) -> Any:
        notice = db.session.get(Notice, notice_id) or abort(404)
        form = NoticeForm(obj=notice) if request.method == "GET" else NoticeForm()
        if request.method == "GET":
            form.starts_at.data = to_jst(notice.starts_at).replace(tzinfo=None)
            form.ends_at.data = (
                to_jst(notice.ends_at).replace(tzinfo=None) if notice.ends_at else None
            )
        return self._save(form, notice)

    def _save(self, form: NoticeForm, notice: Notice | None) -> Any:
        if form.validate_on_submit():
            try:
                if notice is None:
                    saved = notices.publish(form.to_input(), self.actor())
                    flash(f"お知らせ「{saved.title}」を登録しました。", "success")
                else:
                    saved = notices.change(notice.id, form.to_input(), self.actor())
                    flash(f"お知らせ「{saved.title}」を変更しました。", "success")
            except notices.NoSuchNotice:
                abort(404)
            except notices.NoticeRefused as failure:
                populate_errors(form, failure, fallback="title")
            else:
                return redirect(url_for(".index"))
        status = 422 if form.errors else 200
        return self.render("admin/notices/form.html", form=form, notice=notice), status

    @expose("/<int:notice_id>/delete", methods=("POST",))
    def delete(self, notice_id: int) -> Any:
        # CSRFProtect has checked the form's token before the view runs.
        try:
            title = notices.withdraw(notice_id, self.actor())
        except notices.NoSuchNotice:
            abort(404)
        flash(f"お知らせ「{title}」を削除しました。", "success")
        return redirect(url_for(".index"))
