"""The application factory: configuration, extensions, blueprints, error pages, CLI."""

import logging
from email.utils import parseaddr
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from backoffice import cli, config, errors, hosts, security
from backoffice.admin import setup as admin_setup
from backoffice.attachments import web as attachments_web
from backoffice.extensions import csrf, db, limiter, mail, migrate
from backoffice.mail import delivery
from backoffice.monitoring import metrics
from backoffice.paths import INSTANCE, MIGRATIONS, STATIC, TEMPLATES
from forms import html


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    """Build the app. `overrides` (tests) win over the defaults and the environment.

    Raises config.ConfigError when the configuration cannot serve real users.
    """
    app = Flask(
        __name__,
        template_folder=str(TEMPLATES),
        static_folder=str(STATIC),
        instance_path=str(INSTANCE),
    )
    config.load(app, overrides)
    _configure_logging(app)
    _init_extensions(app)
    _register_blueprints(app)
    admin_setup.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    cli.init_app(app)
    _register_template_helpers(app)
    hosts.init_app(app)
    # Outermost, so that the other layers see the client's host and address.
    if hops := app.config["PROXY_FIX_HOPS"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    return app


def _configure_logging(app: Flask) -> None:
    # Every record's message on one line, whatever a request path or a typed value carries.
    from backoffice import logs

    if not app.debug and not app.testing:
        logs.install(logging.INFO)


def _init_extensions(app: Flask) -> None:
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        INSTANCE.mkdir(exist_ok=True)
    from backoffice import models  # noqa: F401  (every table on the metadata)
    from backoffice.inquiries import counts
    from backoffice.reports import summary

    counts.install()
    summary.install()
    html.install()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True, compare_type=True)
    # Before CSRF protection, which reads the body: the routes that take files allow larger ones.
    attachments_web.init_app(app)
    csrf.init_app(app)
    mail.init_app(app)
    # Registered before the other extensions' after_request hooks, so it runs after them (Flask runs
    # them in reverse): what a request commits up to its response is handed over then.
    delivery.init_app(app)
    limiter.init_app(app)
    metrics.init_app(app)


def _register_blueprints(app: Flask) -> None:
    from backoffice.accounts import (  # noqa: F401  (their routes join the portal blueprint)
        inquiry_views,
        mypage_views,
    )
    from backoffice.accounts.views import bp as accounts_bp
    from backoffice.inquiries.views import bp as inquiries_bp
    from backoffice.mail.views import bp as devmail_bp
    from backoffice.monitoring.views import bp as monitoring_bp
    from backoffice.public.views import bp as public_bp
    from backoffice.registration.views import bp as registration_bp

    app.register_blueprint(public_bp)
    app.register_blueprint(inquiries_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(registration_bp)
    app.register_blueprint(monitoring_bp)
    if app.config["DEVELOPMENT"] and not app.config["MAIL_SERVER"]:
        app.register_blueprint(devmail_bp)


def _register_template_helpers(app: Flask) -> None:
    from backoffice import display
    from backoffice.attachments.checks import PICKER, describe_size
    from backoffice.attachments.operations import limits
    from backoffice.notices.operations import for_request as notices_for_request

    app.jinja_env.filters.update(display.FILTERS)
    app.jinja_env.filters["filesize"] = describe_size
    app.jinja_env.globals.update(
        attachment_limits=limits, attachment_picker=PICKER, notices_here=notices_for_request
    )

    sender_domain = parseaddr(app.config["MAIL_DEFAULT_SENDER"])[1].rpartition("@")[2]

    @app.context_processor
    def inject() -> dict[str, Any]:
        # The domain people must allow in carrier mail filters (said on the completion page).
        return {"devmail_enabled": "devmail" in app.blueprints, "sender_domain": sender_domain}
