"""Partner API memberships: Hang's get-or-create, read, list, update, remove, merge, magic links and the member page."""

from __future__ import annotations

import shlex
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from models import LedgerEntry, Member
from services import ledger, members
from services.ledger import rebuild as ledger_rebuild

API = "/partner-api/v2/program-memberships"
KEY = {"X-API-Key": "test-demo-key"}
# Seed document 000, verbatim but for the host (and a real key): its body misses a comma after "true".
SEED_CURL = """curl -X POST 'http://localhost/partner-api/v2/program-memberships' \\
  -H 'X-API-Key: YOUR_API_KEY' \\
  -H 'Content-Type: application/json' \\
  -d '{
    "external_user_id": "user123",
    "phone": "+18884546767",
    "first_name": "Joe",
    "last_name": "Smith",
    "birthday": "1969-02-25",
    "include_magic_link": "true"
    "family_member_birthdays": [
      {
        "first_name": "Anna",
        "birthday": "2000-02-02",
        "status": "active"
      },
      {
        "first_name": "Mason",
        "last_name": "Smith",
        "birthday": "2002-01-01",
        "status": "active"
      }
    ]
  }'"""
SEED_FAMILY = [
    {"first_name": "Anna", "last_name": "", "birth_date": "2000-02-02", "status": "active"},
    {"first_name": "Mason", "last_name": "Smith", "birth_date": "2002-01-01", "status": "active"},
]


@pytest.fixture
def merchants(rt, two_merchants):
    """The demo merchant (Shopify admin API configured) and a second merchant; magic links signed."""
    rt.secret_key, rt.public_base_url = "test-secret-key", "https://rewards.example.com"


def curl(client, command: str):
    """Send a documented curl command through the test client."""
    args = shlex.split(command.replace("YOUR_API_KEY", KEY["X-API-Key"]))
    url = args[args.index("-X") + 2]
    headers = dict(h.split(": ", 1) for h in (args[i + 1] for i, a in enumerate(args) if a == "-H"))
    return client.open(
        url.split("localhost", 1)[1],
        method=args[args.index("-X") + 1],
        headers=headers,
        data=args[args.index("-d") + 1],
    )


def create(client, headers=KEY, **body):
    return client.post(API, json=body, headers=headers)


def member_count(rt) -> int:
    with rt.db.reader() as s:
        return len(s.execute(select(Member.id)).all())


def give_points(rt, member_id: str, points: int) -> None:
    with rt.db.transaction() as s:
        ledger.post(
            s,
            members.lock(s, member_id),
            ledger.Posting(key=f"seed-{uuid.uuid4()}", points=points, type="ADDITION", channel="admin"),
            rt.clock(),
        )


def error(response) -> str:
    return response.get_json()["error"]


# --- get-or-create --------------------------------------------------------------


def test_the_seed_curl_body_with_its_missing_comma_is_a_400_naming_the_problem_and_creates_nothing(
    rt, merchants, client
):
    response = curl(client, SEED_CURL)
    body = response.get_json()
    assert response.status_code == 400 and body["error"] == "INVALID_JSON"
    assert "Expecting ',' delimiter" in body["message"] and "line 8 column 5" in body["message"]
    assert body["details"] == [{"field": "body", "problem": "Expecting ',' delimiter: line 8 column 5 (char 184)"}]
    assert member_count(rt) == 0


def test_the_corrected_seed_body_creates_the_member_in_hangs_shape_then_returns_it(rt, merchants, client):
    fixed = SEED_CURL.replace('"include_magic_link": "true"\n', '"include_magic_link": "true",\n')
    first = curl(client, fixed)
    assert first.status_code == 200  # Hang answers 200 for created and found alike; "created" tells
    body = first.get_json()
    membership = body["membership"]
    assert body["created"] is True and membership["id"].startswith("mem_")
    assert {k: membership[k] for k in ("external_user_id", "phone", "first_name", "last_name", "birthday")} == {
        "external_user_id": "user123",
        "phone": "+18884546767",
        "first_name": "Joe",
        "last_name": "Smith",
        "birthday": "1969-02-25",
    }
    assert membership["family_member_birthdays"] == SEED_FAMILY
    assert membership["magic_link"].startswith("https://rewards.example.com/m/")
    assert membership["tier"] == "Bronze" and membership["status"] == "ACTIVE"
    again = curl(client, fixed)
    assert again.status_code == 200 and again.get_json()["created"] is False
    assert again.get_json()["membership"]["id"] == membership["id"]
    assert member_count(rt) == 1


