"""HTTP routers: they verify, parse, call a use case and render; no payment logic lives here."""
