"""Export, preferences and the audit log: what users and admins can ask for, and what the audit keeps."""

from __future__ import annotations

import json

from assistant.privacy import pseudonym
from tests.privacy.conftest import REFUND, SERVER_SECRET, Site, bearer
from tests.privacy.test_erasure import MARKER, NAME, OTHER_MARKER, PHONE, USER, populate


def test_a_user_exports_all_their_data_and_nothing_of_anyone_else(site: Site) -> None:
    populate(site)
    other = site.start("u-keep", "保留用户")
    site.say(other, text=f"{OTHER_MARKER} 请帮忙")

    response = site.client.get("/v1/me/data", headers=site.user(USER))

    assert response.status_code == 200, response.text
    assert OTHER_MARKER not in response.text
    assert "u-keep" not in response.text
    data = response.json()
    assert data["profile"]["name"] == NAME
    assert data["preferences"] == {"training_opt_out": False}
    assert len(data["conversations"]) == 3
    texts = [m["text"] for c in data["conversations"] for m in c["messages"]]
    assert f"{MARKER} 我的手机是{PHONE}" in texts
    assert all(c["dialogue_state"] is not None for c in data["conversations"] if c["channel"] == "web")
    [noted] = [t for t in data["tickets"] if t["advisor_notes"]["notes"]]
    assert MARKER in noted["advisor_notes"]["notes"][0]["text"]
    assert "advisors" in noted["advisor_notes"]["description"]
    assert [c["question"] for c in data["faq_candidates"]] == [f"{MARKER}怎么办"]
    assert {"turn", "feedback", "handoff.created"} <= {e["type"] for e in data["analytics_events"]}
    assert {"channel_link", "webhook_delivery"} <= {r["kind"] for r in data["other_records"]}


def test_only_the_users_own_jwt_opens_their_data(site: Site) -> None:
    conv = site.start(USER, NAME)
    for headers in ({}, bearer(conv["token"]), site.agent, site.admin, bearer("not-a-jwt")):
        for method in ("GET", "DELETE"):
            response = site.client.request(method, "/v1/me/data", headers=headers)
            assert response.status_code == 401, (method, headers, response.text)
        put = site.client.put("/v1/me/preferences", json={"training_opt_out": True}, headers=headers)
        assert put.status_code == 401
    assert site.store.get("conversation", conv["conversation_id"]) is not None


def test_admins_export_for_support_requests_and_every_request_is_audited_without_personal_data(site: Site) -> None:
    populate(site)
    assert site.client.get(f"/v1/admin/users/{USER}/data", headers=site.agent).status_code == 403
    assert site.client.get("/v1/admin/users/nobody/data", headers=site.admin).status_code == 404

    exported = site.client.get(f"/v1/admin/users/{USER}/data?reference=SR-42", headers=site.admin)
    site.client.get("/v1/me/data", headers=site.user(USER))
    site.client.put("/v1/me/preferences", json={"training_opt_out": True}, headers=site.user(USER))

    assert exported.status_code == 200
    assert exported.json()["profile"]["name"] == NAME
    audit = site.client.get(f"/v1/admin/audit?user_id={USER}", headers=site.admin).json()["entries"]
    assert [(e["action"], e["actor"], e["reference"]) for e in audit] == [
        ("preferences.update", "self", ""),
        ("data.export", "self", ""),
        ("data.export", "boss", "SR-42"),
    ]
    assert {e["subject"] for e in audit} == {pseudonym(USER, SERVER_SECRET)}
    stored = json.dumps(site.store.list("audit"), ensure_ascii=False)
    for personal in (USER, NAME, MARKER, PHONE):
        assert personal not in stored
    assert site.client.get("/v1/admin/audit", headers=site.agent).status_code == 403


def test_erasure_is_audited_and_the_audit_survives_it(site: Site) -> None:
    populate(site)
    erased = site.client.delete(f"/v1/admin/users/{USER}/data?reference=SR-7", headers=site.admin)

    assert erased.status_code == 200
    [entry] = site.client.get(f"/v1/admin/audit?user_id={USER}&action=data.erase", headers=site.admin).json()["entries"]
    assert entry["actor"] == "boss"
    assert entry["reference"] == "SR-7"
    assert entry["details"]["conversations"] == 3
    assert entry["details"]["found"] is True
    assert USER not in site.store.dump_text()


def test_an_opted_out_user_never_reaches_the_training_export_or_the_faq_candidates(site: Site) -> None:
    # Opting out before the first conversation creates the profile, and the next login keeps the choice.
    put = site.client.put("/v1/me/preferences", json={"training_opt_out": True}, headers=site.user("u-private"))
    assert put.status_code == 200
    assert put.json() == {"training_opt_out": True}
    private = site.start("u-private", "隐私用户")
    site.say(private, text=f"{MARKER} 课程打不开")
    ticket = site.hand_off(private)
    public = site.start("u-public")
    site.say(public, text=f"{REFUND}？手机{PHONE}")
    site.say(public, text=REFUND)

    assert site.client.get("/v1/me/preferences", headers=site.user("u-private")).json() == {"training_opt_out": True}
    site.agent_call("POST", f"/v1/handoff/tickets/{ticket}/claim")
    site.agent_call("POST", f"/v1/handoff/tickets/{ticket}/messages", json={"text": "请重新登录。"})
    resolved = site.agent_call("POST", f"/v1/handoff/tickets/{ticket}/resolve", json={"add_to_kb": True})
    assert resolved["candidate"] is None
    assert site.client.get("/v1/admin/exports/training", headers=site.agent).status_code == 403
    exported = site.client.get("/v1/admin/exports/training", headers=site.admin).json()
    assert MARKER not in json.dumps(exported, ensure_ascii=False)
    assert exported["opted_out_users"] == 1
    assert [(e["text"], e["intent"], e["faq_id"]) for e in exported["examples"]] == [
        (f"{REFUND}？手机[手机号]", "oos", None),  # personal data is redacted in every export
        (REFUND, "refund_course", "refund-course"),
    ]


def test_admins_set_preferences_only_for_users_who_exist(site: Site) -> None:
    site.start("u-support")
    body = {"training_opt_out": True}
    assert site.client.put("/v1/admin/users/u-typo/preferences", json=body, headers=site.admin).status_code == 404
    assert site.client.put("/v1/admin/users/u-support/preferences", json=body, headers=site.agent).status_code == 403

    changed = site.client.put("/v1/admin/users/u-support/preferences?reference=SR-9", json=body, headers=site.admin)

    assert changed.status_code == 200
    assert changed.json() == body
    assert site.client.get("/v1/me/preferences", headers=site.user("u-support")).json() == body
    audit = site.client.get("/v1/admin/audit?action=preferences.update", headers=site.admin).json()["entries"]
    assert [(e["actor"], e["details"]) for e in audit] == [("boss", {"training_opt_out": True})]
