"""Magento-shaped errors.

Magento answers every failure as ``{"message": <template>, "parameters": <list|dict>}`` where the
template keeps its ``%1`` / ``%name`` placeholders.  Drivers must log the parameters to be useful,
so the sandbox reproduces the shape (and Magento's own texts where we know them) exactly.
"""

from __future__ import annotations

import re
from typing import Any

Params = list[Any] | dict[str, Any]

# Magento's own message templates (kept verbatim: drivers and tests match on them).
ROUTE_NOT_FOUND = "Request does not match any route."
NOT_AUTHORIZED = "The consumer isn't authorized to access %resources."
SIGN_IN_INCORRECT = (
    "The account sign-in was incorrect or your account is disabled temporarily. "
    "Please wait and try again later."
)
UNKNOWN_PROPERTY = 'Property "%1" does not have accessor method "%2" in class "%3".'
REQUIRED_FIELD = '"%fieldName" is required. Enter and try again.'
TYPE_MISMATCH = 'The "%1" value\'s type is invalid. The "%2" type was expected. Verify and try again.'
DECODING_ERROR = "Decoding error."
NO_SUCH_ENTITY = "No such entity with %fieldName = %fieldValue"
INVALID_FIELD_VALUE = 'Invalid value of "%value" provided for the %fieldName field.'
PRODUCT_NOT_FOUND = "The product that was requested doesn't exist. Verify the product and try again."
URL_KEY_EXISTS = "URL key for specified store already exists."
ATTRIBUTE_NOT_FOUND = (
    'The attribute with a "%1" attributeCode doesn\'t exist. Verify the attribute and try again.'
)
OPTION_LABEL_EXISTS = 'Admin store attribute option label "%1" is already exists.'
INTERNAL_ERROR = "Internal Error. Details are available in Magento log file. Report ID: %1"
MULTIPLE_INPUT_ERRORS = "One or more input exceptions have occurred."


class MagentoError(Exception):
    """An error Magento would answer with; raised anywhere, rendered by the server."""

    def __init__(
        self,
        status: int,
        message: str,
        parameters: Params | None = None,
        *,
        errors: list[MagentoError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.message = message
        self.parameters: Params = parameters if parameters is not None else []
        self.errors = errors or []
        self.headers = headers or {}
        super().__init__(self.rendered())

    def body(self) -> dict[str, Any]:
        """The JSON body Magento sends."""
        out: dict[str, Any] = {"message": self.message, "parameters": self.parameters}
        if self.errors:
            out["errors"] = [{"message": e.message, "parameters": e.parameters} for e in self.errors]
        return out

    def rendered(self) -> str:
        """The message with its placeholders filled (what async bulk operations store)."""
        return render_message(self.message, self.parameters)


_POSITIONAL = re.compile(r"%(\d+)")


def render_message(message: str, parameters: Params | None) -> str:
    """Fill Magento placeholders: ``%1`` from a list, ``%name`` from a dict."""
    if not parameters:
        return message
    if isinstance(parameters, dict):
        out = message
        for key in sorted(parameters, key=len, reverse=True):
            out = out.replace(f"%{key}", str(parameters[key]))
        return out

    def sub(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        return str(parameters[index]) if 0 <= index < len(parameters) else match.group(0)

    return _POSITIONAL.sub(sub, message)


def input_errors(errors: list[MagentoError]) -> MagentoError:
    """Magento's InputException: one error is answered as itself, several are aggregated."""
    if len(errors) == 1:
        return errors[0]
    return MagentoError(400, MULTIPLE_INPUT_ERRORS, [], errors=errors)


def bad_request(message: str, parameters: Params | None = None) -> MagentoError:
    return MagentoError(400, message, parameters)


def not_found(message: str, parameters: Params | None = None) -> MagentoError:
    return MagentoError(404, message, parameters)


def no_such_entity(field: str, value: Any, status: int = 404) -> MagentoError:
    return MagentoError(status, NO_SUCH_ENTITY, {"fieldName": field, "fieldValue": value})


def required_field(name: str) -> MagentoError:
    return MagentoError(400, REQUIRED_FIELD, {"fieldName": name})


def invalid_field_value(field: str, value: Any) -> MagentoError:
    return MagentoError(400, INVALID_FIELD_VALUE, {"value": value, "fieldName": field})


def product_not_found() -> MagentoError:
    return MagentoError(404, PRODUCT_NOT_FOUND, [])


def attribute_not_found(code: str) -> MagentoError:
    return MagentoError(404, ATTRIBUTE_NOT_FOUND, [code])
