"""Imports every model module, so that the metadata (and so migrations) know every table."""

from backoffice.accounts import models as accounts_models
from backoffice.accounts import search_index as accounts_search_index
from backoffice.alerts import models as alerts_models
from backoffice.attachments import models as attachments_models
from backoffice.audit import models as audit_models
from backoffice.eclaims import models as eclaims_models
from backoffice.inbound import models as inbound_models
from backoffice.inquiries import canned as inquiries_canned
from backoffice.inquiries import drafts as inquiries_drafts
from backoffice.inquiries import models as inquiries_models
from backoffice.inquiries import search_index as inquiries_search_index
from backoffice.mail import models as mail_models
from backoffice.monitoring import models as monitoring_models
from backoffice.notices import models as notices_models
from backoffice.onboarding import models as onboarding_models
from backoffice.operators import models as operators_models
from backoffice.otp import models as otp_models
from backoffice.registration import models as registration_models
from backoffice.reports import models as reports_models
from backoffice.saved_views import models as saved_views_models

__all__ = [
    "accounts_models",
    "accounts_search_index",
    "alerts_models",
    "attachments_models",
    "audit_models",
    "eclaims_models",
    "inbound_models",
    "inquiries_canned",
    "inquiries_drafts",
    "inquiries_models",
    "inquiries_search_index",
    "mail_models",
    "monitoring_models",
    "notices_models",
    "onboarding_models",
    "operators_models",
    "otp_models",
    "registration_models",
    "reports_models",
    "saved_views_models",
]
