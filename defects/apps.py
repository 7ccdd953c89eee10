from django.apps import AppConfig


class DefectsConfig(AppConfig):
    name = "defects"
    verbose_name = "Defects"
