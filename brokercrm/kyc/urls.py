from django.urls import path

from brokercrm.kyc import views

app_name = "kyc"
urlpatterns = [
    path("questionnaire/", views.questionnaire_view, name="questionnaire"),
    path("questionnaire/questions/new/", views.question_edit, name="question_new"),
    path("questionnaire/questions/<int:order>/", views.question_edit, name="question_edit"),
    path("questionnaire/questions/<int:order>/delete/", views.question_delete_view, name="question_delete"),
    path("expiring/", views.expiring, name="expiring"),
    path("recognitions/", views.recognitions_queue, name="recognitions"),
    path("<str:customer_no>/assess/", views.assess, name="assess"),
    path("<str:customer_no>/recognitions/new/", views.recognition_new, name="recognition_new"),
    path("<str:customer_no>/recognitions/decide/", views.recognition_decide_view, name="recognition_decide"),
    # the document is named in the query (``?id=``): one customer route per page, as the sweep wants
    path("<str:customer_no>/recognitions/document/", views.recognition_document, name="recognition_document"),
    path("<str:customer_no>/knowledge-tests/new/", views.knowledge_test_new, name="knowledge_test_new"),
]
