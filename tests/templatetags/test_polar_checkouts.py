"""The ``polar_checkouts`` template library: the checkout button and money filters."""

from __future__ import annotations

import re

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.test import RequestFactory, override_settings
from django.utils import translation

from polar_checkouts.templatetags.polar_checkouts import describe_price

PRODUCT_ID = "0a8c5e7f-2b3d-4c1e-8f9a-1b2c3d4e5f01"
PRICE_ID = "0a8c5e7f-2b3d-4c1e-8f9a-1b2c3d4e5f02"


def render(source: str, **context) -> str:
    request = context.pop("request", None) or RequestFactory().get("/shop/page/?x=1")
    return Template("{% load polar_checkouts %}" + source).render(
        Context({"request": request, **context})
    )


def hidden_inputs(html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))


def test_button_is_a_plain_post_form_with_csrf_token():
    html = render("{% polar_checkout_button pid %}", pid=PRODUCT_ID)
    assert '<form method="post" action="/checkout/create/"' in html
    inputs = hidden_inputs(html)
    assert inputs["csrfmiddlewaretoken"]
    assert inputs["product_id"] == PRODUCT_ID
    assert inputs["mode"] == "embedded"
    assert inputs["next"] == "/shop/page/?x=1"
    assert "amount" not in inputs
    assert "price_id" not in inputs
    assert '<button type="submit" class="polar-checkout-button">Buy now</button>' in html
    assert "<script" not in html


OTHER_ID = "0a8c5e7f-2b3d-4c1e-8f9a-1b2c3d4e5f03"


def product_inputs(html: str) -> list[str]:
    return re.findall(r'<input type="hidden" name="product_id" value="([^"]*)"', html)


@pytest.mark.parametrize(
    ("source", "context"),
    [
        ('{% polar_checkout_button products="' + PRODUCT_ID + ", " + OTHER_ID + '" %}', {}),
        ("{% polar_checkout_button products=ids %}", {"ids": [PRODUCT_ID, OTHER_ID.upper()]}),
        (
            "{% polar_checkout_button products=items %}",
            {"items": [{"id": PRODUCT_ID}, {"id": OTHER_ID}]},
        ),
        ("{% polar_checkout_button products=ids %}", {"ids": [PRODUCT_ID, OTHER_ID, PRODUCT_ID]}),
    ],
)
def test_button_with_several_products(source, context):
    html = render(source, **context)
    # One product_id input per product, in order: Polar selects the first.
    assert product_inputs(html) == [PRODUCT_ID, OTHER_ID]
    assert "price_id" not in hidden_inputs(html)


def test_button_with_one_product_still_posts_one_product_id():
    assert product_inputs(render("{% polar_checkout_button pid %}", pid=PRODUCT_ID)) == [PRODUCT_ID]
    assert product_inputs(render("{% polar_checkout_button products=pid %}", pid=PRODUCT_ID)) == [
        PRODUCT_ID
    ]


def test_button_options():
    html = render(
        '{% polar_checkout_button price_id=pid label="Get it" amount=750 mode="hosted" '
        'css_class="big red" next="/back/" %}',
        pid=PRICE_ID.upper(),
    )
    inputs = hidden_inputs(html)
    assert inputs["price_id"] == PRICE_ID
    assert "product_id" not in inputs
    assert inputs["amount"] == "750"
    assert inputs["mode"] == "hosted"
    assert inputs["next"] == "/back/"
    assert 'class="polar-checkout-button big red">Get it</button>' in html


def test_button_escapes_its_label():
    html = render("{% polar_checkout_button pid label=label %}", pid=PRODUCT_ID, label="<b>x</b>")
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert "<b>x</b>" not in html


def test_button_template_is_overridable(tmp_path):
    custom = tmp_path / "polar_checkouts"
    custom.mkdir()
    (custom / "button.html").write_text("CUSTOM {{ product_id }} {{ label }}")
    templates = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [str(tmp_path)],
            "APP_DIRS": True,
        }
    ]
    with override_settings(TEMPLATES=templates):
        html = render("{% polar_checkout_button pid %}", pid=PRODUCT_ID)
    assert html == f"CUSTOM {PRODUCT_ID} Buy now"


