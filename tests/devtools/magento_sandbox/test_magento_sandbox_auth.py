"""Bearer tokens: the integration token, admin tokens and their expiry."""

from __future__ import annotations

import time

import httpx

from devtools.magento_sandbox import errors

UNAUTHORIZED = {"message": errors.NOT_AUTHORIZED, "parameters": {"resources": "Magento_Catalog::products"}}


def test_no_or_wrong_token_is_401(sb) -> None:
    url = f"{sb.rest_url}/V1/products/x"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url).json() == UNAUTHORIZED
    wrong = httpx.get(url, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json() == UNAUTHORIZED
    categories = httpx.get(f"{sb.rest_url}/V1/categories/2")
    assert categories.json()["parameters"] == {"resources": "Magento_Catalog::categories"}


def test_integration_token(client: httpx.Client) -> None:
    assert client.get("/V1/store/websites").status_code == 200


def test_unknown_route_is_404_before_auth(sb) -> None:
    assert httpx.get(f"{sb.rest_url}/V1/nothing-here").status_code == 404


def test_admin_token_flow(sb) -> None:
    login = httpx.post(
        f"{sb.rest_url}/V1/integration/admin/token",
        json={"username": sb.admin_username, "password": sb.admin_password},
    )
    assert login.status_code == 200
    token = login.json()
    assert isinstance(token, str) and token
    ok = httpx.get(f"{sb.rest_url}/V1/store/storeViews", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    assert [v["code"] for v in ok.json()] == ["admin", "default", "fr", "de"]


def test_wrong_credentials(sb) -> None:
    response = httpx.post(f"{sb.rest_url}/V1/integration/admin/token", json={"username": "admin", "password": "x"})
    assert response.status_code == 401
    assert response.json() == {"message": errors.SIGN_IN_INCORRECT, "parameters": []}
    missing = httpx.post(f"{sb.rest_url}/V1/integration/admin/token", json={"username": "admin"})
    assert missing.status_code == 400 and missing.json()["parameters"] == {"fieldName": "password"}


def test_admin_token_expires(sb) -> None:
    sb.configure(admin_token_ttl_seconds=0.2)
    token = httpx.post(
        f"{sb.rest_url}/V1/integration/admin/token",
        json={"username": sb.admin_username, "password": sb.admin_password},
    ).json()
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{sb.rest_url}/V1/products/x", headers=headers).status_code == 404  # valid: product missing
    time.sleep(0.3)
    expired = httpx.get(f"{sb.rest_url}/V1/products/x", headers=headers)
    assert expired.status_code == 401 and expired.json() == UNAUTHORIZED
    # the integration token does not expire
    assert httpx.get(f"{sb.rest_url}/V1/store/websites", headers=sb.headers).status_code == 200
