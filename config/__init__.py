"""Settings, secrets and logging. Imports no other wtg code."""

from .credentials import CredentialStore, InMemoryCredentials, Secret
from .loader import SettingsError, credentials_for, load_settings, settings_from_dict
from .settings import AccountSettings, NotReadyPolicy, Settings

__all__ = [
    "AccountSettings",
    "CredentialStore",
    "InMemoryCredentials",
    "NotReadyPolicy",
    "Secret",
    "Settings",
    "SettingsError",
    "credentials_for",
    "load_settings",
    "settings_from_dict",
]
