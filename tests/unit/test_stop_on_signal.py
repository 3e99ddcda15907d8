"""The relay's SIGTERM handler must never wait for a lock its own thread may hold."""
import signal
import threading

from sinks.relay import stop_on_signal


def test_handler_returns_even_while_the_main_thread_holds_the_events_lock():
    stop = threading.Event()
    handler = stop_on_signal(stop)
    # A signal handler runs on the main thread between bytecodes, e.g. inside stop.wait() while it
    # holds the Event's condition lock. `lambda *_: stop.set()` would block here forever.
    with stop._cond:
        handler(signal.SIGTERM, None)
        assert not stop.is_set()
    assert stop.wait(5), "stop was never set"
