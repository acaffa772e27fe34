from django.apps import AppConfig


class ActivityConfig(AppConfig):
    name = "activity"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Imported here: these modules need the app registry, which is ready only now.
        from activity.services import user_activity_step
        from users.pipeline import FETCH_REPOS, Step, step_register

        step_register(
            Step(
                name="user_activity",
                scope="user",
                depends_on=(FETCH_REPOS,),
                run=user_activity_step,
                required=False,
                refresh=True,
                label="Activity",
            )
        )
