"""The example shop's Django project (settings, urls, WSGI)."""
