"""The buyer-facing templates in the buyer's language: one Jinja environment per language, with that
language's catalog installed (`{{ _("…") }}` in a template), and the words the pay page's script
shows, handed to it by the page (pay.js holds no sentence of its own).

`pybabel extract` (`make i18n-extract`, babel.cfg) reads `_()` in the templates and `gettext()` here
and in the use cases.
"""

from __future__ import annotations

import functools
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from saleor_coinpayments.locale import LANGUAGES, Speaker, native_name, speaker
from saleor_coinpayments.web.dashboard import WEB_DIR


@functools.cache
def environment(language: str) -> Environment:
    """Templates of web/templates speaking `language` (new-style gettext: `_("Pay %(x)s", x=…)`)."""
    env = Environment(
        loader=FileSystemLoader(WEB_DIR / "templates"),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
    )
    speak = speaker(language)
    env.install_gettext_callables(speak.gettext, speak.ngettext, newstyle=True)  # type: ignore[attr-defined]
    return env


def render(template: str, speak: Speaker, **values: Any) -> str:
    return (
        environment(speak.language).get_template(template).render(lang=speak.html_lang, dir=speak.direction, **values)
    )


def switch(current: Speaker) -> list[dict[str, Any]]:
    """The language switch: every language in its own name, with its `?lang=` value."""
    return [
        {"code": code, "tag": code.replace("_", "-"), "name": native_name(code), "current": code == current.language}
        for code in LANGUAGES
    ]


def pay_words(speak: Speaker) -> dict[str, Any]:
    """What pay.js writes, already in the page's language; `{name}` marks what the script fills in."""
    _ = speak.gettext
    return {
        "chooseCoin": _("Choose a coin"),
        "otherCoin": _("Or pay with another coin"),
        "sendExactly": _("Send exactly ({symbol})"),
        "qrAlt": _("QR code: send {amount} {symbol} to {address}"),
        "progress": _(
            "Seen: {detected} {symbol}, confirmed: {confirmed} ({confirmations} of {required} confirmations)"
        ),
        "backPaid": _("Back to the shop"),
        "backNothingTaken": _("Back to the shop (nothing was taken)"),
        "timeLeft": _("Time left to pay: {time}"),
        "timeUp": _("Time is up."),
        "payBy": _("Pay by {date}"),
        "linkGone": _("This payment link is not valid any more."),
        "coinFailed": _("The coin could not be chosen. Please try again."),
        "coinOffline": _("The coin could not be chosen. Please check your connection and try again."),
        "copied": _("Copied."),
        "selected": _("Selected: copy it with your device's copy command."),
        "digits": speak.digits(),
    }
