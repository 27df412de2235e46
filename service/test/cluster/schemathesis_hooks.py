"""Auth for schemathesis' run against the local cluster (service/test/cluster/api-contract.test.ts).

Two providers, each logging in through the API itself:
- the admin operations, and a user's presence (which only an admin may read for any user), get an admin's
  bearer token (AUTH_ADMIN_USERNAME / AUTH_ADMIN_PASSWORD; the test creates that admin in the database), so they
  are exercised past 403;
- every other operation gets a regular user's token. That user is registered afresh whenever a token is needed
  (open registration), because the run itself may disable it, force it out or change its password: a 401 makes
  schemathesis ask again (its retry_on default), and an old user's password is never needed again.

Each request sends its own X-Forwarded-For (the cluster trusts nginx, which appends the caller's address), so the
per-address login limits never refuse the hook's own logins, and the fuzzed ones leave none behind for the tests
that run after this one.
"""

import itertools
import os
import secrets

import requests
import schemathesis

BASE = os.environ["AUTH_BASE_URL"]
ADMIN_OPERATIONS = ["forceLogout", "updateUser", "onlineUsers", "userPresence"]
_addresses = itertools.count(1)


def _forwarded_for() -> str:
    n = next(_addresses)
    return f"198.18.{(n // 250) % 250}.{n % 250 + 1}"  # 198.18.0.0/15: the benchmarking range, never a real caller


def _post_credentials(path: str, what: str, username: str, password: str) -> dict:
    """POSTs {username, password} from an address of its own; anything but 201 stops the run, saying why."""
    response = requests.post(
        f"{BASE}{path}",
        json={"username": username, "password": password},
        headers={"X-Forwarded-For": _forwarded_for()},
        timeout=30,
    )
    if response.status_code != 201:
        raise RuntimeError(f"{what} {username}: {response.status_code} {response.text[:200]}")
    return response.json()


def _login(username: str, password: str) -> str:
    return _post_credentials("/v1/sessions", "login as", username, password)["token"]


def _bearer(case, token: str) -> None:
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}


@schemathesis.auth().apply_to(operation_id=ADMIN_OPERATIONS)
class AdminAuth:
    def get(self, case, context):
        return _login(os.environ["AUTH_ADMIN_USERNAME"], os.environ["AUTH_ADMIN_PASSWORD"])

    def set(self, case, data, context):
        _bearer(case, data)


@schemathesis.auth().skip_for(operation_id=ADMIN_OPERATIONS)
class UserAuth:
    def get(self, case, context):
        username = f"st-{secrets.token_hex(6)}"
        password = secrets.token_urlsafe(18)
        _post_credentials("/v1/users", "register", username, password)
        return _login(username, password)

    def set(self, case, data, context):
        _bearer(case, data)


@schemathesis.hook
def before_call(context, case, **kwargs):
    """Every request, not only the hook's logins, comes from an address of its own: the fuzzed logins (most of them
    failures) would otherwise fill the per-address login limit of 127.0.0.1, which the rest of the suite shares."""
    case.headers = {**(case.headers or {}), "X-Forwarded-For": _forwarded_for()}
