"""Surviving mutants that behave exactly like the original, so no test can kill them.

Each entry names the function, the source line(s) as mutmut changed them (before → after, as in
`mutmut show`), and why the change makes no observable difference. `tests.mutation.score` leaves
these out of the score; an entry that no longer matches a surviving mutant is reported as stale.
Only list a mutant here when it is truly equivalent: a mutant that changes behaviour is a missing
test, not an entry.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Equivalent:
    function: str
    before: tuple[str, ...]
    after: tuple[str, ...]
    reason: str


SIGNING = "saleor_coinpayments.coinpayments.signing"
WEBHOOKS = "saleor_coinpayments.coinpayments.webhooks"
MONEY = "saleor_coinpayments.money"
STATES = "saleor_coinpayments.states"
REFUND_REQUEST = "saleor_coinpayments.payments.refunds.request_payload"
RATELIMIT = "saleor_coinpayments.coinpayments.ratelimit"

_COMPARE = "return hmac.compare_digest(expected.encode({}), received.strip().encode({}))"
_MATCHES = (_COMPARE.format('"ascii", "replace"', '"ascii", "replace"'),)
_EXPECTED_IS_BASE64 = (
    "both callers pass a signature computed by compute_signature (base64, ASCII only) as `expected`, "
    "so encoding it never meets a character the error handler would be asked about"
)

EQUIVALENT: tuple[Equivalent, ...] = (
    Equivalent(
        f"{SIGNING}.compute_signature",
        ('return base64.b64encode(digest).decode("ascii")',),
        ('return base64.b64encode(digest).decode("ASCII")',),
        "codec names are case-insensitive",
    ),
    Equivalent(
        f"{SIGNING}.signature_matches",
        _MATCHES,
        (_COMPARE.format('"ASCII", "replace"', '"ascii", "replace"'),),
        "codec names are case-insensitive",
    ),
    Equivalent(
        f"{SIGNING}.signature_matches",
        _MATCHES,
        (_COMPARE.format('"ascii", "replace"', '"ASCII", "replace"'),),
        "codec names are case-insensitive",
    ),
    Equivalent(
        f"{SIGNING}.signature_matches",
        _MATCHES,
        (_COMPARE.format('"ascii", ', '"ascii", "replace"'),),
        _EXPECTED_IS_BASE64,
    ),
    Equivalent(
        f"{SIGNING}.signature_matches",
        _MATCHES,
        (_COMPARE.format('"ascii", "XXreplaceXX"', '"ascii", "replace"'),),
        _EXPECTED_IS_BASE64,
    ),
    Equivalent(
        f"{SIGNING}.signature_matches",
        _MATCHES,
        (_COMPARE.format('"ascii", "REPLACE"', '"ascii", "replace"'),),
        _EXPECTED_IS_BASE64,
    ),
    Equivalent(
        f"{WEBHOOKS}.same_client_id",
        ("if _GUID.match(na) and _GUID.match(nb):",),
        ("if _GUID.match(na) or _GUID.match(nb):",),
        "when only one form is a GUID the normalised forms differ, and so do the raw ones: both say False",
    ),
    Equivalent(
        f"{WEBHOOKS}.verify_notification",
        ('method="POST",',),
        ('method="post",',),
        "signing_message upper-cases the method",
    ),
    Equivalent(
        f"{MONEY}.dump_json",
        ('return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_json_default)',),
        ('return json.dumps(value, separators=(",", ":"), ensure_ascii=None, default=_json_default)',),
        "json.dumps only tests ensure_ascii for truth; None is false like False",
    ),
    Equivalent(
        f"{MONEY}.quantize",
        ("return amount.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)",),
        ("return amount.quantize(Decimal(2).scaleb(-decimals), rounding=ROUND_HALF_EVEN)",),
        "Decimal.quantize uses only the exponent of its argument, and 1 and 2 scale to the same one",
    ),
    Equivalent(
        f"{STATES}.apply",
        ("new_credit = seen - recorded if seen > recorded else Decimal(0)",),
        ("new_credit = seen - recorded if seen >= recorded else Decimal(0)",),
        "when seen equals recorded the new credit is zero either way (0 or 0.00), and a zero credit is only "
        "compared, never reported or stored",
    ),
    Equivalent(
        f"{STATES}.session_answer",
        ("assert_never(state)",),
        ("assert_never(None)",),
        "reached only by a state outside PaymentState (a programming error); it still raises, only its text differs",
    ),
    Equivalent(
        f"{REFUND_REQUEST}.parse_refund_request",
        ("transaction = transaction if isinstance(transaction, dict) else {}",),
        ("transaction = transaction if (isinstance(transaction, dict)) or True else {}",),
        "parse_action_request, called first, has already refused a body whose transaction is not an object",
    ),
    Equivalent(
        f"{RATELIMIT}.TokenBucket.reserve",
        ("return 0.0 if self._tokens >= 0 else -self._tokens / self.rate",),
        ("return 0.0 if self._tokens > 0 else -self._tokens / self.rate",),
        "with exactly no token left the other branch gives -0.0, which equals 0.0 (acquire sleeps only on > 0)",
    ),
)
