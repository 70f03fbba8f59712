"""The after-commit sender's thread: a wake-up always finds a live thread, also after fork."""

from __future__ import annotations

import threading

from flask import Flask

from tiergate.mail.worker import MailWorker, mail_worker

from ..forking import true_in_a_forked_child
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
    assert true_in_a_forked_child(lambda: worker._thread is None and not worker._jobs), (
        "the child inherited the parent's thread"
    )
