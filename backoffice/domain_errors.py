"""The base of every error a service raises for the person filling in a form.

`str(error)` is the Japanese message. `field` names the input it belongs to, by the name the form that
feeds the service gives that input (`"new"` for a new password, `"email"`, `"code"` for a one-time
password), or is None when it concerns the page as a whole. Views put the message on that field with
`forms.errors.populate_errors`, so rewording a message never moves it to another field.
"""


class DomainError(Exception):
    field: str | None = None

    def __init__(self, message: str = "", *, field: str | None = None) -> None:
        super().__init__(message)
        if field is not None:
            self.field = field
