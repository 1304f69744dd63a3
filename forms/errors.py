"""Service errors shown on the form field they name (see backoffice.domain_errors)."""

from flask_wtf import FlaskForm

from backoffice.domain_errors import DomainError


def populate_errors(form: FlaskForm, error: DomainError, *, fallback: str | None = None) -> bool:
    """Add the error's message to the field it names, or to `fallback` when this form has no such
    field (a page-wide error shown where the person acts). False when there is neither: the view then
    shows the message on the page."""
    name = error.field if error.field is not None and error.field in form else fallback
    if name is None or name not in form:
        return False
    form[name].errors = [*form[name].errors, str(error)]
    return True
