"""The three roles are groups, created by a migration, each holding the permissions it needs."""

MENTOR = "Mentor"
SENIOR_LEADERSHIP = "Senior Leadership"
FINANCE = "Finance"

VIEW_ALL_APPOINTMENTS = "sessions_app.view_all_appointments"
ACT_FOR_MENTORS = "sessions_app.act_for_mentors"
USE_ADMIN = "sessions_app.use_admin"
UNLOCK_ACCOUNTS = "sessions_app.unlock_accounts"
VIEW_BANK_DETAILS = "sessions_app.view_bank_details"
BOOK_FOR_ANY_MENTOR = "sessions_app.book_for_any_mentor"
BOOK_OVER_CLASH = "sessions_app.book_over_clash"
