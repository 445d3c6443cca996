"""The package as users get it: built, installed from the wheel, followed by the quickstart.

``python -m build`` makes the sdist and then the wheel *from the sdist* (so the sdist is
known to be enough to build). The wheel must hold the package's tracked files exactly
(modules, templates, static files, compiled translations, migrations, ``py.typed``) and
nothing of the repository around it. Then a clean virtualenv gets the wheel (not an
editable install; the commands run in a throw-away directory, so no checkout is on
``sys.path``), and ``docs/quickstart.md`` is followed step by step (its ``pip install
django-polar-checkouts`` becomes the wheel's path) to ``manage.py check``, ``migrate``,
``runserver`` and one purchase through the fake Polar, made over HTTP as the reader's
browser makes it: the page the quickstart says to open, its Buy button, the checkout page's
script's calls (read from the page's own config), the receipt; then the sale is in the
shop's database (the checkout succeeded, the order arrived by the fake's webhook).

Slow (about a minute: a build and a pip install; pip's cache is reused), so it runs once,
in the full pass of ``scripts/test`` (marker ``packaging``; see tests/conftest.py).
"""

from __future__ import annotations

import email.parser
import html
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import zipfile
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

import pytest
import requests

from tests.packaging import quickstart

pytestmark = [pytest.mark.slow, pytest.mark.packaging]

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "docs" / "quickstart.md"
NAME = "django-polar-checkouts"
#: What the sdist holds besides the package (and the files setuptools writes into it).
SDIST_EXTRA = {"pyproject.toml", "README.md", "LICENSE", "CHANGELOG.md", "MANIFEST.in"}
SDIST_GENERATED = {"PKG-INFO", "setup.cfg"}
#: Never in a distribution.
REPOSITORY_ONLY = ("tests/", "bench/", "scripts/", "example_project/", "docs/", ".ci/")
#: The address the quickstart uses; the test serves on a port of its own (8300-8399).
DOC_ADDRESSES = ("127.0.0.1:8000", "localhost:8000")
BUYER = {
    "customer_name": "Ada Lovelace",
    "customer_email": "ada@example.com",
    "customer_billing_address": {
        "country": "FR",
        "line1": "1 rue de la Paix",
        "postal_code": "75002",
        "city": "Paris",
    },
}
FINAL = {"succeeded", "failed", "expired"}


def git_files(prefix: str) -> set[str]:
    out = subprocess.run(
        ["git", "ls-files", "-z", prefix], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    return {name for name in out.split("\0") if name}


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> dict[str, Path]:
    """The sdist and wheel built from a clean copy of the tracked files (as from a fresh
    clone): a stale ``*.egg-info`` in the checkout would otherwise feed its old file list
    (SOURCES.txt) into the sdist and hide a package-data mistake."""
    source = tmp_path_factory.mktemp("source")
    for name in git_files("."):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [wheel] = out.glob("*.whl")
    [sdist] = out.glob("*.tar.gz")
    return {"wheel": wheel, "sdist": sdist}


def test_the_wheel_holds_the_package_and_nothing_else(dist):
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        names = set(wheel.namelist())
    info = {n for n in names if ".dist-info/" in n}
    package = names - info
    # Exactly the tracked files of the package: nothing missing, nothing stray (no
    # __pycache__, no editor files), nothing of the repository around it.
    assert package == git_files("polar_checkouts/")
    for needed in (
        "polar_checkouts/py.typed",
        "polar_checkouts/migrations/0001_initial.py",
        "polar_checkouts/templates/polar_checkouts/checkout.html",
        "polar_checkouts/static/polar_checkouts/checkout.js",
        "polar_checkouts/testing/templates/polar_checkouts/payment/fake.html",
        "polar_checkouts/testing/static/polar_checkouts/testing/fake-payment.js",
    ):
        assert needed in package
    languages = {"fr", "de", "es", "pt_BR", "ja"}
    assert {f"polar_checkouts/locale/{lang}/LC_MESSAGES/django.mo" for lang in languages} <= package
    assert not [n for n in names if n.startswith(REPOSITORY_ONLY)]
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in info)


def test_the_wheel_metadata(dist):
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        [meta_name] = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
        meta: Any = email.parser.Parser().parsestr(wheel.read(meta_name).decode())
        [entry_points] = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
        entries = wheel.read(entry_points).decode()
    assert meta["Name"] == NAME
    assert meta["Requires-Python"] == ">=3.10"
    assert meta["License-Expression"] == "MIT"
    urls = dict(value.split(", ", 1) for value in meta.get_all("Project-URL"))
    assert set(urls) >= {"Homepage", "Documentation", "Changelog", "Issues", "Source"}
    classifiers = meta.get_all("Classifier")
    assert "Framework :: Django :: 6.0" in classifiers
    assert "Programming Language :: Python :: 3.13" in classifiers
    # The fixture the docs tell shops to use comes with the package.
    assert "polar_checkouts = polar_checkouts.testing.pytest_plugin" in entries
    # The long description is the README (what PyPI shows).
    assert meta.get_payload().startswith("# django-polar-checkouts")