@pytest.mark.parametrize(
    "source",
    [
        "{% polar_checkout_button %}",
        "{% polar_checkout_button pid price_id=pid %}",
        '{% polar_checkout_button "not-a-uuid" %}',
        '{% polar_checkout_button pid mode="popup" %}',
        '{% polar_checkout_button pid amount="ten" %}',
        "{% polar_checkout_button pid products=pid %}",
        "{% polar_checkout_button products=pid price_id=pid %}",
        '{% polar_checkout_button products="" %}',
        '{% polar_checkout_button products=" , " %}',
        '{% polar_checkout_button products="not-a-uuid,x" %}',
    ],
)
def test_button_developer_errors_are_loud(source):
    with pytest.raises(TemplateSyntaxError):
        render(source, pid=PRODUCT_ID)


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (1900, "usd", "$19.00"),
        (5, "usd", "$0.05"),
        (0, "usd", "$0.00"),
        (-190, "usd", "-$1.90"),
        (1000, "EUR", "€10.00"),
        (1234, "sek", "SEK\u00a012.34"),
        (500, "jpy", "¥500"),
        (1500, "kwd", "KWD\u00a01.500"),
        (None, "usd", ""),
    ],
)
def test_money_filter_formats_per_currency(amount, currency, expected):
    # Minor units per currency: JPY has none, KWD three (no "/ 100" by hand).
    assert render("{{ a|polar_money:c }}", a=amount, c=currency) == expected


def test_money_filter_follows_the_active_language():
    with translation.override("fr"):
        assert render("{{ a|polar_money:'usd' }}", a=1900) == "19,00\xa0$US"
        assert render("{{ a|polar_money:'eur' }}", a=1000) == "10,00\xa0€"


def test_money_filter_tolerates_garbage():
    assert render("{{ a|polar_money:'usd' }}|{{ b|polar_money }}", a=1900, b="x") == "$19.00|"


@pytest.mark.parametrize(
    ("price", "expected"),
    [
        ({"amount_type": "fixed", "price_amount": 1900, "price_currency": "usd"}, "$19.00"),
        (
            {
                "amount_type": "fixed",
                "price_amount": 900,
                "price_currency": "usd",
                "type": "recurring",
                "recurring_interval": "month",
            },
            "$9.00 / month",
        ),
        (
            {"amount_type": "custom", "minimum_amount": 500, "price_currency": "usd"},
            "Pay what you want (from $5.00)",
        ),
        ({"amount_type": "custom", "minimum_amount": None}, "Pay what you want"),
        ({"amount_type": "free"}, "Free"),
        (None, ""),
        ({"amount_type": "fixed", "price_amount": 500, "price_currency": "jpy"}, "¥500"),
        (
            {"amount_type": "custom", "minimum_amount": 1500, "price_currency": "kwd"},
            "Pay what you want (from KWD\u00a01.500)",
        ),
        (
            {
                "amount_type": "fixed",
                "price_amount": 1000,
                "price_currency": "eur",
                "type": "recurring",
                "recurring_interval": "year",
            },
            "€10.00 / year",
        ),
    ],
)
def test_describe_price(price, expected):
    assert describe_price(price) == expected


def test_first_price_filter_skips_archived_prices():
    product = {
        "prices": [
            {"id": "a", "is_archived": True, "amount_type": "free"},
            {"id": "b", "amount_type": "fixed", "price_amount": 100, "price_currency": "usd"},
        ]
    }
    assert render("{{ p|polar_first_price|polar_price }}", p=product) == "$1.00"
    assert render("{{ p|polar_first_price|polar_price }}", p="nope") == ""


def _product(**price):
    return {"id": PRODUCT_ID, "name": "Thing", "prices": [{"is_archived": False, **price}]}


@pytest.mark.parametrize(
    ("price", "label"),
    [
        ({"amount_type": "free", "type": "one_time"}, "Get it free"),
        # API 2026-10 has no "free" amount type: a free price is a fixed price of 0.
        ({"amount_type": "fixed", "price_amount": 0, "type": "one_time"}, "Get it free"),
        ({"amount_type": "fixed", "price_amount": 900, "type": "recurring"}, "Subscribe"),
        ({"amount_type": "fixed", "price_amount": 900, "recurring_interval": "year"}, "Subscribe"),
        ({"amount_type": "fixed", "price_amount": 1900, "type": "one_time"}, "Buy now"),
        ({"amount_type": "custom", "minimum_amount": 500}, "Buy now"),
    ],
)
def test_button_for_a_product_says_what_its_price_asks(price, label):
    html = render("{% polar_checkout_button product %}", product=_product(**price))
    assert hidden_inputs(html)["product_id"] == PRODUCT_ID
    assert f'<button type="submit" class="polar-checkout-button">{label}</button>' in html
    # A label given by the shop still wins.
    given = render('{% polar_checkout_button product label="Take it" %}', product=_product(**price))
    assert ">Take it</button>" in given
    assert render("{{ product|polar_buy_label }}", product=_product(**price)) == label


def test_button_for_a_product_without_an_id_is_a_developer_error():
    with pytest.raises(TemplateSyntaxError):
        render("{% polar_checkout_button product %}", product={"name": "No id"})


def test_describe_price_calls_a_zero_fixed_price_free():
    assert describe_price({"amount_type": "fixed", "price_amount": 0, "type": "one_time"}) == "Free"
