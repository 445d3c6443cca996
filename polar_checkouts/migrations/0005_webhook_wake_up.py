"""The webhook hand-over's wake-up row (polar_checkouts.webhooks.handover)."""

from typing import Any

from django.db import migrations, models


def create_the_row(apps: Any, schema_editor: Any) -> None:
    # The code creates it when missing too; having it saves the first delivery a step.
    wake_up = apps.get_model("polar_checkouts", "WebhookWakeUp")
    wake_up.objects.using(schema_editor.connection.alias).get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [
        ("polar_checkouts", "0004_customers_orders_subscriptions"),
    ]

    operations = [
        migrations.CreateModel(
            name="WebhookWakeUp",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False),
                ),
                (
                    "queued_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="task queued at"),
                ),
            ],
            options={
                "verbose_name": "webhook processing wake-up",
                "verbose_name_plural": "webhook processing wake-ups",
                "default_permissions": (),
            },
        ),
        migrations.RunPython(create_the_row, migrations.RunPython.noop),
    ]
