"""The fake's GitHub App endpoint checks an App's JWT as GitHub does, and its tokens expire as GitHub's do."""

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
import requests

from collector.testing.fake_github import FakeGitHub
from tests.app_keys import APP_ID, INSTALLATION_ID, app_key


@pytest.fixture
def fake():
    with FakeGitHub(tokens=()) as gh:
        gh.add_app(APP_ID, app_key().public_pem, INSTALLATION_ID)
        yield gh


def mint_with(fake, token, installation=INSTALLATION_ID):
    return requests.post(f"{fake.base_url}/app/installations/{installation}/access_tokens",
                         headers={"Authorization": f"Bearer {token}"}, timeout=10)  # fmt: skip


def claims(**changes):
    now = int(time.time())
    return {"iat": now - 60, "exp": now + 300, "iss": APP_ID, **changes}


def signed(payload, key=None):
    return jwt.encode(payload, key if key is not None else app_key().private_pem, algorithm="RS256")


def hs256_with_the_public_key():
    """The algorithm-confusion attack: an HMAC keyed with the App's public key (PyJWT refuses to make one)."""

    def part(value):
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=")

    signing_input = part({"alg": "HS256", "typ": "JWT"}) + b"." + part(claims())
    mac = hmac.new(app_key().public_pem, signing_input, hashlib.sha256).digest()
    return (signing_input + b"." + base64.urlsafe_b64encode(mac).rstrip(b"=")).decode()


def test_the_fake_mints_a_token_for_a_valid_jwt_and_accepts_it_as_token_or_bearer(fake):
    answer = mint_with(fake, signed(claims()))
    assert answer.status_code == 201
    token = answer.json()["token"]
    assert answer.json()["expires_at"].endswith("Z")
    for scheme in ("token", "Bearer"):
        assert requests.get(f"{fake.base_url}/rate_limit", headers={"Authorization": f"{scheme} {token}"},
                            timeout=10).status_code == 200  # fmt: skip


@pytest.mark.parametrize(
    "make_token",
    [
        pytest.param(lambda: signed(claims(iss="999")), id="another-app"),
        pytest.param(lambda: signed(claims(), key=app_key("other").private_pem), id="signed-by-another-key"),
        pytest.param(lambda: signed(claims(exp=int(time.time()) + 3600)), id="exp-past-10-minutes"),
        pytest.param(lambda: signed(claims(exp=int(time.time()) - 10, iat=int(time.time()) - 100)), id="expired"),
        pytest.param(lambda: signed({"iat": int(time.time()) - 60, "iss": APP_ID}), id="no-exp"),
        pytest.param(hs256_with_the_public_key, id="hs256-keyed-with-the-public-key"),
        pytest.param(lambda: "not.a.jwt", id="garbage"),
    ],
)
def test_the_fake_answers_401_to_a_bad_jwt(fake, make_token):
    answer = mint_with(fake, make_token())
    assert answer.status_code == 401 and fake.minted == []


def test_an_installation_token_stops_working_when_it_expires(fake):
    now = [1_000_000.0]
    fake.clock = lambda: now[0]
    token = mint_with(fake, signed(claims())).json()["token"]
    assert requests.get(f"{fake.base_url}/rate_limit", headers={"Authorization": f"token {token}"},
                        timeout=10).status_code == 200  # fmt: skip
    now[0] += fake.token_lifetime
    assert requests.get(f"{fake.base_url}/rate_limit", headers={"Authorization": f"token {token}"},
                        timeout=10).status_code == 401  # fmt: skip


def test_a_jwt_cannot_read_the_api_and_an_unknown_installation_is_404(fake):
    assert mint_with(fake, signed(claims()), installation=INSTALLATION_ID + 1).status_code == 404
    assert requests.get(f"{fake.base_url}/rate_limit", headers={"Authorization": f"Bearer {signed(claims())}"},
                        timeout=10).status_code == 401  # fmt: skip
