"""The baseline of the worker benchmark: an RQ job that does nothing.

Enqueued on the ``webhooks`` queue with the options ``process_delivery`` has,
and run by the same ``flask --app app worker`` command as the orders, so the
ratio isolates what settling an order costs.
"""


def noop() -> None:
    """Nothing at all."""
