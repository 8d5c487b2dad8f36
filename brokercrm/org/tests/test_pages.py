"""Login, lock-out, the audit log, language, home pages and security headers, as users see them."""

from django.conf import settings
from django.test import Client
from django.urls import reverse

from brokercrm.org.choices import AuditAction
from brokercrm.org.models import AuditEvent
from brokercrm.testing import PASSWORD


def test_login_logout_and_their_audit(world):
    client = Client()
    response = client.post(reverse("login"), {"username": "am_a1", "password": PASSWORD}, REMOTE_ADDR="10.0.0.7")
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert "AM_A1" in client.get(reverse("home")).content.decode()
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302
    actions = list(AuditEvent.objects.filter(actor_username="am_a1").order_by("id").values_list("action", "ip_address"))
    assert actions[0] == (AuditAction.LOGIN, "10.0.0.7") and actions[-1][0] == AuditAction.LOGOUT


def test_repeated_failures_lock_the_login(world):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "am_a1", "password": "wrong"})
    locked = client.post(reverse("login"), {"username": "am_a1", "password": PASSWORD})
    assert locked.status_code == 429
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED, actor_username="am_a1").count() >= 5
    assert Client().get(reverse("home")).status_code == 302


def test_pages_need_login(world):
    for url in (reverse("home"), reverse("customers:list"), reverse("org:tree"), reverse("org:audit")):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url


def test_only_compliance_and_head_office_search_the_audit_log(world):
    world.client("am_a1").get(reverse("customers:detail", args=[world.customers["a1"].customer_no]))
    assert world.client("am_a1").get(reverse("org:audit")).status_code == 403
    assert world.client("bm_a").get(reverse("org:audit")).status_code == 403
    body = world.client("compliance").get(reverse("org:audit"), {"username": "am_a1", "action": "customer_view"}).content.decode()
    assert world.customers["a1"].customer_no in body
    searched = AuditEvent.objects.filter(action=AuditAction.AUDIT_SEARCH, actor_username="compliance")
    assert searched.exists()


def test_home_page_per_role(world):
    am = world.client("am_a1").get(reverse("home")).content.decode()
    assert world.customers["a1"].customer_no in am and world.customers["a2"].customer_no not in am
    bm = world.client("bm_a").get(reverse("home")).content.decode()
    assert "AM_A2" in bm  # customers by account manager
    researcher = world.client("researcher").get(reverse("home")).content.decode()
    assert not any(c.customer_no in researcher for c in world.customers.values())
    nav = world.client("researcher").get(reverse("home")).content.decode()
    assert reverse("customers:list") not in nav and reverse("org:audit") not in nav


def test_chinese_by_default_and_english_on_request(world):
    client = world.client("am_a1")
    # an English browser still gets Chinese until the user switches
    assert "客户" in client.get(reverse("customers:list"), HTTP_ACCEPT_LANGUAGE="en-US,en").content.decode()
    client.post(reverse("set_language"), {"language": "en", "next": reverse("customers:list")})
    english = client.get(reverse("customers:list")).content.decode()
    assert "Customers" in english and "客户经理" not in english
    assert 'lang="en"' in english


def test_security_headers_and_cookies(world):
    response = Client().get(reverse("login"))
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response.cookies["csrftoken"]["samesite"] == "Lax"
    client = Client()
    client.post(reverse("login"), {"username": "am_a1", "password": PASSWORD})
    session = client.cookies[settings.SESSION_COOKIE_NAME]
    assert session["httponly"] and session["samesite"] == "Lax"
    assert settings.SESSION_COOKIE_AGE == 30 * 60 and settings.SESSION_SAVE_EVERY_REQUEST


def test_organisation_page_shows_the_users_subtree(world):
    body = world.client("bm_a").get(reverse("org:tree")).content.decode()
    assert "甲一组" in body and "乙营业部" not in body
