from datetime import date

from celery import current_app
from django.core.management.base import BaseCommand, CommandError

from mentoring.schedule import PERIODIC_JOBS


class Command(BaseCommand):
    help = "Run one of the periodic jobs now, in this process. Safe to run twice: the work is done once."

    def add_arguments(self, parser):
        parser.add_argument("job", nargs="?", choices=sorted(PERIODIC_JOBS), help="the job to run")
        parser.add_argument("--day", help="run as on this day (YYYY-MM-DD), for jobs that depend on the date")
        parser.add_argument("--list", action="store_true", help="list the jobs and when beat runs them")

    def handle(self, *args, job=None, day=None, list=False, **options):
        if list or not job:
            for name, spec in PERIODIC_JOBS.items():
                self.stdout.write(f"{name:20} {spec['schedule']}\n    {spec['help']}")
            return
        spec = PERIODIC_JOBS[job]
        kwargs = {}
        if day:
            if not spec.get("takes_day"):
                raise CommandError(f"{job} does not depend on the date; leave out --day.")
            try:
                date.fromisoformat(day)
            except ValueError:
                raise CommandError(f"“{day}” is not a date: use YYYY-MM-DD.") from None
            kwargs["day"] = day
        current_app.loader.import_default_modules()  # every app's tasks module, as a worker would
        result = current_app.tasks[spec["task"]].apply(kwargs=kwargs).get()
        self.stdout.write(self.style.SUCCESS(f"{job}: {result}"))
