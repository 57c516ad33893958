"""The sandbox bank: a small demo bank serving the UK OB Account and Transaction API v4.0 (read).

It runs as its own process (``python -m sandbox``) and is reached only over HTTP, like a real
bank; it imports nothing from ``gateway``, ``consent`` or ``policies``. Modules: ``people``
(users, accounts, payees), ``ledger`` (seeded bookings), ``seed`` (UK OB records), ``trust``
(the gateway assertion), ``pages`` (pagination), ``app`` (routes), ``__main__`` (CLI).
"""
