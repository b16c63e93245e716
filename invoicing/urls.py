from django.urls import path

from invoicing import views

urlpatterns = [
    path("documents/timesheet/<int:arrangement_id>/<int:year>-<int:month>.pdf", views.timesheet_pdf_view,
         name="timesheet-pdf"),
    path("documents/<str:kind>/<int:pk>.pdf", views.document_pdf, name="document-pdf"),
]
