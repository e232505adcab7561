"""Typed settings resolved from config/ files and MODPIPE__SECTION__KEY environment variables."""

from modpipe.settings.errors import SettingsError, SettingsProblem
from modpipe.settings.loader import load_settings
from modpipe.settings.measures import MeasureKind, MeasuresSettings, SubjectType
from modpipe.settings.models import Action, Category, ServiceType, Settings
from modpipe.settings.redact import mask_urls
from modpipe.settings.reports import ReportSettings
from modpipe.settings.review import REVIEW_LANGUAGES
from modpipe.settings.s3 import LockMode, Role

__all__ = [
    "REVIEW_LANGUAGES",
    "Action",
    "Category",
    "LockMode",
    "MeasureKind",
    "MeasuresSettings",
    "ReportSettings",
    "Role",
    "ServiceType",
    "Settings",
    "SettingsError",
    "SettingsProblem",
    "SubjectType",
    "load_settings",
    "mask_urls",
]
