from django.db import models


class Sequence(models.Model):
    """A named counter handed out under a row lock: gapless numbers that are safe under concurrency."""

    name = models.CharField(max_length=64, primary_key=True)
    last_value = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"{self.name}: {self.last_value}"
