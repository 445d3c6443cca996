"""A minimal shop page for the browser tests: the catalogue with a buy button each.

Mounted at ``shop/`` by ``tests/urls.py``; the example project's shop does the same with
its own layout.
"""

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import path

from polar_checkouts import services

PAGE = """{% load polar_checkouts static %}<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Test shop</title>
<link rel="stylesheet" href="{% static 'polar_checkouts/checkout.css' %}"></head>
<body class="polar-page"><main class="polar-main"><h1>Test shop</h1>
{% for m in messages %}<p class="polar-message polar-message--{{ m.tags }}">{{ m }}</p>{% endfor %}
<ul>{% for product in products %}
<li class="polar-card" data-product-id="{{ product.id }}"><h2>{{ product.name }}</h2>
<p>{{ product|polar_first_price|polar_price }}</p>
{% polar_checkout_button product %}</li>
{% endfor %}</ul></main></body></html>"""


def home(request: HttpRequest) -> HttpResponse:
    """The catalogue, read through the service layer."""
    template = engines["django"].from_string(PAGE)
    return HttpResponse(template.render({"products": services.list_products()}, request))


urlpatterns = [path("", home, name="test-shop")]