def test_without_phone_or_external_user_id_it_is_a_400_missing_required_parameters(rt, merchants, client):
    response = create(client, email="joe@example.com", first_name="Joe")
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "MISSING_REQUIRED_PARAMETERS",
        "message": "Missing required parameters.",
        "details": [{"field": "phone", "problem": "phone or external_user_id is required"}],
    }
    assert create(client, phone="", external_user_id="").status_code == 400
    assert member_count(rt) == 0


def test_an_existing_member_is_found_by_phone_in_any_format_and_only_its_missing_fields_are_filled(
    rt, merchants, client
):
    created = create(client, phone="+18884546767", first_name="Joe").get_json()["membership"]
    found = create(
        client,
        phone="(888) 454-6767",
        first_name="Joseph",
        last_name="Smith",
        email="Joe@Example.com",
        metadata={"source": "kiosk"},
    )
    assert found.status_code == 200
    membership = found.get_json()["membership"]
    assert membership["id"] == created["id"] and membership["first_name"] == "Joe"
    assert (membership["last_name"], membership["email"], membership["metadata"]) == (
        "Smith",
        "Joe@Example.com",
        {"source": "kiosk"},
    )


def test_the_external_id_finds_the_member_when_no_phone_matches_and_the_phone_is_filled_in(rt, merchants, client):
    created = create(client, external_user_id="user123").get_json()["membership"]
    found = create(client, external_user_id="user123", phone="+18884546767").get_json()
    assert found["created"] is False and found["membership"]["id"] == created["id"]
    assert found["membership"]["phone"] == "+18884546767"


def test_a_phone_and_an_external_id_of_two_different_members_is_a_409(rt, merchants, client):
    create(client, phone="+18884546767")
    create(client, external_user_id="user123")
    response = create(client, phone="+18884546767", external_user_id="user123")
    assert response.status_code == 409 and error(response) == "MULTIPLE_PROGRAM_MEMBERSHIPS_FOUND_FOR_GIVEN_PARAMETERS"


@pytest.mark.parametrize("second", [{"phone": "+14155550199"}, {"external_user_id": "user123"}])
def test_an_email_already_on_another_member_is_a_409_whether_creating_or_filling_in(rt, merchants, client, second):
    create(client, phone="+18884546767", email="joe@example.com")
    if "external_user_id" in second:
        create(client, **second)  # exists without an email: filling it in would steal Joe's
    response = create(client, email="JOE@example.com", **second)
    assert response.status_code == 409 and error(response) == "EMAIL_ALREADY_EXISTS"
    assert member_count(rt) == (2 if "external_user_id" in second else 1)


@pytest.mark.parametrize("flag, linked", [(True, True), ("true", True), (False, False), ("false", False)])
def test_include_magic_link_takes_a_boolean_or_the_strings_true_and_false(rt, merchants, client, flag, linked):
    membership = create(client, phone="+18884546767", include_magic_link=flag).get_json()["membership"]
    assert ("magic_link" in membership) is linked


