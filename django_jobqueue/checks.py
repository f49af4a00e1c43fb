"""System checks: every settings problem shows up in ``manage.py check``."""

from django.core import checks

from .conf import find_problems
from .cron import find_cron_problems


@checks.register("django_jobqueue")
def check_settings(app_configs=None, **kwargs):
    messages = []
    for problem in find_problems() + find_cron_problems():
        level = checks.Warning if problem.level == "warning" else checks.Error
        messages.append(level(problem.msg, hint=problem.hint, id=problem.id))
    return messages
