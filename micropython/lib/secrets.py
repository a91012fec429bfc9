"""``secrets`` for MicroPython: random bytes from the browser's ``crypto.getRandomValues``.

Outside a page (MicroPython in Node for tests) Node's Web Crypto answers the same call.
"""

import binascii

import js


def token_bytes(nbytes=32):
    if nbytes <= 0:
        return b""
    buffer = js.Uint8Array.new(nbytes)
    js.crypto.getRandomValues(buffer)
    return bytes(buffer)


def token_hex(nbytes=32):
    return binascii.hexlify(token_bytes(nbytes)).decode()


def token_urlsafe(nbytes=32):
    text = binascii.b2a_base64(token_bytes(nbytes)).decode().strip().rstrip("=")
    return text.replace("+", "-").replace("/", "_")


def randbits(k):
    return int.from_bytes(token_bytes((k + 7) // 8), "big") >> (-k % 8)


def randbelow(n):
    if n <= 0:
        raise ValueError("upper bound must be positive")
    k = len(bin(n)) - 2
    while True:
        r = randbits(k)
        if r < n:
            return r


def choice(seq):
    return seq[randbelow(len(seq))]


def compare_digest(a, b):
    import hmac

    import cpython_compat  # noqa: F401  (hmac.compare_digest)

    return hmac.compare_digest(a, b)
