"""PII redaction, the same rules as the Rust redactor in `shared/src/redact.rs`.

Both implementations are held to the vectors in `tests/pii_vectors.json`. Read the Rust module's
documentation for the rules and the reasons behind them; this is a line-by-line port, so a change
to one must be made to the other.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable

KINDS = ("ssn", "card", "email", "phone", "secret", "iban")
MARKERS = {k: f"[REDACTED:{k.upper()}]" for k in KINDS}

_SECRET_NAMES = frozenset((
    "password", "passwd", "passphrase", "secret", "secrets", "apikey", "apikeys", "authorization",
    "cookie", "cookies", "privatekey", "accesskey", "secretkey", "credential", "credentials",
    "sessionid", "signingkey", "encryptionkey", "token", "pwd", "pw", "pass", "passcode", "auth", "pin",
    "cvv", "cvc",
    "otp", "jwt", "bearer",
))
_SECRET_ENDINGS = (
    "password", "passwd", "passphrase", "secret", "apikey", "token", "credential", "credentials",
    "privatekey", "accesskey", "sessionid",
)
_SECRET_FILLERS = frozenset((
    "value", "val", "string", "str", "text", "raw", "data", "hash", "hashed", "encoded",
    "encrypted", "plain", "plaintext", "confirmation", "confirm", "b64", "base64", "hex",
))
_NOT_SECRET_ENDINGS = ("pagetoken", "nexttoken", "continuationtoken", "synctoken", "cursortoken", "resumetoken")

_URL_PASSWORD = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]*://[^\s:/?#@]*:)([^\s/?#@]+)@")
_BEARER = re.compile(r"(?i)\b(bearer|basic)(\s+)([A-Za-z0-9._~+/=-]{8,})")
_SECRET_KEY_HINT = re.compile(
    r"""(?i)(?:pass|pw|pwd|secret|key|auth|cookie|credential|session|token|pin|cvv|cvc|otp|jwt|bearer)[A-Za-z0-9_.-]*["']?\s*[:=]"""
)
_KEY_SEP = re.compile(r"""\b([A-Za-z][A-Za-z0-9_.-]*)(["']?\s*[:=]\s*)""")
_VALUE = re.compile(r"""(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s"'{}\[\]]+))""")
_NEXT_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*=")
_NAMED_IN_PROSE = re.compile(
    r"""(?i)\b(password|passwd|passcode|passphrase|pw|pwd|token|secret|api[ _-]?key|access[ _-]?key|secret[ _-]?key)(\s+(?:is|was)\s+|\s+)([^\s"',;<>()\[\]{}]{6,})"""
)
# Secrets that say what they are, PEM private key blocks among them; first, so no other rule takes
# a piece of one.
_KEY_FORMAT = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[A-Za-z0-9+/=\s\\:,-]*?-----END [A-Z0-9 ]*PRIVATE KEY-----|-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[A-Za-z0-9+/=\s\\]*|\b(?:sk-(?:proj-|ant-)?[A-Za-z0-9_-]{20,}|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}|(?:AKIA|ASIA)[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}|glpat-[A-Za-z0-9_-]{20,}|hf_[A-Za-z0-9]{30,}|npm_[A-Za-z0-9]{36}|xox[abprs]-[A-Za-z0-9-]{10,}|xapp-[A-Za-z0-9-]{10,}|AIza[0-9A-Za-z_-]{35}|ya29\.[0-9A-Za-z_-]{20,}|SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}|eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)"
)
_AWS_SECRET = re.compile(r"[A-Za-z0-9/+]{40}")
_EMAIL = re.compile(
    r"[A-Za-z0-9._%+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}"
)
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b")
# Each IBAN country and the length of its numbers, from the SWIFT IBAN registry.
_IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}
_CARD = re.compile(r"\d{4}[ -]\d{6}[ -]\d{5}|\d{4}(?:[ -]\d{4}){3}\d{0,3}|\d{13,19}")
_SSN = re.compile(r"\d{3}[- ]\d{2}[- ]\d{4}")
_SSN_LABELLED = re.compile(
    r"(?i)\b(ssn|ss#|social security(?:\s+(?:number|no\.?))?)((?:\s+(?:is|was|number|no\.?|num)){0,2}\W{1,3})(\d{9})\b"
)
_PHONE = re.compile(
    r"(?:\+?1[ .-]?)?(?:(?:\(\d{3}\)|\d{3})[ .-]?\d{3}[ .-]\d{4}|(?:\(\d{3}\)[ .-]?|\d{3}[ .-])\d{7})(?:x\d{1,5}|\s?ext\.?\s?\d{1,5})?|\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){2,5}|[2-9]\d{2}[2-9]\d{6}"
)


