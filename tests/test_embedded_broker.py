"""The embedded broker (`make run`'s and the tests' default) shows a worker only whole
messages: kombu's own file-system transport creates the file under its final name and then
writes it, and a worker polling in between read an empty message and stopped
("Unrecoverable error: JSONDecodeError", seen in CI)."""

import contextlib
import os
import threading

from kombu import Connection

from statuspage.celery import app

TRANSPORT = "statuspage.broker:Transport"
SIZE = 1_000_000


def options(tmp_path):
    folders = {}
    for key, sub in (
        ("data_folder_in", "queue"),
        ("data_folder_out", "queue"),
        ("processed_folder", "processed"),
        ("control_folder", "control"),
    ):
        (tmp_path / sub).mkdir(exist_ok=True)
        folders[key] = str(tmp_path / sub)
    return {**folders, "store_processed": False}


def test_celery_uses_it_when_no_broker_is_named():
    if app.conf.broker_url != "filesystem://":
        assert app.conf.broker_transport is None  # a named broker is used as named
        return
    with app.connection_for_write() as connection:
        assert connection.transport_cls == TRANSPORT


def test_a_message_file_under_its_queue_name_is_always_whole(tmp_path):
    """While 300 messages of 1 MB are sent, a watcher lists the folder as fast as it can:
    every file bearing the queue's name already holds the whole message (kombu's transport
    showed thousands of short ones in the same loop)."""
    transport_options = options(tmp_path)
    body = "x" * SIZE
    sent = threading.Event()

    def produce():
        with Connection("filesystem://", transport=TRANSPORT, transport_options=transport_options) as conn:
            queue = conn.SimpleQueue("whole")
            for n in range(300):
                queue.put({"n": n, "body": body})
        sent.set()

    producer = threading.Thread(target=produce)
    producer.start()
    looked = short = 0
    while not sent.is_set():
        for entry in os.scandir(tmp_path / "queue"):
            if entry.name.endswith(".whole.msg"):
                looked += 1
                with contextlib.suppress(FileNotFoundError):
                    short += entry.stat().st_size < SIZE
    producer.join(timeout=60)
    assert looked > 300 and short == 0

    with Connection("filesystem://", transport=TRANSPORT, transport_options=transport_options) as conn:
        queue = conn.SimpleQueue("whole")
        received = []
        for _ in range(300):
            message = queue.get(timeout=5)
            received.append(message.payload["n"])
            assert len(message.payload["body"]) == SIZE
            message.ack()
    assert sorted(received) == list(range(300))