@pytest.mark.parametrize(
    "body, field",
    [
        ({"include_magic_link": "yes"}, "include_magic_link"),
        ({"birthday": "1969-02-30"}, "birthday"),
        ({"birthday": "02/25/1969"}, "birthday"),
        ({"phone": "12"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        (
            {"family_member_birthdays": [{"first_name": "Anna", "birthday": "2000-02-02", "status": "asleep"}]},
            "family_member_birthdays.0.status",
        ),
    ],
)
def test_a_malformed_field_is_a_400_naming_it_and_creates_nothing(rt, merchants, client, body, field):
    response = create(client, **{"external_user_id": "user123", **body})
    assert response.status_code == 400 and error(response) == "INVALID_PARAMETERS"
    assert field in [d["field"] for d in response.get_json()["details"]]
    assert member_count(rt) == 0


def test_a_family_member_without_a_status_is_missing_a_required_parameter(rt, merchants, client):
    response = create(
        client, phone="+18884546767", family_member_birthdays=[{"first_name": "Anna", "birthday": "2000-02-02"}]
    )
    assert response.status_code == 400 and error(response) == "MISSING_REQUIRED_PARAMETERS"
    assert response.get_json()["details"][0]["field"] == "family_member_birthdays.0.status"


def test_social_media_credentials_metadata_and_family_are_kept_and_read_back(rt, merchants, client):
    socials = {"twitter_username": "joe_t", "instagram_username": "joe_i", "tiktok_username": "joe_k"}
    created = create(
        client,
        phone="+18884546767",
        social_media_credentials=socials,
        metadata={"vip": True},
        family_member_birthdays=[
            {"first_name": "Mason", "last_name": "Smith", "birthday": "2002-01-01", "status": "inactive"}
        ],
    ).get_json()["membership"]
    read = client.get(f"{API}/{created['id']}", headers=KEY).get_json()["membership"]
    assert read["social_media_credentials"] == socials and read["metadata"] == {"vip": True}
    assert read["family_member_birthdays"] == [
        {"first_name": "Mason", "last_name": "Smith", "birth_date": "2002-01-01", "status": "inactive"}
    ]


def test_an_unknown_id_is_a_404(rt, merchants, client):
    response = client.get(f"{API}/mem_nope", headers=KEY)
    assert response.status_code == 404 and error(response) == "PROGRAM_MEMBERSHIP_NOT_FOUND"


# --- list -------------------------------------------------------------------------


def page_through(client, query: str, between=lambda: None) -> list[str]:
    seen, cursor = [], None
    while True:
        url = f"{API}?limit=2&{query}" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url, headers=KEY).get_json()
        seen += [m["id"] for m in body["program_memberships"]]
        cursor = body["next_cursor"]
        if cursor is None:
            return seen
        between()


def test_the_list_pages_every_member_once_in_a_stable_order_while_members_are_added(rt, merchants, client, clock):
    original = []
    for n in range(5):
        clock.now += timedelta(seconds=1)
        original.append(create(client, external_user_id=f"u{n}").get_json()["membership"]["id"])
    added = iter(range(100, 200))
    seen = page_through(client, "", between=lambda: create(client, external_user_id=f"u{next(added)}"))
    # Members added meanwhile may or may not show up (ties on created_at go by id), never twice,
    # and never shift the others.
    assert [m for m in seen if m in original] == original and len(seen) == len(set(seen))
    other = create(client, external_user_id="other", headers={"X-API-Key": "other-bakery-key"})
    assert other.status_code == 200 and other.get_json()["created"] is True
    assert len(page_through(client, "")) == member_count(rt) - 1


def test_the_list_filters_by_status_and_updated_since(rt, merchants, client, clock):
    old = create(client, external_user_id="old").get_json()["membership"]["id"]
    clock.now += timedelta(hours=1)
    since = int(clock.now.timestamp())
    new = create(client, external_user_id="new").get_json()["membership"]["id"]
    client.patch(f"{API}/{old}", json={"status": "INACTIVE"}, headers=KEY)
    assert page_through(client, "status=INACTIVE") == [old]
    assert page_through(client, "status=ACTIVE") == [new]
    clock.now += timedelta(hours=1)
    create(client, external_user_id="new", first_name="Ann")
    assert page_through(client, f"updated_since={int(clock.now.timestamp())}") == [new]
    assert sorted(page_through(client, f"updated_since={since}")) == sorted([old, new])


def test_a_cursor_this_api_did_not_return_is_a_400(rt, merchants, client):
    response = client.get(f"{API}?cursor=not-a-cursor", headers=KEY)
    assert response.status_code == 400 and error(response) == "INVALID_CURSOR"


# --- patch, delete, merge -----------------------------------------------------------


def test_patch_overwrites_the_given_fields_merges_metadata_and_sets_the_status(rt, merchants, client):
    member = create(client, phone="+18884546767", first_name="Joe", metadata={"a": 1, "b": 2}).get_json()
    response = client.patch(
        f"{API}/{member['membership']['id']}",
        headers=KEY,
        json={"first_name": "Joseph", "last_name": None, "metadata": {"b": None, "c": 3}, "status": "INACTIVE"},
    )
    assert response.status_code == 200
    patched = response.get_json()["membership"]
    assert (patched["first_name"], patched["last_name"], patched["status"]) == ("Joseph", None, "INACTIVE")
    assert patched["metadata"] == {"a": 1, "c": 3} and patched["phone"] == "+18884546767"
    assert client.patch(f"{API}/{patched['id']}", json={"status": "DELETED"}, headers=KEY).status_code == 400


MULTIPLE = "MULTIPLE_PROGRAM_MEMBERSHIPS_FOUND_FOR_GIVEN_PARAMETERS"


@pytest.mark.parametrize(
    "change, code",
    [
        ({"email": "ANN@example.com"}, "EMAIL_ALREADY_EXISTS"),
        ({"phone": "415 555 0199"}, MULTIPLE),
        ({"external_user_id": "ann"}, MULTIPLE),
    ],
)
def test_patch_refuses_an_identity_of_another_member_with_a_409_and_changes_nothing(
    rt, merchants, client, change, code
):
    create(client, phone="+14155550199", external_user_id="ann", email="ann@example.com")
    joe = create(client, phone="+18884546767", first_name="Joe").get_json()["membership"]["id"]
    response = client.patch(f"{API}/{joe}", json={**change, "first_name": "Joseph"}, headers=KEY)
    assert response.status_code == 409 and error(response) == code
    assert client.get(f"{API}/{joe}", headers=KEY).get_json()["membership"]["first_name"] == "Joe"


def test_delete_forfeits_the_spendable_points_erases_personal_data_and_keeps_the_ledger(rt, merchants, client):
    joe = create(client, phone="+18884546767", email="joe@example.com", first_name="Joe", metadata={"a": 1}).get_json()[
        "membership"
    ]["id"]
    give_points(rt, joe, 700)
    response = client.delete(f"{API}/{joe}", headers=KEY)
    assert response.status_code == 200
    gone = response.get_json()["membership"]
    assert gone["status"] == "DELETED" and gone["phone"] is None and gone["email"] is None
    assert gone["first_name"] is None and gone["metadata"] == {} and gone["points"] == 0
    with rt.db.reader() as s:
        entries = s.execute(
            select(LedgerEntry.type, LedgerEntry.points).where(LedgerEntry.member_id == joe).order_by(LedgerEntry.seq)
        ).all()
    assert [tuple(e) for e in entries] == [("ADDITION", 700), ("FORFEIT", -700)]
    assert ledger_rebuild.rebuild(rt) == []
    assert client.get(f"{API}/{joe}", headers=KEY).status_code == 404
    assert client.delete(f"{API}/{joe}", headers=KEY).status_code == 404
    again = create(client, phone="+18884546767", email="joe@example.com")
    assert again.get_json()["created"] is True and again.get_json()["membership"]["id"] != joe


def test_merge_moves_history_balance_holds_and_links_to_the_target_and_closes_the_source(rt, merchants, client):
    source = create(client, phone="+18884546767", email="joe@example.com").get_json()["membership"]["id"]
    target = create(client, external_user_id="user123").get_json()["membership"]["id"]
    give_points(rt, source, 700)
    give_points(rt, target, 100)
    with rt.db.transaction() as s:
        held = ledger.hold(
            s, members.lock(s, source), key="hold-1", points=200, channel="partner_api", reference=None, now=rt.clock()
        ).id
    response = client.post(
        f"{API}/merge",
        headers=KEY,
        json={"source_program_membership_id": source, "target_program_membership_id": target},
    )
    assert response.status_code == 200
    merged = response.get_json()["membership"]
    assert merged["id"] == target and merged["points"] == 600
    assert (merged["phone"], merged["email"], merged["external_user_id"]) == (
        "+18884546767",
        "joe@example.com",
        "user123",
    )
    with rt.db.transaction() as s:
        owners = set(s.execute(select(LedgerEntry.member_id)).scalars())
        member = members.lock(s, target)
        assert owners == {target} and (member.held_points, member.lifetime_earned) == (200, 800)
        entry = s.execute(select(LedgerEntry).where(LedgerEntry.id == held)).scalar_one()
        ledger.release_hold(s, member, entry, key="release-1", channel="partner_api", now=rt.clock())
    assert client.get(f"{API}/{target}", headers=KEY).get_json()["membership"]["points"] == 800
    assert ledger_rebuild.rebuild(rt) == []  # the stored balances of both still follow from the ledger
    assert client.get(f"{API}/{source}", headers=KEY).status_code == 404
    found = client.get(f"{API}/search?phone=%2B18884546767", headers=KEY).get_json()["membership"]
    assert found["id"] == target


def test_a_membership_cannot_be_merged_into_itself_and_a_closed_one_not_again(rt, merchants, client):
    a = create(client, external_user_id="a").get_json()["membership"]["id"]
    b = create(client, external_user_id="b").get_json()["membership"]["id"]
    same = client.post(
        f"{API}/merge", json={"source_program_membership_id": a, "target_program_membership_id": a}, headers=KEY
    )
    assert same.status_code == 400
    body = {"source_program_membership_id": a, "target_program_membership_id": b}
    assert client.post(f"{API}/merge", json=body, headers=KEY).status_code == 200
    assert client.post(f"{API}/merge", json=body, headers=KEY).status_code == 404


# --- magic link and member page ------------------------------------------------------


def page_path(link: str) -> str:
    return link.removeprefix("https://rewards.example.com")


def test_a_magic_link_opens_the_members_page_for_seven_days(rt, merchants, client, clock):
    joe = create(client, phone="+18884546767", first_name="Joe").get_json()["membership"]["id"]
    give_points(rt, joe, 1250)
    response = client.post(f"{API}/{joe}/magic-link", headers=KEY)
    link = response.get_json()
    assert response.status_code == 200
    assert link["expires_at"] == int((clock.now + timedelta(days=7)).timestamp())
    page = client.get(page_path(link["magic_link"]))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    for seen in (
        "Hi Joe!",
        "1,250",
        "Silver",
        "Free Cold Brew",
        "Ready to redeem",
        "Points added",
        "+1,250",
        "1,250 points on 2027-06-01",
    ):  # the program's points expire 365 days on
        assert seen in html
    assert "<script" not in html and "http" not in html.split("<main>")[0].replace("http-equiv", "")
    clock.now += timedelta(days=7, seconds=1)
    expired = client.get(page_path(link["magic_link"]))
    assert expired.status_code == 410 and "This link has expired" in expired.get_data(as_text=True)


@pytest.mark.parametrize("spoil", [lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"), lambda t: "garbage"])
def test_a_tampered_link_is_a_friendly_404_page(rt, merchants, client, spoil):
    joe = create(client, phone="+18884546767").get_json()["membership"]["id"]
    token = client.post(f"{API}/{joe}/magic-link", headers=KEY).get_json()["magic_link"].rsplit("/", 1)[1]
    page = client.get(f"/m/{spoil(token)}")
    assert page.status_code == 404 and "find this card" in page.get_data(as_text=True)
    assert page.content_type.startswith("text/html")


def test_the_link_of_a_removed_member_shows_a_closed_card(rt, merchants, client):
    joe = create(client, phone="+18884546767", include_magic_link=True).get_json()["membership"]
    client.delete(f"{API}/{joe['id']}", headers=KEY)
    page = client.get(page_path(joe["magic_link"]))
    assert page.status_code == 410 and "no longer active" in page.get_data(as_text=True)


# --- wallet tagging and idempotency -------------------------------------------------------


def tag_scheduled(rt, member_id: str) -> bool:
    return rt.dispatcher.pending("tag_shopify_customer", member_id)


def test_wallet_tagging_is_scheduled_when_an_api_write_gives_a_wallet_holder_an_email(rt, merchants, client):
    joe = create(client, phone="+18884546767", wallet_address="0xfeed").get_json()["membership"]["id"]
    assert not tag_scheduled(rt, joe)
    client.patch(f"{API}/{joe}", json={"email": "joe@example.com"}, headers=KEY)
    assert tag_scheduled(rt, joe)
    both = create(client, phone="+14155550199", email="ann@example.com", wallet_address="0xbeef").get_json()
    assert tag_scheduled(rt, both["membership"]["id"])
    other = create(
        client,
        headers={"X-API-Key": "other-bakery-key"},
        phone="+14155550100",
        email="amy@example.com",
        wallet_address="0xcafe",
    ).get_json()
    assert not tag_scheduled(rt, other["membership"]["id"])  # no Shopify admin API: nothing to tag


@pytest.mark.parametrize("where", ["header", "body"])
def test_an_idempotency_key_replays_the_first_answer_and_is_refused_with_another_body(rt, merchants, client, where):
    def send(**body):
        if where == "header":
            return client.post(API, json=body, headers={**KEY, "Idempotency-Key": "k-1"})
        return client.post(API, json={**body, "idempotency_key": "k-1"}, headers=KEY)

    first = send(phone="+18884546767", include_magic_link=True)
    replay = send(phone="+18884546767", include_magic_link=True)
    assert (first.status_code, replay.status_code) == (200, 200)
    assert replay.get_json() == first.get_json()
    reused = send(phone="+14155550199")
    assert reused.status_code == 409 and error(reused) == "IDEMPOTENCY_KEY_REUSED"
    assert member_count(rt) == 1


def test_the_openapi_document_describes_every_membership_endpoint(rt, merchants, client):
    paths = client.get("/partner-api/openapi.json").get_json()["paths"]
    expected = {
        API: {"get", "post"},
        f"{API}/{{member_id}}": {"get", "patch", "delete"},
        f"{API}/search": {"get"},
        f"{API}/{{member_id}}/magic-link": {"post"},
        f"{API}/merge": {"post"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
    assert "requestBody" in paths[API]["post"] and "200" in paths[API]["post"]["responses"]
