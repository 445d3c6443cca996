"""The reading of docs/quickstart.md that the wheel test follows (tests/packaging/quickstart.py)."""

from __future__ import annotations

import pytest

from tests.packaging.quickstart import Commands, WriteFile, console_commands, parse

PAGE = """# Quickstart

```console
$ pip install django-polar-checkouts
Successfully installed django-polar-checkouts-0.1.0
$ django-admin startproject shop .
```

```python title="shop/settings.py"
# add to the end of shop/settings.py
POLAR_SERVER = "fake"
```

```python title="shop/urls.py"
urlpatterns = []
```

```html title='templates/home.html'
{# add to the end of templates/home.html #}
<p>hi</p>
```

```python
print("an illustration, not a step")
```

<!-- invisible-code-block: python title="shop/settings.py"
SECRET_KEY = "only the snippet tests see this"
-->

````console
$ python manage.py runserver
````

Open http://127.0.0.1:8000/ and buy.
"""


def test_blocks_become_steps_in_order():
    steps = parse(PAGE).steps
    assert [type(step) for step in steps] == [Commands, WriteFile, WriteFile, WriteFile, Commands]
    install, settings, urls, home, serve = steps
    assert isinstance(install, Commands)
    assert isinstance(serve, Commands)
    assert isinstance(settings, WriteFile)
    assert isinstance(urls, WriteFile)
    assert isinstance(home, WriteFile)
    assert install.commands == [
        "pip install django-polar-checkouts",
        "django-admin startproject shop .",
    ]
    assert (settings.path, settings.append) == ("shop/settings.py", True)
    assert settings.content.endswith('POLAR_SERVER = "fake"\n')
    assert (urls.path, urls.append, urls.content) == ("shop/urls.py", False, "urlpatterns = []\n")
    assert (home.path, home.append) == ("templates/home.html", True)
    assert serve.commands == ["python manage.py runserver"]
    assert "http://127.0.0.1:8000/" in serve.after


def test_continued_lines_and_output():
    body = (
        "$ pip install \\\n    django-polar-checkouts\nCollecting...\n$ python manage.py migrate\n"
    )
    assert console_commands(body) == [
        "pip install django-polar-checkouts",
        "python manage.py migrate",
    ]


def test_an_addition_must_name_its_own_file():
    page = '```python title="shop/urls.py"\n# add to the end of shop/settings.py\nX = 1\n```\n'
    with pytest.raises(ValueError, match=r"shop/settings\.py"):
        parse(page)


def test_what_a_command_prints_is_kept():
    body = "$ python manage.py shell -c 'print(1)'\n1\n$ python manage.py check\n"
    [step] = parse(f"```console\n{body}```\n").steps
    assert isinstance(step, Commands)
    assert step.outputs == ["1", ""]
