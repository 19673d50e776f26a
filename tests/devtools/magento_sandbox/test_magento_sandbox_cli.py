"""`python -m devtools.magento_sandbox`: websites, base currencies and the price scope from the command line."""

from __future__ import annotations

import argparse

import pytest

from devtools.magento_sandbox import __main__ as cli

pytestmark = pytest.mark.fast


def test_websites_and_currencies_parse_in_id_order():
    assert cli.websites_arg("base=default,fr,de; mobile=mobile") == {"base": ["default", "fr", "de"],
                                                                      "mobile": ["mobile"]}  # fmt: skip
    assert list(cli.websites_arg("base=default;b2b=b2b")) == ["base", "b2b"]
    assert cli.currencies_arg("mobile=USD, b2b=GBP") == {"mobile": "USD", "b2b": "GBP"}
    for bad in ("base", "base=", "=x", ";"):
        with pytest.raises(argparse.ArgumentTypeError):
            cli.websites_arg(bad)
    with pytest.raises(argparse.ArgumentTypeError):
        cli.currencies_arg("mobile")


def test_the_flags_reach_serve(monkeypatch):
    seen = {}
    monkeypatch.setattr(cli, "serve", lambda **kwargs: seen.update(kwargs))
    cli.main(["--port", "9", "--websites", "base=default,fr;mobile=mobile", "--base-currencies", "mobile=USD",
              "--price-scope", "website"])  # fmt: skip
    assert seen["websites"] == {"base": ["default", "fr"], "mobile": ["mobile"]}
    assert (seen["base_currencies"], seen["price_scope"], seen["port"]) == ({"mobile": "USD"}, "website", 9)
    cli.main([])
    assert (seen["websites"], seen["base_currencies"], seen["price_scope"]) == (None, None, "global")
