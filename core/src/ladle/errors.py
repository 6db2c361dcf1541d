"""Every error ladle raises, in one tree.

    LadleError                      base; `.retryable` says whether running again can help
    +-- ConfigError                 bad or missing configuration
    |   +-- ConfigKeyMissing        a config/secret key has no value (names env var and toml key)
    |   +-- UnknownDestination      a destination name or object ladle cannot use
    +-- ExtractError                a resource failed while producing items (names the resource)
    |   +-- ItemNotSerializable     an item cannot be stored on disk by `pipeline.extract`
    +-- SchemaError                 data cannot be given a schema
    |   +-- ContractViolation       a schema contract set to "freeze" was broken
    |   +-- UnsupportedValue        a value ladle cannot store, e.g. of an unknown type or cyclic
    |                               (names table and column)
    +-- DestinationError            the destination failed; nothing of the package was committed
    |   +-- LoadError               a package could not be loaded (names the table)
    +-- StateConflict               another worker committed the same state scope first; nothing
                                    of this load was committed, and a retry loads what is missing

Errors are plain data: every field is a keyword argument, so they pickle and cross process
boundaries (orchestrators run tasks in other processes). The original exception stays on
`__cause__` (`raise ... from exc`).
"""

from __future__ import annotations

from typing import Any, ClassVar


class LadleError(Exception):
    """Base of all ladle errors. `retryable` tells an orchestrator whether a retry can help."""

    retryable: ClassVar[bool] = False

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        for key, value in details.items():
            setattr(self, key, value)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, self.details))

    def __str__(self) -> str:
        return self.message


def _rebuild(cls: type[LadleError], message: str, details: dict[str, Any]) -> LadleError:
    return cls(message, **details)


class ConfigError(LadleError):
    """Configuration is missing or invalid."""


class ConfigKeyMissing(ConfigError, KeyError):
    """A `ladle.config[...]` / `ladle.secrets[...]` key has no value anywhere."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.message


class UnknownDestination(ConfigError):
    """The destination name or object is not one ladle knows."""


class ExtractError(LadleError):
    """A resource raised while producing items; nothing of this run was loaded."""


class ItemNotSerializable(ExtractError):
    """An item yielded by a resource cannot be stored (cyclic, nested too deep, unknown type)."""


class SchemaError(LadleError):
    """Data cannot be fitted into a schema."""


class ContractViolation(SchemaError):
    """A schema contract set to `freeze` was violated."""


class UnsupportedValue(SchemaError):
    """A value has a Python type ladle cannot store."""


class DestinationError(LadleError):
    """The destination failed; the package being loaded was rolled back."""

    retryable = True


class LoadError(DestinationError):
    """A load package could not be loaded into the destination."""


class StateConflict(LadleError):
    """Another worker committed the same state scope (e.g. a resource's cursor) since this
    load's data was extracted. Nothing of this load was committed; a retry syncs the newer state
    and loads only what is still missing."""

    retryable = True


__all__ = [
    "ConfigError",
    "ConfigKeyMissing",
    "ContractViolation",
    "DestinationError",
    "ExtractError",
    "ItemNotSerializable",
    "LadleError",
    "LoadError",
    "SchemaError",
    "StateConflict",
    "UnknownDestination",
    "UnsupportedValue",
]
