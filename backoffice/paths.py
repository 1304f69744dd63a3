"""Where the project's non-package folders live.

The design card puts `templates/`, `static/`, `migrations/` and `forms/` at the top of the repository, beside
`backoffice/`. Resolving them from this one root lets the CLI and the tests work from any folder.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
STATIC = ROOT / "static"
MIGRATIONS = ROOT / "migrations"
INSTANCE = ROOT / "instance"
