"""A faster `wtforms.widgets.core.html_params`, with the same output.

WTForms writes every attribute of every field and <option> through `Markup.format`, which escapes through
`string.Formatter`: that was about half the time of rendering the inquiry form, the page every requester
opens first. `install()` swaps in this version, which escapes each key and value once;
tests/test_html_params.py checks it against the original on many inputs.
"""

from typing import Any

import wtforms.widgets.core
from markupsafe import Markup, escape

_original = wtforms.widgets.core.html_params


def html_params(**kwargs: Any) -> Markup:
    """`key="value"` pairs sorted by key; `True` gives a bare attribute, `False` none; a trailing `_` is
    dropped and `data_`/`aria_` keys take hyphens (all as WTForms does)."""
    parts = []
    for key, value in sorted(kwargs.items()):
        key = key.rstrip("_")
        if key.startswith(("data_", "aria_")):
            key = key.replace("_", "-")
        if value is True:
            parts.append(str(escape(key)))
        elif value is not False:
            # A Markup value is not escaped again; a quote in it would still end the attribute.
            parts.append(f'{escape(key)}="{str(escape(value)).replace(chr(34), "&quot;")}"')
    return Markup(" ".join(parts))  # noqa: S704 (each key and value escaped above)


def install() -> None:
    """Make every WTForms widget use this html_params (the widgets look it up as a module global, and
    `Input`/`Button` keep it as a class attribute)."""
    wtforms.widgets.core.html_params = html_params
    wtforms.widgets.core.Input.html_params = staticmethod(html_params)
    wtforms.widgets.core.Button.html_params = staticmethod(html_params)
