"""Errors clusterqi raises for people, not for tracebacks."""

__all__ = ["DataError"]


class DataError(ValueError):
    """Input data that cannot be used as it stands.

    The message names the file (base name), the raw column name, the row or practice code,
    the offending value and what was expected, so an analyst can open the file and fix it.

    Example usage::

        raise DataError(
            "practice_contactdetails_oct2024-open-data.csv, row 12 (PracticeCode 10002), "
            "column PracticeListSize: value 'abc' is not a whole number; expected a count >= 0"
        )
    """
