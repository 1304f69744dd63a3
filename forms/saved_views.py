"""「この表示を保存」 on the ticket list."""

from flask_wtf import FlaskForm
from wtforms import StringField


class SaveViewForm(FlaskForm):
    # The service checks the name (backoffice.saved_views.operations.save_view).
    name = StringField("表示名")
