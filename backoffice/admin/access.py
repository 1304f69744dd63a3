"""Who is signed in to the back office, and what their role lets them do."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort, g, redirect, request, session, url_for
from flask.typing import ResponseReturnValue

from backoffice.operators import operations
from backoffice.operators.models import Operator, Role

SESSION_KEY = "operator_session"

READ = (Role.ADMIN, Role.AGENT, Role.VIEWER)
WORK = (Role.ADMIN, Role.AGENT)
MANAGE = (Role.ADMIN,)


def current_operator() -> Operator | None:
    """The operator of this request (loaded once), or None."""
    if "operator" not in g:
        g.operator = operations.load_session(session.get(SESSION_KEY))
        if g.operator is None:
            session.pop(SESSION_KEY, None)
    return g.operator


def refuse(roles: tuple[Role, ...] = READ) -> ResponseReturnValue | None:
    """None when the current operator has one of `roles`; otherwise the answer to send: 403 for a
    signed-in operator, a redirect to sign-in for anyone else (portal users included)."""
    operator = current_operator()
    if operator is None:
        return redirect(url_for("admin_auth.login", next=request.full_path.rstrip("?")))
    if not operator.can(*roles):
        abort(403)
    return None


def requires(*roles: Role) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator for plain Flask views of the back office."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if (answer := refuse(roles or READ)) is not None:
                return answer
            return view(*args, **kwargs)

        return wrapper

    return decorate
