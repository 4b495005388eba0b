"""The embedded broker: kombu's file-system transport, with messages written whole.

kombu's ``filesystem`` transport creates a message file under its final name and then
writes it, and the consumer takes any file with that name without waiting for the
writer's lock: a worker polling in between reads an empty message and stops with
"Unrecoverable error: JSONDecodeError". Here a message is written under a name no
consumer picks up and renamed into place, so it appears whole or not at all.
Only ``make run`` and the tests' embedded defaults use it; production names a broker.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        path = os.path.join(self.data_folder_out, name)
        partial = path + ".partial"  # "<ts>_<id>.<queue>.msg.partial" matches no queue
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.rename(partial, path)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {path!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
    global_state = filesystem.Transport.global_state
