from django.urls import path

from workers.admin_api import DiagnosticsListApi

urlpatterns = [
    path("diagnostics", DiagnosticsListApi.as_view(), name="admin-diagnostics"),
]
