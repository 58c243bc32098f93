"""The speed machinery, in one place: what makes the app fast under load without changing what it does.

- `process_tuning`: freezing start-up objects, the quiet collector. Process-wide,
  so only `saleor-coinpayments serve` applies it (`ProcessTuning`); `create_app()` alone never does.
- `quiet_gc`: the older garbage-collector generations wait for a quiet moment (also `serve` only).
- `coalescing`: notifications of one invoice that arrive before its re-read starts share it.
- `outgoing_http`: the HTTP client for CoinPayments and Saleor.

Each mechanism has a setting that switches it off (see `settings.py`); `python -m bench.run
--ablation` measures what each one buys on the path it is for. This package imports nothing of
the app but its settings, so any layer may use it.
"""

from saleor_coinpayments.runtime.coalescing import Coalescer
from saleor_coinpayments.runtime.outgoing_http import outgoing_client
from saleor_coinpayments.runtime.process_tuning import ProcessTuning

__all__ = ["Coalescer", "ProcessTuning", "outgoing_client"]
