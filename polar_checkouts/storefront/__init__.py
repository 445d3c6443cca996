"""The storefront: the "Buy" button's endpoint, the checkout page and the receipt.

``views`` (thin), ``forms`` (what the button posts), ``context`` (what the pages show),
``responses`` (the JSON endpoints' bodies and Polar-shaped errors), ``payment`` (payment
providers) and ``checks`` (their system check).
"""
