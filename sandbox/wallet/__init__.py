"""A demo wallet: an independent FAPI 2.0 client of WalletGate (it imports nothing of the gateway).

It speaks only the standards: discovery, private_key_jwt, DPoP (RFC 9449), PAR (RFC 9126),
PKCE S256, RFC 9396 authorization_details, RFC 9207 ``iss`` — and the UK Open Banking
account-access-consent and accounts APIs.
"""
