"""``python -m devtools.magento_sandbox --port 8088 --token T`` — run the sandbox in the foreground."""

from __future__ import annotations

import argparse

from .server import Settings, serve


def websites_arg(text: str) -> dict[str, list[str]]:
    """`base=default,fr,de;mobile=mobile` -> {"base": ["default", "fr", "de"], "mobile": ["mobile"]}."""
    out: dict[str, list[str]] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        code, sep, views = part.partition("=")
        codes = [c.strip() for c in views.split(",") if c.strip()]
        if not sep or not code.strip() or not codes:
            raise argparse.ArgumentTypeError(f"expected website=view,view;... not {part!r}")
        out[code.strip()] = codes
    if not out:
        raise argparse.ArgumentTypeError("no website given")
    return out


def currencies_arg(text: str) -> dict[str, str]:
    """`mobile=USD,b2b=GBP` -> {"mobile": "USD", "b2b": "GBP"}."""
    pairs = [p.strip().partition("=") for p in text.split(",") if p.strip()]
    if any(not sep or not code or not currency for code, sep, currency in pairs):
        raise argparse.ArgumentTypeError(f"expected website=CURRENCY,... not {text!r}")
    return {code.strip(): currency.strip() for code, _, currency in pairs}


def main(argv: list[str] | None = None) -> None:
    defaults = Settings()
    parser = argparse.ArgumentParser(prog="python -m devtools.magento_sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8088)
    parser.add_argument("--token", default=defaults.token, help="integration (bearer) token")
    parser.add_argument("--admin-username", default=defaults.admin_username)
    parser.add_argument("--admin-password", default=defaults.admin_password)
    parser.add_argument("--store-views", default=",".join(defaults.store_views), help="comma-separated codes")
    parser.add_argument("--websites", type=websites_arg, default=None,
                        help="websites and their store views, in id order: 'base=default,fr,de;mobile=mobile' "
                        "(default: one website 'base' holding --store-views)")  # fmt: skip
    parser.add_argument("--base-currencies", type=currencies_arg, default=None,
                        help="website base currencies: 'mobile=USD' (default EUR)")  # fmt: skip
    parser.add_argument("--price-scope", choices=("global", "website"), default=defaults.price_scope)
    parser.add_argument("--write-delay-ms", type=int, default=0)
    parser.add_argument("--bulk-operation-delay-ms", type=int, default=0)
    parser.add_argument("--admin-token-ttl-seconds", type=float, default=defaults.admin_token_ttl_seconds)
    args = parser.parse_args(argv)
    print(f"Magento sandbox on http://{args.host}:{args.port}/rest (token {args.token!r})", flush=True)
    serve(
        host=args.host,
        port=args.port,
        token=args.token,
        admin_username=args.admin_username,
        admin_password=args.admin_password,
        store_views=[c.strip() for c in args.store_views.split(",") if c.strip()],
        websites=args.websites,
        base_currencies=args.base_currencies,
        price_scope=args.price_scope,
        write_delay_ms=args.write_delay_ms,
        bulk_operation_delay_ms=args.bulk_operation_delay_ms,
        admin_token_ttl_seconds=args.admin_token_ttl_seconds,
    )


if __name__ == "__main__":
    main()
