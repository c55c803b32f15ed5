"""Ctrl-C is recognised behind the error a library raises while cleaning up after it."""

from collector.interrupts import caused_by_interrupt


def raised(during_cleanup_of: BaseException) -> Exception:
    try:
        try:
            raise during_cleanup_of
        finally:
            raise RuntimeError("can't change 'autocommit' now: connection in transaction status ACTIVE")
    except RuntimeError as exc:
        return exc


def test_an_error_raised_while_unwinding_ctrl_c_counts_as_the_interrupt():
    assert caused_by_interrupt(raised(KeyboardInterrupt()))


def test_an_error_with_another_cause_is_not_an_interrupt():
    assert not caused_by_interrupt(raised(ValueError("bad")))
    assert not caused_by_interrupt(ValueError("alone"))


def test_a_cycle_in_the_chain_ends():
    first, second = ValueError("a"), ValueError("b")
    first.__context__, second.__context__ = second, first
    assert not caused_by_interrupt(first)
