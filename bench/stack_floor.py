"""The stack floor: the floor (bench/floor.py) written with the product's stack and nothing of the product.

Same URLs, steps and row as the floor, but the form is a Flask-WTF form with the inquiry form's seventeen
fields and two category selects filled from the real category tree, its pages are Jinja templates under a
layout, it is validated at 入力 and again at 送信 (CSRF by Flask-WTF), and the row is inserted through the
ORM. WTForms writes its attributes with the same fast `html_params` as the app (`forms.html.install()`),
so that the two render alike. Still none of the product: no server-side draft, normalisation, Japanese messages, conditional
fields, rate limits, history, counters, outbox or mail. Between the floor and the app it separates what
the stack costs from what the product does:

    gunicorn --workers 2 'bench.stack_floor:create_app()'
"""

import os
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, redirect, render_template, session
from flask_wtf import FlaskForm
from sqlalchemy.orm import DeclarativeBase, Session
from wtforms import BooleanField, EmailField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from backoffice.config import _sqlalchemy_url
from bench.floor import keep_draft, reference_number, row, sent
from forms import html


class InquiryForm(FlaskForm):
    major_category = SelectField("お問い合わせ区分（大カテゴリー）", validate_choice=False)
    category = SelectField("お問い合わせ区分（中カテゴリー）", validate_choice=False)
    name = StringField("氏名", [DataRequired(), Length(max=100)])
    name_kana = StringField("氏名（フリガナ）", [DataRequired(), Length(max=100)])
    organization = StringField("組織名", [Optional(), Length(max=200)])
    email = EmailField("メールアドレス", [DataRequired(), Email(check_deliverability=False)])
    email_confirm = EmailField("メールアドレス（確認）", [DataRequired()])
    phone = StringField("電話番号", [DataRequired(), Length(max=20)])
    medical_code = StringField("医療機関コード", [Optional(), Length(max=10)])
    institution_name = StringField("医療機関名", [Optional(), Length(max=200)])
    institution_kana = StringField("医療機関名（フリガナ）", [Optional(), Length(max=200)])
    postal_code = StringField("郵便番号", [Optional(), Length(max=8)])
    address = StringField("所在地", [Optional(), Length(max=300)])
    department = StringField("部署名", [Optional(), Length(max=100)])
    body = TextAreaField("お問い合わせ内容", [DataRequired(), Length(max=2000)])
    contact_time = StringField("この欄には何も入力しないでください", [Optional()])
    privacy_consent = BooleanField("個人情報の取扱いに同意する", [DataRequired()])


class ConfirmForm(FlaskForm):
    submission_key = HiddenField()


def create_app() -> Flask:
    html.install()
    app = Flask(__name__, template_folder=str(Path(__file__).parent / "templates" / "stack_floor"))
    app.secret_key = os.environ["SECRET_KEY"]
    engine = sa.create_engine(_sqlalchemy_url(os.environ["DATABASE_URL"]), pool_pre_ping=True)
    app.extensions["floor_engine"] = engine
    metadata = sa.MetaData()
    categories = sa.Table("inquiry_categories", metadata, autoload_with=engine)

    class Base(DeclarativeBase):  # one per app: each maps the table it reflected
        pass

    class Inquiry(Base):
        __table__ = sa.Table("inquiries", metadata, autoload_with=engine)

    with engine.connect() as connection:
        tree = connection.execute(
            sa.select(categories.c.id, categories.c.parent_id, categories.c.name).order_by(
                categories.c.position, categories.c.id
            )
        ).all()
    majors = [("", "選択してください")] + [(str(i), n) for i, p, n in tree if p is None]
    minors = [("", "選択してください")] + [(str(i), n) for i, p, n in tree if p is not None]

    def inquiry_form(**kwargs: Any) -> InquiryForm:
        form = InquiryForm(**kwargs)
        form.major_category.choices = majors
        form.category.choices = minors
        return form

    @app.route("/inquiry", methods=["GET", "POST"])
    def form() -> Any:
        form = inquiry_form()
        if not form.validate_on_submit():
            return render_template("input.html", form=form)
        return keep_draft(form.data.items())

    @app.route("/inquiry/confirm", methods=["GET", "POST"])
    def confirm() -> Any:
        draft = session.get("draft")
        # The draft alone (formdata=None): the 送信 POST carries only the key and the token.
        form = (
            None if draft is None else inquiry_form(formdata=None, data=draft, meta={"csrf": False})
        )
        if form is None or not form.validate():
            return redirect("/inquiry")
        confirm = ConfirmForm()
        if not confirm.validate_on_submit():
            return render_template("confirm.html", form=form, confirm=confirm, key=session["key"])
        reference = reference_number()
        with Session(engine) as db, db.begin():
            db.add(Inquiry(**row(draft, reference, session["key"])))
        return sent(reference)

    @app.get("/inquiry/complete")
    def complete() -> str:
        return render_template("complete.html", number=session.get("sent"))

    return app
