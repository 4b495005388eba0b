"""Telling subscribers, by every channel: outbox -> dispatch -> delivery.

1. `outbox.record`, in the change's transaction: the `Notification` rows (so a change
   never commits without its message); `queue.kick` after commit.
2. `dispatch`, in a worker: one `Delivery` per subscriber told, each handed to the broker.
3. `delivery.attempt`, in a worker: one try, logged; delivered, retried later, or given up.
   `email` and `webhook` each send one message of their channel.

Nothing is lost on the way: each step is idempotent, and beat's sweep (every 30 s) picks
up whatever a broker outage or a dead worker left undone.
"""
