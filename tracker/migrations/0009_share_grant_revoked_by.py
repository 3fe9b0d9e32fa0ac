from django.db import migrations, models


def mark_existing_revocations_as_the_clients(apps, schema_editor):
    # Until now only the client could revoke a share.
    apps.get_model("tracker", "ShareGrant").objects.filter(status="revoked").update(revoked_by="client")


class Migration(migrations.Migration):
    dependencies = [
        ("tracker", "0008_idempotency_records"),
    ]

    operations = [
        migrations.AddField(
            model_name="sharegrant",
            name="revoked_by",
            field=models.CharField(
                blank=True,
                choices=[("client", "Client"), ("therapist", "Therapist")],
                default=None,
                max_length=16,
                null=True,
            ),
        ),
        migrations.RunPython(mark_existing_revocations_as_the_clients, migrations.RunPython.noop),
    ]
