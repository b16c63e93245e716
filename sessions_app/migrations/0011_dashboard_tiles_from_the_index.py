# The month's sessions by status (the dashboard's tiles, which tell a cancelled outcome apart) read from the index
# alone: the new index is built before the old one goes, so the calendar and dashboard always have one.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('sessions_app', '0010_late_cancellation_reason_in_wrap_up_requests'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='serviceappointment',
            index=models.Index(fields=['starts_at'], include=('status', 'outcome'), name='sa_starts_status_outcome'),
        ),
        migrations.RemoveIndex(
            model_name='serviceappointment',
            name='sa_starts_status',
        ),
    ]