def _key_words(key: str) -> list[str]:
    words: list[str] = []
    word: list[str] = []
    for i, c in enumerate(key):
        if not c.isalnum():
            if word:
                words.append("".join(word))
                word = []
            continue
        if c.isupper() and word:
            prev = key[i - 1]
            next_lower = i + 1 < len(key) and key[i + 1].islower()
            if prev.islower() or prev.isnumeric() or (prev.isupper() and next_lower):
                words.append("".join(word))
                word = []
        word.append(c.lower())
    if word:
        words.append("".join(word))
    return words


def is_sensitive_key(key: str) -> bool:
    words = _key_words(key)
    while len(words) > 1 and words[-1] in _SECRET_FILLERS:
        words.pop()
    joined = "".join(words)
    if joined.endswith(_NOT_SECRET_ENDINGS):
        return False
    if any("".join(words[i:]) in _SECRET_NAMES for i in range(len(words))):
        return True
    return bool(words) and words[-1].endswith(_SECRET_ENDINGS)


def _holds_counts(key: str) -> bool:
    words = _key_words(key)
    return words == ["pass"] or (bool(words) and words[-1].endswith(("token", "tokens")))


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def is_card_number(digits: str) -> bool:
    n = len(digits)
    if not (13 <= n <= 19) or not digits.isascii() or not digits.isdigit():
        return False

    def prefix(k: int) -> int:
        return int(digits[:k])

    first = digits[0]
    if first == "4":
        network = n in (13, 16, 19)
    elif first == "5":
        network = 51 <= prefix(2) <= 55 and n == 16
    elif first == "2":
        network = 2221 <= prefix(4) <= 2720 and n == 16
    elif first == "3":
        network = (
            (prefix(2) in (34, 37) and n == 15)
            or (prefix(2) in (36, 38, 39) and 14 <= n <= 19)
            or (300 <= prefix(3) <= 305 and 14 <= n <= 19)
            or (3528 <= prefix(4) <= 3589 and 16 <= n <= 19)
        )
    elif first == "6":
        network = (
            prefix(4) == 6011 or prefix(2) == 65 or 644 <= prefix(3) <= 649 or prefix(2) == 62
        ) and 16 <= n <= 19
    else:
        network = False
    return network and _luhn(digits)


def is_iban(text: str) -> bool:
    compact = text.replace(" ", "")
    if _IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    rest = 0
    for c in compact[4:] + compact[:4]:
        if not (c.isascii() and c.isalnum()):
            return False
        n = int(c, 36)
        rest = (rest * (10 if n < 10 else 100) + n) % 97
    return rest == 1


def _plausible_ssn(text: str) -> bool:
    d = [c for c in text if c.isascii() and c.isdigit()]
    return len(d) == 9 and d[0:3] != ["0"] * 3 and d[3:5] != ["0"] * 2 and d[5:9] != ["0"] * 4


def _stands_alone(hay: str, start: int, end: int, glue: str) -> bool:
    before = hay[start - 1] if start > 0 else None
    after = hay[end] if end < len(hay) else None
    after2 = hay[end + 1] if end + 1 < len(hay) else None
    if glue == "name":
        return not (before is not None and before.isalnum()) and not (after is not None and after.isalnum())
    glued_before = before is not None and (before.isalnum() or before in "_-/.+$#")
    if after is not None and (after.isalnum() or after == "_"):
        glued_after = True
    elif after in ("-", "/", ".", ","):
        glued_after = after2 is not None and after2.isascii() and after2.isdigit()
    else:
        glued_after = False
    return not glued_before and not glued_after


class _Counts(dict[str, int]):
    def add(self, kind: str, n: int = 1) -> None:
        if n:
            self[kind] = self.get(kind, 0) + n


def _replace(pattern: re.Pattern[str], text: str, fn: Callable[[re.Match[str]], str | None]) -> str:
    return pattern.sub(lambda m: fn(m) or m.group(0), text)


def _replace_isolated(
    pattern: re.Pattern[str], text: str, glue: str, fn: Callable[[str], str | None]
) -> str:
    edits: list[tuple[int, int, str]] = []
    for m in pattern.finditer(text):
        if not _stands_alone(text, m.start(), m.end(), glue):
            continue
        replacement = fn(m.group(0))
        if replacement is not None:
            edits.append((m.start(), m.end(), replacement))
    return _splice(text, edits)


def _splice(text: str, edits: list[tuple[int, int, str]]) -> str:
    """`text` with each `(start, end, replacement)` applied, in order and apart."""
    if not edits:
        return text
    out = []
    last = 0
    for start, end, replacement in edits:
        out.append(text[last:start])
        out.append(replacement)
        last = end
    out.append(text[last:])
    return "".join(out)


