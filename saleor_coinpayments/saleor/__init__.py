"""Talking to Saleor: manifest, registration, signatures, GraphQL client, payloads and responses."""
