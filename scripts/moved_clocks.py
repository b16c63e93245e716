"""Prints the Europe/London times CI runs the suite at besides today's: the coming days a date bug shows on.

This month's last day at 20:30 (after the month-end job), the next 1 January at 00:30, and the next clock change:
00:30 on the last Sunday of March (the hour from 01:00 is skipped) or 01:30 on the last Sunday of October (that
hour happens twice).
"""

from datetime import date, timedelta


def last_sunday(year: int, month: int) -> date:
    last_day = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return last_day - timedelta(days=(last_day.weekday() + 1) % 7)


def moved_clocks(today: date) -> list[str]:
    month_end = date(today.year + today.month // 12, today.month % 12 + 1, 1) - timedelta(days=1)
    changes = sorted((last_sunday(year, month), time) for year in (today.year, today.year + 1)
                     for month, time in ((3, "00:30"), (10, "01:30")))
    change, change_time = next((day, time) for day, time in changes if day >= today)
    return [f"{month_end}T20:30", f"{today.year + 1}-01-01T00:30", f"{change}T{change_time}"]


if __name__ == "__main__":
    print(" ".join(moved_clocks(date.today())))