def _unquoted_len(run: str) -> int:
    # A `,`, `;` or `&` ends the value only at the end of the run or before the next `key=`; a
    # password may hold those marks.
    for i, c in enumerate(run):
        if c in ",;&":
            rest = run[i + 1:]
            if not rest or _NEXT_KEY.match(rest):
                return i
    return len(run)


def _looks_like_secret(word: str) -> bool:
    # A figure after a secret's name (`token $12.50`, `pin 2024-01-15`) is a value the sentence
    # talks about, not a password.
    if len(word) < 6 or word.startswith("[REDACTED:") or _reads_as_figure(word):
        return False
    lower = any(c.islower() for c in word)
    upper = any(c.isupper() for c in word)
    digit = any(c.isascii() and c.isdigit() for c in word)
    symbol = any(not c.isalnum() for c in word)
    kinds = sum((lower, upper, digit, symbol))
    return (digit and kinds >= 2) or kinds >= 3


def _reads_as_figure(word: str) -> bool:
    digits = word.lstrip("$€£¥-+")
    return (
        digits[:1].isascii()
        and digits[:1].isdigit()
        and digits[-1:].isdigit()
        and all((c.isascii() and c.isdigit()) or c in ".,-/:" for c in digits)
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _redact_key_values(text: str, counts: _Counts) -> str:
    edits: list[tuple[int, int, str]] = []
    last = 0
    for m in _KEY_SEP.finditer(text):
        key, sep_end = m.group(1), m.end(2)
        if m.start() < last or not is_sensitive_key(key):
            continue
        v = _VALUE.match(text, sep_end)
        if v is None:
            continue
        quoted = v.group(1) if v.group(1) is not None else v.group(2)
        end = v.end()
        if quoted is None and v.group(3) is not None:
            end = v.start() + _unquoted_len(v.group(3))
        inner = quoted if quoted is not None else text[v.start():end]
        keep = (
            inner == ""
            or inner.startswith("[REDACTED:")
            or (quoted is None and inner in ("null", "true", "false"))
            or (_holds_counts(key) and _is_number(inner))
            or inner.lower() in ("bearer", "basic")
        )
        if keep:
            continue
        if v.group(1) is not None:
            marker = '"{}"'.format(MARKERS["secret"])
        elif v.group(2) is not None:
            marker = "'{}'".format(MARKERS["secret"])
        else:
            marker = MARKERS["secret"]
        counts.add("secret")
        last = end
        edits.append((sep_end, last, marker))
    return _splice(text, edits)


def _base64_char(c: str | None) -> bool:
    return c is not None and ((c.isascii() and c.isalnum()) or c in "/+=_-")


def _redact_aws_secrets(text: str, counts: _Counts) -> str:
    edits = []
    for m in _AWS_SECRET.finditer(text):
        candidate = m.group(0)
        before_char = text[m.start() - 1] if m.start() > 0 else None
        after_char = text[m.end()] if m.end() < len(text) else None
        alone = not _base64_char(before_char) and not _base64_char(after_char)
        mixed = (
            any(c.isascii() and c.isupper() for c in candidate)
            and any(c.isascii() and c.islower() for c in candidate)
            and any(c.isascii() and c.isdigit() for c in candidate)
        )
        if not (alone and mixed):
            continue
        before = text[max(0, _utf8_start(text, m.start(), 80)):m.start()].lower()
        if "aws" not in before and "secret" not in before:
            continue
        counts.add("secret")
        edits.append((m.start(), m.end(), MARKERS["secret"]))
    return _splice(text, edits)


def _utf8_start(text: str, index: int, back: int) -> int:
    """The index of the character that starts at least `back` UTF-8 bytes before `index`, as
    the Rust redactor counts its look-back."""
    taken = 0
    i = index
    while i > 0 and taken < back:
        i -= 1
        taken += len(text[i].encode("utf-8"))
    return i


def _redact_str(text: str, counts: _Counts, glue: str = "text") -> str:
    def bearer(m: re.Match[str]) -> str:
        counts.add("secret")
        return m.group(1) + m.group(2) + MARKERS["secret"]

    def named_in_prose(m: re.Match[str]) -> str | None:
        if not _looks_like_secret(m.group(3)):
            return None
        counts.add("secret")
        return m.group(1) + m.group(2) + MARKERS["secret"]

    def whole(kind: str) -> Callable[[re.Match[str]], str]:
        def fn(_m: re.Match[str]) -> str:
            counts.add(kind)
            return MARKERS[kind]
        return fn

    def card(s: str) -> str | None:
        digits = "".join(c for c in s if c.isascii() and c.isdigit())
        if is_card_number(digits):
            counts.add("card")
            return MARKERS["card"]
        return None

    def ssn(s: str) -> str | None:
        if _plausible_ssn(s):
            counts.add("ssn")
            return MARKERS["ssn"]
        return None

    def ssn_labelled(m: re.Match[str]) -> str | None:
        if not _plausible_ssn(m.group(3)):
            return None
        counts.add("ssn")
        return m.group(1) + m.group(2) + MARKERS["ssn"]

    def phone(s: str) -> str | None:
        digits = sum(1 for c in s if c.isascii() and c.isdigit())
        if s.startswith("+") and not (8 <= digits <= 15):
            return None
        counts.add("phone")
        return MARKERS["phone"]

    def url_password(m: re.Match[str]) -> str | None:
        if m.group(2).startswith("[REDACTED:"):
            return None
        counts.add("secret")
        return m.group(1) + MARKERS["secret"] + "@"

    def iban(m: re.Match[str]) -> str | None:
        # The pattern may have taken a short word after the number: try it without each piece.
        found = m.group(0)
        while not is_iban(found):
            if " " not in found:
                return None
            found = found[:found.rindex(" ")]
        counts.add("iban")
        return MARKERS["iban"] + m.group(0)[len(found):]

    text = _replace(_KEY_FORMAT, text, whole("secret"))
    text = _replace(_URL_PASSWORD, text, url_password)
    text = _replace(_BEARER, text, bearer)
    if _SECRET_KEY_HINT.search(text):
        text = _redact_key_values(text, counts)
    text = _replace(_NAMED_IN_PROSE, text, named_in_prose)
    text = _redact_aws_secrets(text, counts)
    text = _replace(_EMAIL, text, whole("email"))
    text = _replace(_IBAN, text, iban)
    text = _replace_isolated(_CARD, text, glue, card)
    text = _replace_isolated(_SSN, text, glue, ssn)
    text = _replace(_SSN_LABELLED, text, ssn_labelled)
    text = _replace_isolated(_PHONE, text, glue, phone)
    return text


def _redact_string(s: str, counts: _Counts) -> str:
    stripped = s.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            inner = json.loads(s)
        except ValueError:
            inner = None
        if isinstance(inner, (dict, list)):
            found = _Counts()
            inner = _redact_into(inner, found)
            if not found:
                return s
            for k, n in found.items():
                counts.add(k, n)
            return json.dumps(inner, separators=(",", ":"), ensure_ascii=False)
    return _redact_str(s, counts)


def _redact_secret_value(value: Any, numbers_are_counts: bool, counts: _Counts) -> Any:
    if value is None or isinstance(value, bool) or value == "" or value == MARKERS["secret"]:
        return value
    if isinstance(value, (int, float)) and numbers_are_counts:
        return value
    if isinstance(value, dict):
        return _redact_into(value, counts)
    if isinstance(value, (list, tuple)):
        return [_redact_secret_value(v, numbers_are_counts, counts) for v in value]
    counts.add("secret")
    return MARKERS["secret"]


def _redact_into(value: Any, counts: _Counts) -> Any:
    if isinstance(value, dict):
        values = [
            (k, _redact_secret_value(v, _holds_counts(k), counts) if isinstance(k, str) and is_sensitive_key(k) else _redact_into(v, counts))
            for k, v in value.items()
        ]
        return _redact_keys(values, counts)
    if isinstance(value, (list, tuple)):
        return [_redact_into(v, counts) for v in value]
    if isinstance(value, str):
        return _redact_string(value, counts)
    if isinstance(value, int) and not isinstance(value, bool) and is_card_number(str(value)):
        counts.add("card")
        return MARKERS["card"]
    return value


def _redact_keys(pairs: list[tuple[Any, Any]], counts: _Counts) -> dict[Any, Any]:
    """Keys can be personal data too: each is scrubbed like text; two keys that scrub to the same
    marker stay apart as `[REDACTED:EMAIL] (2)`, so no value is lost."""
    out: dict[Any, Any] = {}
    for k, v in pairs:
        if isinstance(k, str):
            clean = _redact_str(k, counts)
            key, n = clean, 2
            while key in out:
                key, n = f"{clean} ({n})", n + 1
        else:
            key = k
        out[key] = v
    return out


def redact(value: Any) -> tuple[Any, dict[str, int]]:
    """Returns `(redacted copy of value, {kind: count})` for any JSON-like value."""
    counts = _Counts()
    out = _redact_into(value, counts)
    return out, dict(counts)


def redact_text(text: str) -> tuple[str, dict[str, int]]:
    counts = _Counts()
    return _redact_str(text, counts), dict(counts)


def redact_name(name: str) -> tuple[str, dict[str, int]]:
    """Redacts a name (a tool's, a label) as the Rust `redact_name` does: `_`, `-`, `.`, `/` and
    `:` separate words instead of gluing them, so `tool_415-5552671` loses its phone number."""
    counts = _Counts()
    return _redact_str(name, counts, glue="name"), dict(counts)
