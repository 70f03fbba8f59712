"""The after-commit sender's thread: a wake-up always finds a live thread, also after fork."""

from __future__ import annotations

import os
import threading
import warnings

from flask import Flask

from tiergate.mail.worker import MailWorker, mail_worker

from .conftest import SMTPServer, delivered


def test_a_dead_thread_handle_does_not_swallow_a_wake_up(mail_app: Flask, smtp: SMTPServer):
    worker = mail_worker(mail_app)
    ended = threading.Thread(target=lambda: None)
    ended.start()
    ended.join()
    # What a thread that died without clearing its handle (or a forked parent's) leaves.
    worker._thread = ended
    worker.wake()
    delivered(mail_app)
    assert worker._thread is not ended
    assert worker._thread is None or worker._thread.is_alive()


def test_a_forked_child_starts_its_own_thread(mail_app: Flask, smtp: SMTPServer):
    worker: MailWorker = mail_worker(mail_app)
    worker.wake()  # billing notices on: the thread stays to sweep again
    delivered(mail_app)
    assert worker._thread is not None and worker._thread.is_alive()
    with warnings.catch_warnings():
        # Python warns that forking a process with threads may deadlock: the child here
        # only reads the worker's attributes and exits.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit status
        code = 2
        try:
            code = 0 if worker._thread is None and not worker._jobs else 1
        finally:
            os._exit(code)  # never run the rest of the test session in the child
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, "the child inherited the parent's thread"