def test_the_sdist_is_the_package_and_what_builds_it(dist):
    """The sdist is for building the wheel (and for packagers): the package, its build
    configuration and its README, licence and changelog. The test suite needs the
    repository (PostgreSQL, Redis, Chromium, the example shop, the benchmarks) and is
    run from a checkout, so it is not in the sdist."""
    with tarfile.open(dist["sdist"]) as sdist:
        names = {m.name.split("/", 1)[1] for m in sdist.getmembers() if m.isfile()}
    egg_info = {n for n in names if n.startswith("django_polar_checkouts.egg-info/")}
    assert names - egg_info == git_files("polar_checkouts/") | SDIST_EXTRA | SDIST_GENERATED
    assert not [n for n in names if n.startswith(REPOSITORY_ONLY)]


# -- the quickstart, from the installed wheel ----------------------------------------------


class Forms(HTMLParser):
    """The page's forms: action, class and the name/value of their inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attributes.get("action") or "", **attributes, "data": []})
        elif tag in ("input", "button") and self.forms and attributes.get("name"):
            self.forms[-1]["data"].append((attributes["name"], attributes.get("value") or ""))


def free_port() -> int:
    for port in range(8300, 8400):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 8300-8399")


class Reader:
    """Someone following the quickstart in a terminal of their own."""

    def __init__(self, venv: Path, project: Path, wheel: Path, address: str) -> None:
        self.venv, self.project, self.wheel, self.address = venv, project, wheel, address
        self.env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE", "PYTHONPATH", "VIRTUAL_ENV"}
        }
        self.env.update(
            PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
            VIRTUAL_ENV=str(venv),
            PIP_DISABLE_PIP_VERSION_CHECK="1",
            PYTHONDONTWRITEBYTECODE="1",
        )
        self.log: list[str] = []

    def localise(self, text: str) -> str:
        for address in DOC_ADDRESSES:
            text = text.replace(address, self.address)
        return text

    def run(self, command: str, timeout: float = 600) -> str:
        self.log.append(f"$ {command}")
        result = subprocess.run(
            ["bash", "-c", command],
            cwd=self.project,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        self.log.append(result.stdout + result.stderr)
        assert result.returncode == 0, "\n".join(self.log)
        return result.stdout

    def write(self, step: quickstart.WriteFile) -> None:
        path = self.project / step.path
        path.parent.mkdir(parents=True, exist_ok=True)
        content = self.localise(step.content)
        if step.append:
            assert path.exists(), f"the quickstart adds to {step.path} before it exists"
            with path.open("a", encoding="utf-8") as file:
                file.write("\n" + content)
        else:
            path.write_text(content, encoding="utf-8")
        self.log.append(f"wrote {step.path}{' (appended)' if step.append else ''}")

    def command(self, command: str) -> str | None:
        """Run one console command; a ``runserver`` is returned for the caller to start."""
        words = shlex.split(command)
        if words[:3] in (["python", "-m", "venv"], ["python3", "-m", "venv"]) or words[0] in (
            "source",
            ".",
        ):
            return None  # the test made the virtualenv and put it first on PATH
        if "runserver" in words:
            return command
        if "pip" in words and "install" in words:
            command = re.sub(
                rf"(?<![\w.-]){re.escape(NAME)}(?=[\s\[]|$)", shlex.quote(str(self.wheel)), command
            )
        self.run(self.localise(command))
        return None


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            requests.get(url, timeout=5)
            return
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def page_to_open(prose: str, base: str) -> str:
    """The first address of the shop the quickstart tells the reader to open."""
    for match in re.finditer(r"https?://(?:127\.0\.0\.1|localhost):8000(/[^\s)>\]`\"']*)?", prose):
        path = match.group(1) or "/"
        if not path.startswith(("/admin", "/checkout/webhook")):
            return urljoin(base, path)
    return base + "/"


def product_to_buy(prose: str) -> str | None:
    """The product the quickstart says to buy: "Press **Buy now** under *Name*"."""
    match = re.search(r"under \*([^*]+)\*", prose)
    return match.group(1) if match else None


def buy(page_url: str, product: str | None) -> dict[str, Any]:
    """What a browser does: press Buy, fill the checkout page, pay, land on the receipt."""
    browser = requests.Session()
    home = browser.get(page_url, timeout=30)
    assert home.status_code == 200, home.text
    listing = home.text
    if product is not None:
        # The first button after the product's name.
        assert html.escape(product) in listing, f"{product!r} is not on {page_url}"
        listing = listing[listing.index(html.escape(product)) :]
    parser = Forms()
    parser.feed(listing)
    [button, *_] = [
        f for f in parser.forms if "polar-checkout-button-form" in (f.get("class") or "")
    ]
    page = browser.post(
        urljoin(home.url, button["action"]),
        data=button["data"],
        headers={"Referer": home.url},
        timeout=30,
    )
    assert page.status_code == 200, page.text
    config_json = re.search(
        r'<script id="polar-checkout-config" type="application/json">(.*?)</script>',
        page.text,
        re.S,
    )
    assert config_json, page.text
    config = json.loads(config_json.group(1))
    body: dict[str, Any] = dict(BUYER)
    if config["checkout"].get("is_payment_form_required"):
        # The test-payment choice checked by default: "Card succeeds".
        body["confirmation_token_id"] = config["payment"]["tokens"][0]["id"]
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    if config["client"]["mode"] == "server":
        headers["X-CSRFToken"] = config["csrfToken"]
    client_base = urljoin(page.url, config["client"]["base"])
    confirmed = browser.post(
        client_base + quote(config["clientSecret"], safe="") + "/confirm",
        data=json.dumps(body),
        headers=headers,
        timeout=30,
    )
    assert confirmed.status_code == 200, confirmed.text
    status: dict[str, Any] = {}
    for _ in range(120):
        status = browser.get(urljoin(page.url, config["statusUrl"]), timeout=30).json()
        if status.get("status") in FINAL:
            break
        time.sleep(config["pollIntervalMs"] / 1000)
    assert status.get("status") == "succeeded", status
    receipt = browser.get(urljoin(page.url, status.get("success_url") or config["successUrl"]))
    assert receipt.status_code == 200
    return {"checkout_id": config["checkout"]["id"], "receipt": receipt.text}


SALE = """
import json
from polar_checkouts.models import CheckoutSession, Order, WebhookEvent
print(json.dumps({
    "checkout": CheckoutSession.objects.filter(pk=%r).values_list("status", flat=True).first(),
    "orders": list(Order.objects.filter(checkout_id=%r).values_list("status", flat=True)),
    "events": WebhookEvent.objects.count(),
}))
"""


def test_the_installed_wheel_follows_the_quickstart_to_a_sale(dist, tmp_path):
    guide = quickstart.read(QUICKSTART)
    assert any(re.search(rf"pip install .*{NAME}", c) for c in guide.commands), guide.commands
    venv = tmp_path / "venv"
    project = tmp_path / "project"
    project.mkdir()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    port = free_port()
    reader = Reader(venv, project, dist["wheel"], f"127.0.0.1:{port}")

    server = None
    server_log = tmp_path / "runserver.log"
    log_file = server_log.open("w")
    steps = iter(guide.steps)
    try:
        # Up to the server: write the files, run the commands.
        runserver = None
        for step in steps:
            if isinstance(step, quickstart.WriteFile):
                reader.write(step)
                continue
            for command in step.commands:
                runserver = reader.command(command)
                if runserver:
                    break
            if runserver:
                after_server = step.after
                break
        assert runserver, "the quickstart never starts the server"

        # The package comes from the wheel in the virtualenv, not from a checkout.
        where = reader.run(
            f"{python} -c 'import polar_checkouts, sysconfig; "
            'print(polar_checkouts.__file__); print(sysconfig.get_paths()["purelib"])\''
        ).split()
        assert Path(where[0]).is_relative_to(Path(where[1])), where
        assert Path(where[1]).is_relative_to(venv)
        assert not Path(where[0]).is_relative_to(ROOT)
        assert "__editable__" not in reader.run(f"{python} -m pip list -v")

        reader.run(f"{python} manage.py check")
        reader.run(f"{python} manage.py migrate --noinput")  # again: nothing left to do
        reader.log.append(f"$ {runserver} (on {reader.address})")
        server = subprocess.Popen(
            [str(python), "manage.py", "runserver", reader.address, "--noreload"],
            cwd=project,
            env=reader.env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,  # a file: a full pipe would stall the server
            stderr=subprocess.STDOUT,
        )
        wait_for(f"http://{reader.address}/")
        page = page_to_open(after_server, f"http://{reader.address}")
        sale = buy(page, product_to_buy(after_server))
        assert "Thank you for your order" in sale["receipt"]
        # The total the quickstart tells the reader to expect ("press **Pay $22.80**").
        for total in re.findall(r"\*\*Pay ([^*]+)\*\*", after_server):
            assert html.escape(total) in sale["receipt"]

        # The fake delivers its webhooks in the background: the order arrives by one.
        seen: dict[str, Any] = {}
        for _ in range(60):
            script = SALE % (sale["checkout_id"], sale["checkout_id"])
            out = reader.run(f"{python} manage.py shell -c {shlex.quote(script)}")
            seen = json.loads(out.strip().splitlines()[-1])  # after the shell's own notes
            if seen["orders"]:
                break
            time.sleep(0.5)
        assert seen["checkout"] == "succeeded", seen
        assert seen["orders"] == ["paid"], seen
        assert seen["events"] >= 1

        # What the quickstart shows next (seeing the sale), as shown, up to its next change
        # of files (the switch to Polar's sandbox, which needs an account).
        shown = 0
        for step in steps:
            if isinstance(step, quickstart.WriteFile):
                break
            if any("runserver" in command for command in step.commands):
                break
            for command, output in zip(step.commands, step.outputs, strict=True):
                printed = reader.run(reader.localise(command))
                if output.strip():
                    assert printed.strip() == output.strip(), "\n".join(reader.log)
                    shown += 1
        assert shown, "the quickstart never shows the reader the sale"
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        log_file.close()
        print(server_log.read_text())
        print("\n".join(reader.log))
