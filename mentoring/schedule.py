"""Every periodic job, in one place. Celery beat runs them (Europe/London); `manage.py run_job <name>` runs
one by hand. Each is safe to run twice: it does its work once."""

from datetime import time

from celery.schedules import crontab

PERIODIC_JOBS = {
    "sweep-outbox": {
        "task": "notifications.tasks.sweep_outbox",
        "schedule": 60.0,
        "help": "Send emails still waiting (broker down, worker killed, failed send due for a retry).",
    },
    "wrap-up-reminders": {
        "task": "notifications.tasks.send_wrap_up_reminders",
        "schedule": crontab(hour=7, minute=30),
        "help": "Each morning: email every mentor whose ended sessions are not wrapped up.",
        "takes_day": True,
    },
    "leadership-summary": {
        "task": "notifications.tasks.send_leadership_summary",
        "schedule": crontab(hour=8, minute=0, day_of_month="28-31"),
        "help": "On the month's last day: email Senior Leadership every mentor's sessions not wrapped up.",
        "takes_day": True,
    },
    "authorised-hours": {
        "task": "notifications.tasks.send_authorised_hours_digest",
        "schedule": crontab(hour=7, minute=45, day_of_week="mon"),
        "help": "Each Monday: email Finance the funding arrangements with authorised hours nearly used up "
                "(AUTHORISED_HOURS_WARNING) or ending within 30 days. Once a week, however often it runs.",
        "takes_day": True,
    },
    "session-reminders": {
        "task": "notifications.tasks.send_session_reminders",
        "schedule": crontab(minute=15),
        "help": "Every hour: the mentee of each session tomorrow gets a reminder, once per session.",
    },
    "sign-off-reminders": {
        "task": "notifications.tasks.send_sign_off_reminders",
        "schedule": crontab(hour=9, minute=0),
        "help": "Each morning: remind mentees who have not confirmed or disputed a session, 3 days after they were "
                "asked and in the month's last 3 days (each reminder once per session).",
        "takes_day": True,
    },
    "render-missing-pdfs": {
        "task": "invoicing.tasks.render_missing_pdfs",
        "schedule": crontab(minute="*/10"),
        "help": "Render issued documents still without a PDF (broker down at issue, a worker killed).",
    },
    "month-end": {
        "task": "invoicing.tasks.run_month_end",
        "schedule": crontab(hour=20, minute=0, day_of_month="28-31"),
        "help": "On the month's last day, after the working day: invoices and payment statements for the month "
                "(run late on the 1st, it does last month's).",
        "takes_day": True,
    },
    "apply-retention": {
        "task": "privacy.tasks.apply_retention",
        "schedule": crontab(hour=2, minute=30),
        "help": "Each night: anonymise what the retention policy says is kept no longer (notes, old documents' "
                "names and PDFs, emails' bodies), in batches.",
    },
}


def beat_schedule() -> dict:
    return {name: {"task": job["task"], "schedule": job["schedule"]} for name, job in PERIODIC_JOBS.items()}


def time_of_day(name: str) -> time:
    """When a job that runs at a set time of day runs: `time_of_day("month-end")` is 20:00. What the pages and
    emails tell people (the wrap-up deadline) comes from here, so it follows the schedule."""
    schedule = PERIODIC_JOBS[name]["schedule"]
    return time(min(schedule.hour), min(schedule.minute))
