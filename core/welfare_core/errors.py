"""Errors a user can act on.

Every message names the bad input and says what to change. Adapters map the
class to a SQLSTATE (SQL door) or a QgsProcessingException (QGIS door).
"""


class WelfareError(Exception):
    """Base class: bad input or an impossible request, explained for a user."""

    sqlstate = "22023"  # invalid_parameter_value

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class InputError(WelfareError):
    """A table, column or value is missing, malformed or out of range."""


class CrsError(InputError):
    """Geometry is in a missing, geographic or unexpected coordinate system."""


class GeometryError(InputError):
    """Geometry is empty, invalid or of the wrong type."""


class UnknownIdError(InputError):
    """An id refers to something that does not exist (unknown zone, target, ...)."""

    sqlstate = "23503"  # foreign_key_violation


class ValidationFailed(InputError):
    """Validation found problems; `problems` holds the full report (a DataFrame)."""

    sqlstate = "23514"  # check_violation

    def __init__(self, message: str, problems, *, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.problems = problems


class InfeasibleError(WelfareError):
    """A model has no solution under the given constraints."""

    sqlstate = "22000"  # data_exception


class CancelledError(WelfareError):
    """The user cancelled a long run."""

    sqlstate = "57014"  # query_canceled
