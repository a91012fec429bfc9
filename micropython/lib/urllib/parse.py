"""``quote``, ``unquote``, ``urlencode``, ``parse_qsl`` and ``urlsplit`` as CPython's
``urllib.parse`` has them (UTF-8, the same safe characters), for MicroPython, which has none."""

_ALWAYS_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def quote(text, safe="/", encoding="utf-8", errors="strict"):
    data = text.encode(encoding) if isinstance(text, str) else bytes(text)
    keep = _ALWAYS_SAFE | frozenset(safe.encode() if isinstance(safe, str) else safe)
    return "".join(chr(b) if b in keep else "%{:02X}".format(b) for b in data)


def quote_plus(text, safe="", encoding="utf-8", errors="strict"):
    if " " in text:
        return quote(text, safe + " ", encoding, errors).replace(" ", "+")
    return quote(text, safe, encoding, errors)


_HEX = "0123456789abcdefABCDEF"


def unquote_to_bytes(text):
    data = text.encode() if isinstance(text, str) else bytes(text)
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b == 37 and i + 2 < n + 0 and chr(data[i + 1]) in _HEX and chr(data[i + 2]) in _HEX:
            out.append(int(data[i + 1 : i + 3].decode(), 16))
            i += 3
        else:
            out.append(b)
            i += 1
    return bytes(out)


def unquote(text, encoding="utf-8", errors="replace"):
    if "%" not in text:
        return text
    return _decode(unquote_to_bytes(text), encoding, errors)


def unquote_plus(text, encoding="utf-8", errors="replace"):
    return unquote(text.replace("+", " "), encoding, errors)


def _decode(data, encoding, errors):
    try:
        return data.decode(encoding)
    except UnicodeError:
        if errors == "strict":
            raise
        # MicroPython's decode has no error handlers: replace each bad sequence by U+FFFD.
        out, i = [], 0
        while i < len(data):
            for size in (1, 2, 3, 4):
                try:
                    out.append(data[i : i + size].decode(encoding))
                    i += size
                    break
                except UnicodeError:
                    continue
            else:
                out.append("\ufffd")
                i += 1
        return "".join(out)


def urlencode(query, doseq=False, safe="", encoding=None, errors=None, quote_via=quote_plus):
    pairs = query.items() if hasattr(query, "items") else query
    parts = []
    for key, value in pairs:
        if doseq and isinstance(value, (list, tuple)):
            for item in value:
                parts.append(quote_via(str(key), safe) + "=" + quote_via(str(item), safe))
        else:
            parts.append(quote_via(str(key), safe) + "=" + quote_via(str(value), safe))
    return "&".join(parts)


def parse_qsl(qs, keep_blank_values=False, strict_parsing=False, encoding="utf-8", errors="replace", **_):
    pairs = []
    for part in qs.split("&"):
        if not part and not strict_parsing:
            continue
        name, has_eq, value = part.partition("=")
        if not has_eq and not keep_blank_values and not strict_parsing:
            continue
        if not has_eq and strict_parsing:
            raise ValueError("bad query field: %r" % (part,))
        if value or keep_blank_values:
            pairs.append((unquote_plus(name, encoding, errors), unquote_plus(value, encoding, errors)))
    return pairs


def parse_qs(qs, keep_blank_values=False, strict_parsing=False, encoding="utf-8", errors="replace", **_):
    parsed = {}
    for name, value in parse_qsl(qs, keep_blank_values, strict_parsing, encoding, errors):
        parsed.setdefault(name, []).append(value)
    return parsed


class SplitResult(tuple):
    scheme = property(lambda self: self[0])
    netloc = property(lambda self: self[1])
    path = property(lambda self: self[2])
    query = property(lambda self: self[3])
    fragment = property(lambda self: self[4])

    @property
    def username(self):
        userinfo, at, _ = self.netloc.rpartition("@")
        return userinfo.partition(":")[0] if at else None

    @property
    def password(self):
        userinfo, at, _ = self.netloc.rpartition("@")
        _, colon, password = userinfo.partition(":")
        return password if at and colon else None

    @property
    def hostname(self):
        host = self.netloc.rpartition("@")[2]
        if host.startswith("["):
            return host[1 : host.find("]")].lower() or None
        return host.partition(":")[0].lower() or None

    @property
    def port(self):
        host = self.netloc.rpartition("@")[2]
        if host.startswith("["):
            host = host[host.find("]") + 1 :]
        _, colon, port = host.partition(":")
        if not colon or not port:
            return None
        if not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError("Port out of range 0-65535")
        return int(port)

    def geturl(self):
        scheme, netloc, path, query, fragment = self
        url = path
        if netloc or (scheme and path[:2] != "//"):
            if url and url[:1] != "/":
                url = "/" + url
            url = "//" + netloc + url
        if scheme:
            url = scheme + ":" + url
        if query:
            url = url + "?" + query
        if fragment:
            url = url + "#" + fragment
        return url


def urlsplit(url, scheme="", allow_fragments=True):
    for ch in "\t\r\n":
        url = url.replace(ch, "")
    url = url.lstrip(" \x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0c\x0e\x0f")
    netloc = query = fragment = ""
    colon = url.find(":")
    if colon > 0 and url[0].isalpha():
        candidate = url[:colon]
        if all(c.isalpha() or c.isdigit() or c in "+-." for c in candidate):
            scheme, url = candidate.lower(), url[colon + 1 :]
    if url[:2] == "//":
        end = len(url)
        for c in "/?#":
            at = url.find(c, 2)
            if at >= 0:
                end = min(end, at)
        netloc, url = url[2:end], url[end:]
        if ("[" in netloc) != ("]" in netloc):
            raise ValueError("Invalid IPv6 URL")
    if allow_fragments and "#" in url:
        url, fragment = url.split("#", 1)
    if "?" in url:
        url, query = url.split("?", 1)
    return SplitResult((scheme, netloc, url, query, fragment))
