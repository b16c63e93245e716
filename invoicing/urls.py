from django.urls import path

from invoicing import views

urlpatterns = [
    path("documents/<str:kind>/<int:pk>.pdf", views.document_pdf, name="document-pdf"),
]
