"""Driver discovery (IEC's DriverDiscovery): Python entry points in group `iec.drivers`.

The built-in drivers register the same way, so a pip-installed package adds a driver with no
change to IEC: `[project.entry-points."iec.drivers"] mydriver = "my_pkg.driver:MyDriver"`.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from drivers.base import Driver

GROUP = "iec.drivers"


class UnknownDriver(LookupError):
    pass


@cache
def _load() -> tuple[dict[str, type[Driver]], dict[str, str]]:
    found: dict[str, type[Driver]] = {}
    broken: dict[str, str] = {}
    for point in entry_points(group=GROUP):
        try:
            driver = point.load()
        except Exception as error:  # a broken plugin must not take the others down
            broken[point.name] = f"{type(error).__name__}: {error}"
            continue
        if not (isinstance(driver, type) and issubclass(driver, Driver)):
            broken[point.name] = f"{point.value} is not a drivers.base.Driver subclass"
            continue
        found[point.name] = driver
    return dict(sorted(found.items())), broken


def discover() -> dict[str, type[Driver]]:
    """Installed drivers by entry point name."""
    return _load()[0]


def broken() -> dict[str, str]:
    """Entry points that failed to load, with the reason (shown by `iec drivers`)."""
    return _load()[1]


def get(name: str) -> type[Driver]:
    drivers = discover()
    if name not in drivers:
        known = ", ".join(drivers) or "none"
        reason = f"; it failed to load: {broken()[name]}" if name in broken() else ""
        raise UnknownDriver(f"driver {name!r} is not installed (installed: {known}){reason}")
    return drivers[name]
