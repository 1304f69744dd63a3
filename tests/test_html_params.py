"""forms.html.html_params gives exactly what WTForms' own html_params gives, and the widgets use it."""

import itertools

import wtforms.widgets.core
from markupsafe import Markup
from wtforms import Form, SelectField, StringField, TextAreaField

from forms import html

KEYS = ["name", "id", "class_", "for_", "data_field_name", "aria_describedby", "value", "a_b_"]
VALUES = [
    "",
    "plain",
    "山田　太郎",
    "quote \" and ' apostrophe",
    "<script>&amp;</script>",
    Markup('<b class="x">bold</b>'),
    Markup("&lt;already&gt;"),
    0,
    12,
    None,
    True,
    False,
]


def cases():
    for key, value in itertools.product(KEYS, VALUES):
        yield {key: value}
    for values in itertools.combinations(VALUES, 3):
        yield dict(zip(["value", "class_", "data_x_y"], values, strict=True))
    yield {"checked": True, "readonly": False, "name": "text1", "abc": "hello"}


def test_same_output_as_wtforms() -> None:
    for kwargs in cases():
        ours, theirs = html.html_params(**kwargs), html._original(**kwargs)
        assert (kwargs, ours) == (kwargs, theirs)
        assert isinstance(ours, Markup)


def test_widgets_render_through_it() -> None:
    html.install()
    assert wtforms.widgets.core.html_params is html.html_params

    class F(Form):
        name = StringField()
        body = TextAreaField()
        kind = SelectField(choices=[("a", 'A "quoted"'), ("b", "<B>")])

    form = F(data={"name": 'x"<y>', "body": "<p>", "kind": "b"})
    assert str(form.name(class_="input")) == (
        '<input class="input" id="name" name="name" type="text" value="x&#34;&lt;y&gt;">'
    )
    assert str(form.body()) == '<textarea id="body" name="body">\r\n&lt;p&gt;</textarea>'
    assert str(form.kind()) == (
        '<select id="kind" name="kind"><option value="a">A &#34;quoted&#34;</option>'
        '<option selected value="b">&lt;B&gt;</option></select>'
    )
