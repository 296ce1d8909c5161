"""Errors raised by the pure-Python layer, in the same hierarchy as the native ones."""

from __future__ import annotations

from ._framelock import FramelockError

__all__ = ["OutOfRangeError", "check_range", "U8", "U16", "U32", "U64", "I32", "USIZE"]

U8 = (0, 2**8 - 1)
U16 = (0, 2**16 - 1)
U32 = (0, 2**32 - 1)
U64 = (0, 2**64 - 1)
I32 = (-(2**31), 2**31 - 1)
USIZE = (0, 2**64 - 1)


class OutOfRangeError(FramelockError, ValueError, OverflowError):
    """A number outside the range its argument takes: ``argument`` names it, ``value`` is what
    was given, ``min`` and ``max`` the bounds. Also a ``ValueError`` and an ``OverflowError``."""

    def __init__(self, argument: str, value: int, lo: int, hi: int) -> None:
        super().__init__(f"{argument} must be in {lo}..={hi}, not {value}")
        self.argument = argument
        self.value = value
        self.min = lo
        self.max = hi


OutOfRangeError.__module__ = "framelock"


def check_range(**arguments: tuple[object, tuple[int, int]]) -> None:
    """Raises ``OutOfRangeError`` for the first ``name=(value, (lo, hi))`` out of its range.

    Called where the native module raised a bare ``OverflowError``, to say which argument it was;
    non-integers are left to the native call's ``TypeError``.
    """
    for name, (value, (lo, hi)) in arguments.items():
        if isinstance(value, int) and not lo <= value <= hi:
            raise OutOfRangeError(name, value, lo, hi)
