from django.urls import path

from brokercrm.service import views

app_name = "service"
urlpatterns = [
    path("", views.workspace_view, name="workspace"),
    path("events/", views.event_list_view, name="events"),
    path("events/new", views.event_create_view, name="event_create"),
    path("events/<int:event_id>/", views.event_detail_view, name="event"),
    path("events/<int:event_id>/tasks", views.event_tasks_view, name="event_tasks"),
    path("tasks/<int:task_id>/done", views.task_done_view, name="task_done"),
    path("tasks/<int:task_id>/visit", views.task_visit_view, name="task_visit"),
    path("escalated/", views.escalated_view, name="escalated"),
    path("customers/<str:customer_no>/visit", views.customer_visit_view, name="customer_visit"),
]

from brokercrm.service import views_desk  # noqa: E402  (service desk, managers' views, thresholds)

urlpatterns += [
    path("requests/", views_desk.request_list_view, name="requests"),
    path("requests/<int:request_id>/", views_desk.request_detail_view, name="request"),
    path("customers/<str:customer_no>/requests", views_desk.customer_request_view, name="customer_request"),
    path("customers/<str:customer_no>/hand-over", views_desk.customer_hand_over_view, name="customer_hand_over"),
    path("team/", views_desk.team_view, name="team"),
    path("tasks/<int:task_id>/reassign", views_desk.task_reassign_view, name="task_reassign"),
    path("events/<int:event_id>/uncontacted", views_desk.event_uncontacted_view, name="event_uncontacted"),
    path("policy/", views_desk.service_policy_view, name="policy"),
]
