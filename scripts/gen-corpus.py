#!/usr/bin/env python3
"""Deterministic e-mail for mailtug's fixtures and benchmark.

Real mailboxes are private and cannot be regenerated, so tests and benchmarks
use mail that looks real -- MIME trees, encoded words, 8-bit headers, folded
lines, threads, flags -- yet comes out byte for byte the same from a seed.
One generator serves both `scripts/gen-fixtures` (a small corpus of edge
cases, checked in) and `scripts/bench` (about 1 GB of ordinary mail), so the
two never disagree about what an mbox or a maildir looks like.

Invariants:
- Output depends only on the seed and the arguments: every message draws from
  its own `random.Random` seeded with a string (hashed with SHA-512 by Python,
  so PYTHONHASHSEED does not matter), and nothing reads the clock or the pid.
  Adding one fixture message changes that message, not all that follow.
- `Message.raw` is the message as a maildir file holds it. The mbox writer
  adds the From_ line, the flag headers and mboxrd quoting around it; a reader
  that undoes those gets `raw` back, which `sha256` in the manifest checks.

Usage:
  gen-corpus.py fixtures OUTDIR            # the corpus under fixtures/
  gen-corpus.py corpus --count N [--mbox FILE] [--maildir DIR] [--files DIR]
                       [--seed S] [--sizes SPEC] [--progress]

As a module (the hyphen keeps it out of a plain `import`), load it with
importlib and register it in sys.modules before exec_module, which dataclasses
need. Python 3.9 or newer, standard library only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import os
import quopri
import random
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

# ---------------------------------------------------------------------------
# Vocabulary. Every domain is reserved for documentation (RFC 2606) and every
# IP address comes from the TEST-NET ranges (RFC 5737).

OWNER = ("Robin Keller", "robin@example.org")

PEOPLE = [
    ("Alice Johnson", "alice.johnson@example.com"),
    ("Bob Martin", "bob@example.net"),
    ("Carol Nguyen", "carol.nguyen@example.com"),
    ("Dave O'Neill", "dave@lists.example.net"),
    ("Priya Raman", "priya@example.org"),
    ("José Müller", "jose.mueller@example.com"),
    ("Zoë Ångström", "zoe@example.net"),
    ("Françoise Lefèvre", "f.lefevre@example.com"),
    ("Søren Kierkegård", "soren@example.org"),
    ("Łukasz Wróbel", "lukasz@example.net"),
    ("山田 太郎", "taro.yamada@example.com"),
    ("Ελένη Παππά", "eleni@example.org"),
    ("Ольга Иванова", "olga@example.net"),
]

SUBJECTS_ASCII = [
    "Quarterly report draft",
    "Lunch on Friday?",
    "Invoice 2024-117",
    "Server migration plan",
    "Notes from the design review",
    "Your order has shipped",
    "Weekly status: storage cluster",
    "Question about the backup schedule",
    "Slides for Thursday",
    "Reminder: dentist appointment",
    "Build failures on the release branch since the compiler upgrade last week",
    "Trip to Lisbon, hotel options",
    "Meeting minutes 12 March",
    "Can you review my patch?",
    "Newsletter: what changed in October",
]

SUBJECTS_INTL = [
    "Grüße aus München",
    "Café à Paris — réunion lundi",
    "Résumé für die Übersetzung",
    "Año nuevo, presupuesto nuevo",
    "Søknad om permisjon",
    "会議の議事録",
    "Προσφορά για το έργο",
    "Zażółć gęślą jaźń — test polskich znaków",
    "Отчёт за третий квартал",
    "Naïve façade, coöperation and other diacritics",
]

SENTENCES_EN = [
    "Thanks for sending this over so quickly.",
    "I had a look at the numbers and they mostly add up.",
    "The second table still uses last year's exchange rate.",
    "Could you check whether the totals include the freight costs?",
    "We agreed to move the deadline to the end of the month.",
    "The new server arrived on Tuesday and is racked already.",
    "Migration of the old archive will take about two nights.",
    "Please keep the original files until we have verified the copies.",
    "I will be out of the office next week with limited access to e-mail.",
    "Let me know if anything in the attached draft is unclear.",
    "The meeting room on the third floor is booked for us.",
    "Nobody objected to the proposal during the call.",
    "There is a small typo in the second paragraph of the summary.",
    "The backup job failed twice last night because the disk was full.",
    "We should rotate the logs more often than once a month.",
    "I attached the signed copy for your records.",
    "Our supplier confirmed delivery for the ninth.",
    "The hotel near the station has rooms for the whole team.",
    "Could we meet half an hour earlier than planned?",
    "The quarterly figures look better than expected.",
    "I have forwarded your question to the finance team.",
    "The patch applies cleanly but two tests fail on my machine.",
    "Everything else looks good to me.",
    "Happy to discuss this over the phone if that is easier.",
    "The contract renewal is due in six weeks.",
    "I updated the spreadsheet with the latest estimates.",
    "The printer on the second floor is out of toner again.",
    "Please send the invoice to the accounts address, not to me.",
    "We still need a volunteer for the Friday shift.",
    "The release notes are in the shared folder.",
    "Sorry for the late reply, this got buried in my inbox.",
    "The test environment will be down for maintenance on Sunday.",
    "I think we can close this ticket now.",
    "Our lawyer wants to read the final version before we sign.",
    "The catering order needs to be confirmed by Wednesday.",
    "I will bring the projector and the adapters.",
]

SENTENCES_INTL = [
    "Vielen Dank für die schnelle Rückmeldung, das hilft uns sehr.",
    "Die Übersicht ist im Anhang, bitte prüfe die Zahlen für Mai.",
    "Merci pour votre réponse, nous avons bien reçu les documents.",
    "La réunion de lundi est déplacée à 14 h à cause des travaux.",
    "¿Podrías enviarme el presupuesto actualizado antes del jueves?",
    "El informe está casi terminado, solo falta la sección de costes.",
    "Jeg sender filene i morgen når jeg er tilbake på kontoret.",
    "Proszę o potwierdzenie terminu spotkania w przyszłym tygodniu.",
    "資料を添付しましたので、ご確認をお願いいたします。",
    "来週の会議は十時から始まります。",
    "Σας ευχαριστώ για την άμεση απάντηση.",
    "Спасибо, я передам документы в бухгалтерию.",
    "Zoë fand das Café in der Straße hinter dem Bahnhof.",
    "Ça coûte 12 € de plus, mais la qualité est bien meilleure.",
]

# Latin-1 only, for the ISO-8859-1 bodies and the raw 8-bit legacy header.
SENTENCES_LATIN1 = [
    "Grüße aus Köln, die Unterlagen liegen bei.",
    "Können wir das Gespräch auf Donnerstag verschieben?",
    "La façade du musée est en rénovation jusqu'en août.",
    "Señora Núñez confirmó la reserva para el miércoles.",
]

MAILERS = [
    ("User-Agent", "Mozilla Thunderbird 115.6.0"),
    ("User-Agent", "Mutt/2.2.12 (2023-09-09)"),
    ("X-Mailer", "Apple Mail (2.3774.300.61.1.2)"),
    ("X-Mailer", "Microsoft Outlook 16.0"),
    ("User-Agent", "Roundcube Webmail/1.6.5"),
    ("User-Agent", "K-9 Mail for Android"),
]

ATTACHMENT_KINDS = [
    ("report.pdf", "application/pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"),
    ("photo.jpg", "image/jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"),
    ("screenshot.png", "image/png", b"\x89PNG\r\n\x1a\n"),
    ("archive.zip", "application/zip", b"PK\x03\x04"),
    ("data.bin", "application/octet-stream", b""),
    ("Übersicht 2024.pdf", "application/pdf", b"%PDF-1.4\n"),
]

# maildir info letters (DJB's maildir spec; Maildir++): D draft, F flagged,
# R replied, S seen, T trashed. P (passed) has no mbox equivalent and is never
# generated, so every fixture flag survives a round trip through mbox.
FLAG_LETTERS = "DFRST"

# mbox X-Status letters as Dovecot and mutt write them: A answered, F flagged,
# T draft, D deleted -- note that T and D mean the opposite of maildir's.
XSTATUS_FROM_MAILDIR = [("R", "A"), ("F", "F"), ("D", "T"), ("T", "D")]

DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun",
          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


# ---------------------------------------------------------------------------
# Header encoding.

def is_ascii(text: str) -> bool:
    return all(ord(c) < 128 for c in text)


def is_latin1(text: str) -> bool:
    return all(ord(c) < 256 for c in text)


def encoded_words_b(text: str, charset: str = "UTF-8") -> list[str]:
    """RFC 2047 B encoding, split so no word exceeds 75 characters (§2) and
    no multi-byte character is cut between two words (§5)."""
    prefix = f"=?{charset}?B?"
    room = (75 - len(prefix) - 2) // 4 * 3
    words, chunk = [], b""
    for ch in text:
        data = ch.encode(charset)
        if chunk and len(chunk) + len(data) > room:
            words.append(prefix + base64.b64encode(chunk).decode() + "?=")
            chunk = b""
        chunk += data
    if chunk:
        words.append(prefix + base64.b64encode(chunk).decode() + "?=")
    return words


Q_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")


def encoded_words_q(text: str, charset: str = "ISO-8859-1") -> list[str]:
    """RFC 2047 Q encoding (§4.2): `_` for space, `=XX` for anything that is
    not safe in a phrase."""
    prefix = f"=?{charset}?Q?"
    words, cur = [], ""
    for ch in text:
        enc = "".join("_" if b == 0x20 else chr(b) if b in Q_SAFE else f"={b:02X}"
                      for b in ch.encode(charset))
        if cur and len(prefix) + len(cur) + len(enc) + 2 > 75:
            words.append(prefix + cur + "?=")
            cur = ""
        cur += enc
    if cur:
        words.append(prefix + cur + "?=")
    return words


def header_text(text: str, style: str) -> list[str]:
    """Tokens for unstructured text (Subject) in the given style; the folder
    joins them with single spaces, which is where lines may break."""
    if is_ascii(text) or style in ("utf8", "latin1raw"):
        return text.split(" ")
    if style == "q" and is_latin1(text):
        return encoded_words_q(text)
    return encoded_words_b(text)


PHRASE_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]')


def mailbox_tokens(name: str, addr: str, style: str) -> list[str]:
    """`Display Name <addr>` (RFC 5322 §3.4) as foldable tokens."""
    if not name:
        return [f"<{addr}>"]
    if is_ascii(name) or style in ("utf8", "latin1raw"):
        if PHRASE_SPECIALS.search(name):
            name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return name.split(" ") + [f"<{addr}>"]
    if style == "q" and is_latin1(name):
        return encoded_words_q(name) + [f"<{addr}>"]
    return encoded_words_b(name) + [f"<{addr}>"]


def address_list(people, style: str) -> list[str]:
    tokens = []
    for i, (name, addr) in enumerate(people):
        t = mailbox_tokens(name, addr, style)
        if i < len(people) - 1:
            t[-1] += ","
        tokens += t
    return tokens


def fold(name: str, tokens: list[str], width: int = 78) -> str:
    """One header field, folded at spaces (RFC 5322 §2.2.3) so lines stay
    within `width` characters where the tokens allow it."""
    line = name + ":"
    lines = []
    for tok in tokens:
        if len(line) + 1 + len(tok) > width and line != name + ":":
            lines.append(line)
            line = " " + tok
        else:
            line += " " + tok
    lines.append(line)
    return "\n".join(lines)


def asctime_utc(dt: datetime) -> str:
    """`Wed Jan  1 10:00:00 2020`, the date format of mbox From_ lines,
    spelled out so the locale cannot change it."""
    dt = dt.astimezone(timezone.utc)
    return (f"{DAYS[dt.weekday()]} {MONTHS[dt.month - 1]} {dt.day:2d} "
            f"{dt:%H:%M:%S} {dt.year}")


def iso_utc(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ---------------------------------------------------------------------------
# Messages.

@dataclass
class Message:
    raw: bytes                 # as a maildir file holds it
    date: datetime             # internal date; also the Date header instant
    sender: str                # envelope sender for the From_ line
    author: str                # display name, for "X wrote:" in replies
    message_id: str | None
    subject: str               # decoded, for people reading the manifest
    text: str                  # the plain-text body, for quoting in replies
    references: list[str] = field(default_factory=list)
    flags: str = ""            # maildir letters, a subset of FLAG_LETTERS
    keywords: tuple[str, ...] = ()

    def with_flags(self, flags: str = "", keywords: tuple[str, ...] = ()) -> "Message":
        assert set(flags) <= set(FLAG_LETTERS), flags
        return Message(self.raw, self.date, self.sender, self.author, self.message_id,
                       self.subject, self.text, self.references, "".join(sorted(flags)),
                       tuple(keywords))


def wrap(text: str, width: int = 72) -> list[str]:
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    if line:
        lines.append(line)
    return lines


class Composer:
    """Builds messages. Paragraphs come from a pool drawn once from the seed,
    because drawing every word per message made the 1 GB corpus slow."""

    def __init__(self, seed: str):
        self.seed = seed
        rng = random.Random(f"{seed}/paragraphs")
        self.paragraphs = {
            "en": [" ".join(rng.choice(SENTENCES_EN) for _ in range(rng.randint(2, 7)))
                   for _ in range(400)],
            "intl": [" ".join(rng.choice(SENTENCES_INTL + SENTENCES_EN)
                              for _ in range(rng.randint(2, 6))) for _ in range(200)],
            "latin1": [" ".join(rng.choice(SENTENCES_LATIN1) for _ in range(rng.randint(2, 4)))
                       for _ in range(40)],
        }

    def body_paragraphs(self, rng: random.Random, lang: str, size: int) -> list[str]:
        pool = self.paragraphs[lang]
        out, total = [], 0
        while total < size or not out:
            p = rng.choice(pool)
            out.append(p)
            total += len(p.encode()) + 2
        return out

    def compose(
        self,
        rng: random.Random,
        *,
        date: datetime,
        sender: tuple[str, str],
        to: list[tuple[str, str]],
        cc: list[tuple[str, str]] = (),
        subject: str | None = None,
        style: str = "ascii",          # ascii | utf8 | b | q | latin1raw
        lang: str = "en",              # en | intl | latin1
        structure: str = "plain",      # plain | alternative | mixed
        encoding: str | None = None,   # 7bit | 8bit | quoted-printable | base64
        text_size: int = 600,
        attachments: list[int] = (),   # sizes in bytes, before base64
        message_id: str = "normal",    # normal | folded | none
        id_tag: str = "",              # appended to the id's local part
        reply_to: Message | None = None,
        extra_text: str = "",
        body_text: str | None = None,  # replaces the generated text
        crlf: bool = False,
        received: bool = True,
        header_only: bool = False,
        final_newline: bool = True,
        tz_minutes: int | None = None,
    ) -> Message:
        if tz_minutes is None:
            tz_minutes = rng.choice([0, 60, 120, -300, -240, 330, 540, 60, 60])
        local = date.astimezone(timezone(timedelta(minutes=tz_minutes)))
        sender_domain = sender[1].split("@", 1)[1]

        if subject is None:
            pool = SUBJECTS_INTL if style != "ascii" else SUBJECTS_ASCII
            if style in ("q", "latin1raw"):
                pool = [s for s in SUBJECTS_INTL if is_latin1(s)]
            subject = rng.choice(pool)
        refs: list[str] = []
        if reply_to is not None:
            base = re.sub(r"^(Re:\s*)+", "", reply_to.subject)
            subject = "Re: " + base
            refs = (reply_to.references + [reply_to.message_id]) if reply_to.message_id else []

        mid = None
        if message_id != "none":
            stamp = local.strftime("%Y%m%d%H%M%S")
            if message_id == "folded":
                # Outlook-style ids are long enough that the field is folded
                # right after the colon.
                host = f"AM{rng.randint(0, 9)}PR{rng.randint(1, 9):02d}MB{rng.randint(1000, 9999)}"
                mid = (f"<{host}{rng.getrandbits(64):016X}{stamp}{id_tag}@"
                       f"{host}.eurprd{rng.randint(1, 9):02d}.prod.{sender_domain}>")
            else:
                mid = (f"<{stamp}.{rng.getrandbits(48):012x}{id_tag}@"
                       f"{rng.choice(['mail.', ''])}{sender_domain}>")

        # Header fields, in the order a typical MTA and MUA leave them.
        h: list[str] = []
        if received:
            h.append(f"Return-Path: <{sender[1]}>")
            h.append(f"Delivered-To: {to[0][1]}")
            hop = date + timedelta(seconds=rng.randint(1, 40))
            h.append(
                f"Received: from mail.{sender_domain} (mail.{sender_domain} "
                f"[192.0.2.{rng.randint(1, 254)}])\n"
                f"\tby mx.example.org (Postfix) with ESMTPS id {rng.getrandbits(40):010X}\n"
                f"\tfor <{to[0][1]}>; {format_datetime(hop)}".replace("+0000", "+0000 (UTC)"))
        h.append(f"Date: {format_datetime(local)}")
        h.append(fold("From", mailbox_tokens(sender[0], sender[1], style)))
        h.append(fold("To", address_list(to, style)))
        if cc:
            h.append(fold("Cc", address_list(cc, style)))
        h.append(fold("Subject", header_text(subject, style)))
        if mid:
            h.append(f"Message-ID:\n {mid}" if message_id == "folded" else f"Message-ID: {mid}")
        if reply_to is not None and reply_to.message_id:
            h.append(f"In-Reply-To: {reply_to.message_id}")
            h.append(fold("References", refs))
        mailer = rng.choice(MAILERS)
        h.append(f"{mailer[0]}: {mailer[1]}")

        text = ""
        if header_only:
            head = "\n".join(h) + "\n"
            charset = "latin-1" if style == "latin1raw" else "utf-8"
            raw = head.encode(charset)
            body = b""
        else:
            h.append("MIME-Version: 1.0")
            text = body_text if body_text is not None else \
                self.plain_text(rng, lang, text_size, sender, reply_to, extra_text)
            ctype, body = self.body(rng, structure, text, lang, encoding, attachments)
            h.extend(ctype)
            charset = "latin-1" if style == "latin1raw" else "utf-8"
            raw = ("\n".join(h) + "\n\n").encode(charset)
        raw += body
        if not final_newline:
            raw = raw.rstrip(b"\n")
        if crlf:
            raw = raw.replace(b"\n", b"\r\n")
        return Message(raw=raw, date=date, sender=sender[1], author=sender[0] or sender[1],
                       message_id=mid, subject=subject, text=text, references=refs)

    def plain_text(self, rng, lang, size, sender, reply_to, extra_text) -> str:
        greeting = rng.choice(["Hi,", "Hello,", "Dear all,", "Hi there,"])
        paras = self.body_paragraphs(rng, lang, size)
        lines = [greeting, ""]
        for p in paras:
            lines += wrap(p) + [""]
        if extra_text:
            lines += extra_text.split("\n") + [""]
        if reply_to is not None:
            lines.append(f"On {format_datetime(reply_to.date)}, {reply_to.author} wrote:")
            quoted = [ln for ln in reply_to.text.split("\n")[:12]]
            lines += [("> " + ln) if ln else ">" for ln in quoted]
            lines.append("")
        # "-- " with its trailing space is the signature separator
        # (RFC 3676 §4.3); quoted-printable must keep that space as =20.
        lines += ["-- ", sender[0] or sender[1]]
        return "\n".join(lines) + "\n"

    def text_part(self, text: str, lang: str, encoding: str | None, subtype="plain"):
        charset = "iso-8859-1" if lang == "latin1" else ("us-ascii" if is_ascii(text) else "utf-8")
        data = text.encode("latin-1" if charset == "iso-8859-1" else "utf-8")
        if encoding is None:
            encoding = "7bit" if charset == "us-ascii" else "8bit"
        if encoding == "7bit" and charset != "us-ascii":
            encoding = "quoted-printable"
        if encoding == "quoted-printable":
            if subtype == "plain":
                # QP exists for long lines: undo the wrapping so the encoder
                # has to write soft line breaks.
                data = re.sub(rb"(?<=[^\n ])\n(?=[^\n>-])", b" ", data)
            body = quopri.encodestring(data)
        elif encoding == "base64":
            body = base64.encodebytes(data)
        else:
            body = data
        hdr = [f"Content-Type: text/{subtype}; charset={charset}",
               f"Content-Transfer-Encoding: {encoding}"]
        return hdr, body

    def attachment(self, rng: random.Random, size: int):
        name, ctype, magic = rng.choice(ATTACHMENT_KINDS)
        data = magic + rng.randbytes(max(0, size - len(magic)))
        if is_ascii(name):
            hdr = [f'Content-Type: {ctype}; name="{name}"',
                   f'Content-Disposition: attachment; filename="{name}"']
        else:
            # RFC 2231 for the filename, plus the encoded-word name parameter
            # that Outlook and Thunderbird still send alongside it.
            pct = "".join(chr(b) if chr(b).isalnum() or chr(b) in ".-_" else f"%{b:02X}"
                          for b in name.encode())
            hdr = [f"Content-Type: {ctype};\n name=\"{encoded_words_b(name)[0]}\"",
                   f"Content-Disposition: attachment;\n filename*=UTF-8''{pct}"]
        hdr.append("Content-Transfer-Encoding: base64")
        return hdr, base64.encodebytes(data)

    def boundary(self, rng):
        return f"------------{rng.getrandbits(96):024x}"

    def multipart(self, rng, subtype, parts) -> tuple[list[str], bytes]:
        b = self.boundary(rng)
        out = [b"This is a multi-part message in MIME format.\n"]
        for hdr, body in parts:
            out.append(f"--{b}\n".encode() + ("\n".join(hdr) + "\n\n").encode() + body)
            if not body.endswith(b"\n"):
                out.append(b"\n")
        out.append(f"--{b}--\n".encode())
        return [f'Content-Type: multipart/{subtype};\n boundary="{b}"'], b"".join(out)

    def body(self, rng, structure, text, lang, encoding, attachments):
        if structure == "plain":
            hdr, body = self.text_part(text, lang, encoding)
            return hdr, body
        paras = [p for p in text.split("\n\n") if p.strip()]
        html_doc = ("<html><body>\n" + "\n".join(
            "<p>" + html.escape(p).replace("\n", "<br>\n") + "</p>" for p in paras)
            + "\n</body></html>\n")
        alternative = self.multipart(rng, "alternative", [
            self.text_part(text, lang, encoding),
            self.text_part(html_doc, "intl" if not is_ascii(html_doc) else "en",
                           "quoted-printable", "html"),
        ])
        if structure == "alternative":
            return alternative
        first = alternative if rng.random() < 0.5 else self.text_part(text, lang, encoding)
        parts = [first] + [self.attachment(rng, n) for n in attachments]
        return self.multipart(rng, "mixed", parts)


# ---------------------------------------------------------------------------
# Writers.

FROM_QUOTE = re.compile(rb"^(>*From )", re.M)


def split_head(raw: bytes) -> tuple[bytes, bytes]:
    """Header section (with its line ends) and the rest, which starts with the
    empty separator line if there is one."""
    m = re.search(rb"(?m)^\r?\n", raw)
    if m is None:
        return raw, b""
    return raw[:m.start()], raw[m.start():]


def mbox_flag_headers(msg: Message, nl: bytes) -> bytes:
    """Status / X-Status / X-Keywords as Dovecot and mutt write them. A message
    without flags or keywords gets none, which mbox readers take as new."""
    if not msg.flags and not msg.keywords:
        return b""
    out = [b"Status: " + (b"RO" if "S" in msg.flags else b"O")]
    xs = "".join(x for m, x in XSTATUS_FROM_MAILDIR if m in msg.flags)
    if xs:
        out.append(b"X-Status: " + xs.encode())
    if msg.keywords:
        out.append(b"X-Keywords: " + " ".join(msg.keywords).encode())
    return b"".join(line + nl for line in out)


def mbox_entry(msg: Message) -> bytes:
    """One mboxrd entry: From_ line, message with flag headers appended to its
    header section, every `^>*From ` line quoted with one more `>`, and one
    empty line after it. The From_ line and that empty line are the file's
    framing and always LF; the message keeps its own line ends."""
    head, rest = split_head(msg.raw)
    nl = b"\r\n" if head.endswith(b"\r\n") or b"\r\n" in head else b"\n"
    if head and not head.endswith(b"\n"):
        head += nl
    body = FROM_QUOTE.sub(rb">\1", head + mbox_flag_headers(msg, nl) + rest)
    if not body.endswith(b"\n"):
        body += b"\n"
    return f"From {msg.sender} {asctime_utc(msg.date)}\n".encode() + body + b"\n"


class MboxWriter:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.file = open(path, "wb")
        self.count = 0

    def add(self, msg: Message) -> int:
        """Appends `msg`; returns its 0-based position in the file."""
        self.file.write(mbox_entry(msg))
        self.count += 1
        return self.count - 1

    def close(self):
        self.file.close()


class MaildirWriter:
    """Maildir++: the root is INBOX, a folder `A.B` lives in `.A.B/`.

    Unseen messages without flags or keywords go to `new/` without an info
    suffix, everything else to `cur/` with `:2,` and the flag letters sorted
    in ASCII order (uppercase flags first, then keyword letters). Keyword
    letters are assigned per folder in order of first use and written to that
    folder's `dovecot-keywords`, as Dovecot does."""

    def __init__(self, root: Path, host: str = "mailtug-fixture", pid: int = 4242,
                 all_cur: bool = False, keep_tmp: bool = False):
        self.root = root
        self.host = host
        self.pid = pid
        self.all_cur = all_cur
        self.keep_tmp = keep_tmp   # git drops empty directories
        self.counter = 0
        self.keywords: dict[str, list[str]] = {}
        self.open_folder("")

    def folder_dir(self, folder: str) -> Path:
        return self.root if folder == "" else self.root / ("." + folder)

    def open_folder(self, folder: str) -> Path:
        d = self.folder_dir(folder)
        for sub in ("cur", "new", "tmp"):
            (d / sub).mkdir(parents=True, exist_ok=True)
        if self.keep_tmp:
            (d / "tmp" / ".gitkeep").touch()
        if folder:
            # Courier's marker for a Maildir++ subfolder; Dovecot writes it too.
            (d / "maildirfolder").touch()
        self.keywords.setdefault(folder, [])
        return d

    def add(self, msg: Message, folder: str = "") -> Path:
        d = self.open_folder(folder)
        kws = self.keywords[folder]
        letters = ""
        for kw in msg.keywords:
            if kw not in kws:
                kws.append(kw)
                assert len(kws) <= 26, "maildir allows 26 keywords per folder"
            letters += chr(ord("a") + kws.index(kw))
        self.counter += 1
        secs = int(msg.date.timestamp())
        name = f"{secs}.M{self.counter}P{self.pid}.{self.host},S={len(msg.raw)}"
        if msg.flags or msg.keywords or self.all_cur:
            path = d / "cur" / (name + ":2," + "".join(sorted(msg.flags + letters)))
        else:
            path = d / "new" / name
        path.write_bytes(msg.raw)
        os.utime(path, (secs, secs))
        return path

    def close(self):
        for folder, kws in self.keywords.items():
            if kws:
                text = "".join(f"{i} {kw}\n" for i, kw in enumerate(kws))
                (self.folder_dir(folder) / "dovecot-keywords").write_text(text)


# ---------------------------------------------------------------------------
# Fixture corpus: small, hand-planned, every edge case named in README.md.

FIXTURE_SEED = "mailtug-fixtures-1"

FROM_LINES_TEXT = (
    "Here is the part of the old thread you asked about.\n"
    "\n"
    "From the minutes of the March meeting: the budget stays as it is.\n"
    ">From an older archive, already quoted once by some other mbox tool.\n"
    ">>From the same archive, quoted twice.\n"
    "From: this line only looks like a header and needs no quoting."
)


def fixture_plan(composer: Composer):
    """Returns {store path: [(folder, [Message, ...])]} plus the malformed files.

    Messages are named and built here one by one; `filler` makes ordinary
    ones. Each message gets its own rng seeded by its name, so editing one
    entry leaves the bytes of all others alone."""
    seed = composer.seed

    def R(name):
        return random.Random(f"{seed}/{name}")

    def at(y, mo, d, h=9, mi=0):
        return datetime(y, mo, d, h, mi, tzinfo=timezone.utc)

    owner = [OWNER]

    def person(rng):
        return rng.choice(PEOPLE)

    def filler(name, date, *, sent=False):
        rng = R(name)
        style = rng.choice(["ascii"] * 6 + ["utf8", "b", "q"])
        lang = "intl" if style != "ascii" and rng.random() < 0.6 else "en"
        structure = rng.choice(["plain", "plain", "alternative"])
        return composer.compose(
            rng,
            date=date,
            sender=OWNER if sent else person(rng),
            to=[person(rng)] if sent else owner,
            cc=[person(rng)] if rng.random() < 0.25 else [],
            style=style, lang=lang, structure=structure,
            encoding=rng.choice([None, None, "quoted-printable"]),
            text_size=rng.randint(200, 1500),
            received=not sent,
        )

    def spread(start: datetime, days: int, names: list[str], *, sent=False):
        step = timedelta(days=days) / max(1, len(names))
        out = []
        for i, n in enumerate(names):
            jitter = timedelta(minutes=R(n).randint(0, 600))
            out.append(filler(n, start + step * i + jitter, sent=sent))
        return out

    # Threads that cross folders: received in INBOX, answered from Sent.
    t1a = composer.compose(R("t1a"), date=at(2024, 10, 7, 8, 12), sender=PEOPLE[0], to=owner,
                           subject="Server migration plan", text_size=900)
    t1b = composer.compose(R("t1b"), date=at(2024, 10, 7, 11, 40), sender=OWNER, to=[PEOPLE[0]],
                           cc=[PEOPLE[1]], reply_to=t1a, received=False, text_size=300)
    t1c = composer.compose(R("t1c"), date=at(2024, 10, 8, 7, 5), sender=PEOPLE[0], to=owner,
                           cc=[PEOPLE[1]], reply_to=t1b, text_size=400)
    t1d = composer.compose(R("t1d"), date=at(2024, 10, 8, 9, 30), sender=OWNER, to=[PEOPLE[0]],
                           cc=[PEOPLE[1]], reply_to=t1c, received=False, text_size=200)
    t1e = composer.compose(R("t1e"), date=at(2024, 10, 9, 16, 2), sender=PEOPLE[1], to=owner,
                           cc=[PEOPLE[0]], reply_to=t1d, text_size=300, crlf=True)

    t2a = composer.compose(R("t2a"), date=at(2024, 11, 4, 10, 0), sender=PEOPLE[5], to=owner,
                           style="utf8", lang="intl", subject="Grüße aus München",
                           structure="alternative")
    t2b = composer.compose(R("t2b"), date=at(2024, 11, 4, 18, 30), sender=OWNER, to=[PEOPLE[5]],
                           style="utf8", lang="intl", reply_to=t2a, received=False,
                           encoding="8bit")

    # --- mbox store ------------------------------------------------------
    from_lines_mbox = composer.compose(
        R("from-lines-mbox"), date=at(2024, 10, 15, 14, 20), sender=PEOPLE[2], to=owner,
        subject="From the archive: old minutes", extra_text=FROM_LINES_TEXT,
        encoding="7bit", text_size=150)
    dup_inbox = composer.compose(
        R("dup-inbox-mbox"), date=at(2024, 10, 21, 6, 0), sender=("Example Bank", "noreply@example.com"),
        to=owner, subject="Your statement for October is ready", structure="alternative",
        text_size=400).with_flags("S")
    shared_store = composer.compose(
        R("shared-store"), date=at(2024, 11, 12, 12, 0), sender=PEOPLE[4], to=owner,
        subject="Team offsite: agenda", text_size=500).with_flags("FS")
    inbox_mbox = [
        t1a.with_flags("RS"), t1c.with_flags("RS"), t1e.with_flags("S"), t2a.with_flags("RS"),
        from_lines_mbox.with_flags("S"),
        dup_inbox, dup_inbox,
        shared_store,
        composer.compose(R("no-mid-mbox"), date=at(2024, 9, 20, 22, 45),
                         sender=("cron daemon", "root@host1.example.org"), to=owner,
                         subject="Cron <root@host1> /usr/local/bin/backup", message_id="none",
                         encoding="7bit", tz_minutes=0, body_text=(
                             "backup: 18342 files, 2.1 GiB, 0 errors\n"
                             "backup: pruned 3 snapshots older than 30 days\n"
                             "backup: finished in 412 s\n")),
        composer.compose(R("utf8-header-mbox"), date=at(2024, 9, 25, 13, 10), sender=PEOPLE[7],
                         to=owner, style="utf8", lang="intl",
                         subject="Café à Paris — réunion lundi").with_flags("S"),
        composer.compose(R("b-words-mbox"), date=at(2024, 10, 1, 9, 0), sender=PEOPLE[10],
                         to=owner, cc=[PEOPLE[11]], style="b", lang="intl",
                         subject="会議の議事録 — 第三四半期のまとめと来期の予定について",
                         encoding="base64").with_flags("S", ("$Label1",)),
        composer.compose(R("q-words-mbox"), date=at(2024, 10, 3, 17, 45), sender=PEOPLE[8],
                         to=owner, style="q", lang="latin1",
                         subject="Søknad om permisjon", encoding="quoted-printable"),
        composer.compose(R("crlf-mbox"), date=at(2024, 10, 10, 8, 0), sender=PEOPLE[3], to=owner,
                         subject="Weekly status: storage cluster", crlf=True,
                         structure="alternative").with_flags("S"),
        composer.compose(R("attachment-100k"), date=at(2024, 11, 20, 15, 30), sender=PEOPLE[0],
                         to=owner, subject="Signed contract (scan)", structure="mixed",
                         attachments=[72_000], text_size=200).with_flags("FRS", ("Work",)),
        composer.compose(R("folded-mid-mbox"), date=at(2024, 11, 25, 10, 10), sender=PEOPLE[1],
                         to=owner, subject="Slides for Thursday", message_id="folded",
                         structure="alternative").with_flags("", ("Work",)),
        filler("inbox-mbox-1", at(2024, 12, 2, 9, 0)).with_flags("S"),
    ]
    sent_mbox = [t1b.with_flags("S"), t1d.with_flags("S"), t2b.with_flags("S")] + [
        m.with_flags("S") for m in spread(at(2024, 9, 2), 100,
                                          [f"sent-mbox-{i}" for i in range(5)], sent=True)
    ] + [
        composer.compose(R("sent-attachment-mbox"), date=at(2024, 10, 28, 19, 0), sender=OWNER,
                         to=[PEOPLE[6]], subject="Photos from the trip", structure="mixed",
                         attachments=[38_000, 9_000], received=False).with_flags("S"),
        composer.compose(R("sent-crlf-mbox"), date=at(2024, 12, 5, 8, 20), sender=OWNER,
                         to=[PEOPLE[9]], style="b", lang="intl", crlf=True, received=False,
                         subject="Zażółć gęślą jaźń — test polskich znaków").with_flags("S"),
    ]
    dup_archive = composer.compose(
        R("dup-archive-mbox"), date=at(2023, 12, 30, 23, 50), sender=PEOPLE[6], to=owner,
        subject="Happy new year!", style="b", lang="intl", text_size=300).with_flags("S")
    archive_2023 = spread(at(2023, 1, 10), 330, [f"a2023-mbox-{i}" for i in range(7)])
    archive_2023 = [m.with_flags("S") for m in archive_2023] + [
        dup_archive,
        composer.compose(R("latin1-raw-header"), date=at(2023, 3, 14, 11, 11), sender=PEOPLE[7],
                         to=owner, style="latin1raw", lang="latin1",
                         subject="Résumé de la réunion à Genève", encoding="8bit").with_flags("S"),
        composer.compose(R("a2023-keywords"), date=at(2023, 6, 6, 6, 6), sender=PEOPLE[2],
                         to=owner, subject="Invoice 2023-042", structure="mixed",
                         attachments=[15_000]).with_flags("S", ("Receipts", "$Label1")),
    ]
    archive_2024 = [m.with_flags("S") for m in spread(
        at(2024, 1, 8), 240, [f"a2024-mbox-{i}" for i in range(9)])] + [
        dup_archive,
        composer.compose(R("a2024-crlf"), date=at(2024, 2, 2, 2, 2), sender=PEOPLE[12], to=owner,
                         style="b", lang="intl", crlf=True, structure="mixed",
                         attachments=[6_000]).with_flags("RS"),
        composer.compose(R("a2024-trashed"), date=at(2024, 5, 5, 5, 5), sender=PEOPLE[3], to=owner,
                         subject="Newsletter: what changed in October").with_flags("ST"),
    ]

    # --- maildir store ---------------------------------------------------
    # Its own long thread, so References grows until it folds.
    t3 = [composer.compose(R("t3a"), date=at(2024, 9, 3, 7, 50), sender=PEOPLE[4], to=owner,
                           cc=[PEOPLE[2], PEOPLE[3]], subject="Question about the backup schedule",
                           text_size=700)]
    for i, (who, hours) in enumerate([(OWNER, 3), (PEOPLE[2], 20), (OWNER, 26), (PEOPLE[4], 49),
                                      (OWNER, 50)]):
        to = [PEOPLE[4]] if who == OWNER else owner
        t3.append(composer.compose(R(f"t3-{i}"), date=t3[0].date + timedelta(hours=hours),
                                   sender=who, to=to, cc=[PEOPLE[3]], reply_to=t3[-1],
                                   received=who != OWNER, text_size=250))
    t3_in = [m for m in t3 if m.sender != OWNER[1]]
    t3_out = [m for m in t3 if m.sender == OWNER[1]]
    from_lines_md = composer.compose(
        R("from-lines-maildir"), date=at(2024, 10, 16, 9, 0), sender=PEOPLE[2], to=owner,
        subject="Fwd: From the archive: old minutes", extra_text=FROM_LINES_TEXT,
        encoding="7bit", text_size=150, crlf=True)
    dup_md = composer.compose(
        R("dup-inbox-maildir"), date=at(2024, 10, 22, 6, 0), sender=("Parcel Service", "track@example.net"),
        to=owner, subject="Your order has shipped", text_size=300).with_flags("S")
    dup_md_folders = composer.compose(
        R("dup-folders-maildir"), date=at(2023, 8, 1, 12, 0), sender=PEOPLE[9], to=owner,
        subject="Receipt for your donation", structure="alternative").with_flags("S", ("$Label1",))
    inbox_md = [m.with_flags("RS") for m in t3_in] + [
        shared_store,
        from_lines_md,
        dup_md, dup_md,
        dup_md_folders,
        composer.compose(R("utf8-header-maildir"), date=at(2024, 9, 18, 19, 0), sender=PEOPLE[11],
                         to=owner, cc=[PEOPLE[12]], style="utf8", lang="intl",
                         subject="Προσφορά για το έργο"),
        composer.compose(R("b-words-maildir"), date=at(2024, 9, 26, 7, 30), sender=PEOPLE[12],
                         to=owner, style="b", lang="intl",
                         subject="Отчёт за третий квартал").with_flags("S", ("$Label1", "Work")),
        composer.compose(R("no-mid-maildir"), date=at(2024, 9, 30, 3, 0),
                         sender=("MAILER-DAEMON", "mailer-daemon@mx.example.org"), to=owner,
                         subject="Undelivered Mail Returned to Sender", message_id="none",
                         encoding="7bit", tz_minutes=0, body_text=(
                             "This is the mail system at host mx.example.org.\n\n"
                             "I'm sorry to have to inform you that your message could not\n"
                             "be delivered to one or more recipients.\n\n"
                             "<nobody@example.com>: host mail.example.com[192.0.2.25] said:\n"
                             "    550 5.1.1 <nobody@example.com>: Recipient address rejected:\n"
                             "    User unknown in virtual mailbox table\n")).with_flags("S"),
        composer.compose(R("crlf-maildir"), date=at(2024, 10, 2, 16, 0), sender=PEOPLE[4], to=owner,
                         crlf=True, structure="mixed", attachments=[20_000]).with_flags("RS"),
        composer.compose(R("folded-mid-maildir"), date=at(2024, 10, 30, 11, 0), sender=PEOPLE[0],
                         to=owner, message_id="folded", crlf=True).with_flags("F"),
        composer.compose(R("attachment-60k"), date=at(2024, 11, 6, 13, 0), sender=PEOPLE[5],
                         to=owner, style="q", lang="intl", structure="mixed",
                         attachments=[45_000], subject="Grüße aus München").with_flags("S", ("Work",)),
        composer.compose(R("no-final-newline"), date=at(2024, 11, 18, 21, 0), sender=PEOPLE[3],
                         to=owner, final_newline=False, encoding="7bit"),
        filler("inbox-md-1", at(2024, 12, 3, 8, 0)),
    ]
    sent_md = [m.with_flags("S") for m in t3_out] + [
        m.with_flags(rng_flags) for m, rng_flags in zip(
            spread(at(2024, 8, 1), 120, [f"sent-md-{i}" for i in range(5)], sent=True),
            ["S", "S", "S", "ST", "S"])
    ] + [
        composer.compose(R("sent-attachment-maildir"), date=at(2024, 9, 9, 9, 9), sender=OWNER,
                         to=[PEOPLE[2]], subject="Invoice 2024-117", structure="mixed",
                         attachments=[12_000], received=False).with_flags("S"),
        composer.compose(R("sent-8bit-maildir"), date=at(2024, 9, 15, 15, 15), sender=OWNER,
                         to=[PEOPLE[10]], style="utf8", lang="intl", encoding="8bit",
                         received=False).with_flags("S"),
        # A Bcc to self, filed here by a server-side rule and never opened: new/.
        composer.compose(R("sent-bcc-new"), date=at(2024, 11, 14, 9, 45), sender=OWNER,
                         to=[PEOPLE[3]], subject="Notes from the design review", text_size=500),
    ]
    archive_md = [dup_md_folders] + [
        m.with_flags(f, k) for m, (f, k) in zip(
            spread(at(2023, 2, 1), 300, [f"a2023-md-{i}" for i in range(8)]),
            [("S", ()), ("S", ("Receipts",)), ("S", ()), ("RS", ()), ("S", ("Work",)),
             ("S", ("Receipts", "Work")), ("FS", ()), ("S", ())])
    ] + [
        composer.compose(R("q-words-maildir"), date=at(2023, 4, 4, 14, 0), sender=PEOPLE[7],
                         to=owner, style="q", lang="latin1", encoding="quoted-printable",
                         subject="Naïve façade, coöperation and other diacritics").with_flags("S"),
        # Archived by a rule before anyone read it: new/.
        composer.compose(R("archive-unread"), date=at(2023, 11, 20, 6, 30),
                         sender=("Example Newsletter", "news@lists.example.net"), to=owner,
                         subject="Newsletter: what changed in October", structure="alternative"),
    ]
    drafts_md = [
        composer.compose(R("header-only"), date=at(2024, 12, 1, 18, 0), sender=OWNER,
                         to=[PEOPLE[4]], subject="Call the plumber", received=False,
                         header_only=True).with_flags("DS"),
        composer.compose(R("draft-attachment"), date=at(2024, 12, 6, 10, 0), sender=OWNER,
                         to=[PEOPLE[1]], subject="Quarterly report draft", structure="mixed",
                         attachments=[30_000], received=False).with_flags("DS"),
        # Saved by a client that does not mark its own drafts: lands in new/.
        composer.compose(R("draft-new"), date=at(2024, 12, 8, 22, 0), sender=OWNER,
                         to=[PEOPLE[6]], subject="Lunch on Friday?", received=False),
    ] + [
        m.with_flags(f) for m, f in zip(
            [filler(f"draft-{i}", at(2024, 11, 1 + 3 * i, 20, 0), sent=True) for i in range(7)],
            ["D", "DS", "D", "DS", "DF", "D", "DST"])
    ]

    single = [m.with_flags(f, k) for m, (f, k) in zip(
        spread(at(2022, 3, 1), 200, [f"single-{i}" for i in range(10)]),
        [("S", ()), ("", ()), ("RS", ()), ("S", ("$Label1",)), ("FS", ()),
         ("S", ()), ("", ()), ("S", ()), ("RS", ()), ("S", ())])]

    def by_date(msgs):
        return sorted(msgs, key=lambda m: m.date)  # stable: duplicates stay adjacent

    mbox_store = [
        ("mbox/INBOX.mbox", "INBOX", by_date(inbox_mbox)),
        ("mbox/Sent.mbox", "Sent", by_date(sent_mbox)),
        ("mbox/Archive/2023.mbox", "Archive/2023", by_date(archive_2023)),
        ("mbox/Archive/2024.mbox", "Archive/2024", by_date(archive_2024)),
    ]
    maildir_store = [
        ("", "INBOX", by_date(inbox_md)),
        ("Sent", "Sent", by_date(sent_md)),
        ("Archive.2023", "Archive.2023", by_date(archive_md)),
        ("Drafts", "Drafts", by_date(drafts_md)),
    ]
    return mbox_store, maildir_store, by_date(single)


def malformed_files(composer: Composer) -> tuple[dict[str, bytes], list[dict]]:
    """The files of `malformed/` and the manifest cases describing them."""
    rng = random.Random(f"{composer.seed}/garbage")
    while True:
        garbage = rng.randbytes(4096)
        if not garbage.startswith(b"From ") and b"\nFrom " not in garbage:
            break
    owner = [OWNER]

    def msg(name, day):
        r = random.Random(f"{composer.seed}/malformed/{name}")
        return composer.compose(r, date=datetime(2024, 3, day, 12, 0, tzinfo=timezone.utc),
                                sender=PEOPLE[day % len(PEOPLE)], to=owner, text_size=300)

    loose = msg("no-from-line", 1)
    # Saved from a mail client as .eml and renamed: it starts with the From:
    # header, which must not be mistaken for a From_ line.
    loose_raw = loose.raw.split(b"\n")
    loose_raw = b"\n".join([ln for ln in loose_raw if ln.startswith(b"From: ")][:1] +
                           [ln for ln in loose_raw if not ln.startswith(b"From: ")])
    whole = b"".join(mbox_entry(msg(f"truncated-{i}", 2 + i)) for i in range(3))
    cut = mbox_entry(msg("truncated-last", 9))
    head, _ = split_head(cut)
    cut = head[: int(len(head) * 0.6)].rstrip(b"\n")
    files = {
        "empty.mbox": b"",
        "garbage.mbox": garbage,
        "no-from-line.mbox": loose_raw,
        "truncated.mbox": whole + cut,
    }
    truncated = [msg(f"truncated-{i}", 2 + i) for i in range(3)]
    cases = [
        dict(file="empty.mbox", what="0 bytes: an empty folder", data=files["empty.mbox"],
             messages=[], exit=0, failed=0, duplicates=0, error=None),
        dict(file="garbage.mbox", what="4096 random bytes, not starting with `From `",
             data=garbage, messages=[], exit=1, failed=0, duplicates=0,
             error=["garbage.mbox", "From "]),
        dict(file="no-from-line.mbox",
             what="one message saved as .eml: it starts with a `From:` header, not a From_ line",
             data=loose_raw, messages=[], exit=1, failed=0, duplicates=0,
             error=["no-from-line.mbox", "From "]),
        dict(file="truncated.mbox",
             what="three messages, then a fourth cut mid-line in its header section: "
                  "copied as it is",
             data=whole + cut,
             messages=[(m.raw, m.flags or "", int(m.date.timestamp())) for m in truncated] +
                      [(cut.split(b"\n", 1)[1], "", int(msg("truncated-last", 9).date.timestamp()))],
             exit=0, failed=0, duplicates=0, error=None),
    ]
    for case in hostile_mbox_cases():
        assert case["file"] not in files, case["file"]
        files[case["file"]] = case["data"]
        cases.append(case)
    return files, cases


def malformed_manifest(cases: list[dict]) -> str:
    """`malformed/cases.json`: what mailtug must do with each file there."""
    def flag_text(flags: str) -> str:
        return flags if flags else "-"

    out = []
    for case in cases:
        out.append({
            "file": case["file"],
            "what": case["what"],
            "exit": case["exit"],
            "failed": case["failed"],
            "duplicates": case["duplicates"],
            "error": case["error"],
            "messages": [{"size": len(raw), "sha256": hashlib.sha256(raw).hexdigest(),
                          "flags": flag_text(flags), "date": date}
                         for raw, flags, date in case["messages"]],
        })
    return json.dumps({"cases": out}, indent=1, ensure_ascii=False) + "\n"



# ---------------------------------------------------------------------------
# Hostile mbox files (`malformed/*.mbox` beyond the first four) and the
# manifest of what mailtug must do with every file in `malformed/`.
#
# Each case is small and written out byte by byte, so the bytes a reader must
# produce are stated here rather than derived from a reader. Cases larger
# than ~100 KB (a 60 MB message, 10,000 headers, a line of several MB) are
# generated by the test itself (tests/hostile/), which lists them too.

def epoch(y, mo, d, h=0, mi=0, s=0, east_minutes=0) -> int:
    dt = datetime(y, mo, d, h, mi, s, tzinfo=timezone(timedelta(minutes=east_minutes)))
    return int(dt.timestamp())


def plain(tag: str, n: int, *, nl: bytes = b"\n", extra: bytes = b"", body: bytes | None = None,
          message_id: bytes | None = None) -> bytes:
    """A small message with a Message-ID unique to case `tag`, message `n`."""
    mid = message_id if message_id is not None else f"<{tag}.{n}@hostile.example.org>".encode()
    lines = [b"From: Alice <alice@example.org>", b"To: bob@example.net",
             f"Subject: {tag} #{n}".encode(), b"Message-ID: " + mid,
             b"Date: Wed, 1 Jan 2020 10:00:00 +0000"]
    head = b"".join(line + nl for line in lines) + extra
    if body is None:
        body = f"Body of {tag} message {n}.".encode() + nl
    return head + nl + body


def hostile_mbox_cases() -> list[dict]:
    """Every case: `file`, `what`, `data` (the file), `messages` (the messages
    a reader must give, each (raw, flags, unix date or None when the From_
    line has none), in file order), `exit`, `failed`, `duplicates`, and
    `error`: substrings of one `mailtug: error:` line, or None."""
    cases = []

    def case(file, what, data, messages, *, exit=0, failed=0, duplicates=0, error=None):
        cases.append(dict(file=file, what=what, data=data, messages=messages, exit=exit,
                          failed=failed, duplicates=duplicates, error=error))

    jan1 = epoch(2020, 1, 1, 10)

    # From_ line dates: each message's From_ line spells its date another way.
    forms = [
        (b"From alice@example.org Wed Jan  1 10:00:00 2020", jan1),          # asctime, padded day
        (b"From alice@example.org Thu Jan 2 10:00:00 2020", jan1 + 86400),   # day not padded
        (b"From alice@example.org Fri Jan  3 10:00 2020", jan1 + 2 * 86400),  # no seconds
        (b"From - Sat Jan  4 10:00:00 2020", jan1 + 3 * 86400),              # Thunderbird sender
        (b"From alice@example.org  Sun Jan  5 10:00:00 2020", jan1 + 4 * 86400),  # two spaces
        (b"From alice@example.org\tMon Jan  6 10:00:00 2020", jan1 + 5 * 86400),  # a tab
        (b"From alice@example.org Tue jan  7 10:00:00 2020", jan1 + 6 * 86400),  # month in lower case
        (b"From alice@example.org Wed Jan  8 23:59:60 2020", jan1 + 7 * 86400 + 14 * 3600),  # leap second
    ]
    data = b"".join(line + b"\n" + plain("asctime", i) + b"\n" for i, (line, _) in enumerate(forms))
    case("date-asctime-variants.mbox",
         "From_ lines in the asctime variants writers produce: padded and unpadded day, "
         "no seconds, `From -`, runs of spaces, a tab, a lower-case month, a leap second",
         data, [(plain("asctime", i), "", date) for i, (_, date) in enumerate(forms)])

    zones = [
        (b"From a@example.org Wed Jan  1 10:00:00 2020 +0100", epoch(2020, 1, 1, 10, east_minutes=60)),
        (b"From a@example.org Wed Jan  1 10:00:00 2020 -0830", epoch(2020, 1, 1, 10, east_minutes=-510)),
        (b"From a@example.org Wed Jan  1 10:00:00 +0200 2020", epoch(2020, 1, 1, 10, east_minutes=120)),
        (b"From a@example.org Wed Jan  1 10:00:00 PST 2020", epoch(2020, 1, 1, 10, east_minutes=-480)),  # a known name
        (b"From a@example.org Wed Jan  1 10:00:00 XYZT 2020", jan1),   # an unknown name: read as UTC
        (b"From a@example.org Wed Jan  1 10:00:00 2020 GMT", jan1),
        (b"From a@example.org Wed Jan  1 10:00:00 CEST 2020 +0200", epoch(2020, 1, 1, 10, east_minutes=120)),
        (b"From a@example.org Wed Jan  1 10:00:00 2020 +01:00", epoch(2020, 1, 1, 10, east_minutes=60)),
        (b"From a@example.org Wed Jan  1 10:00:00 -05:30 2020", epoch(2020, 1, 1, 10, east_minutes=-330)),
    ]
    data = b"".join(line + b"\n" + plain("zone", i) + b"\n" for i, (line, _) in enumerate(zones))
    case("date-timezones.mbox",
         "From_ lines with numeric zones (`+0100`, `+01:00`) after or before the year, zone "
         "names (a known one such as PST by its offset, an unknown one as UTC) and both at once",
         data, [(plain("zone", i), "", date) for i, (_, date) in enumerate(zones)])

    # The placeholder some exporters write, and a From_ line without a date
    # (the file's first line opens a message all the same): the Date header
    # gives the date (`plain` writes Wed, 1 Jan 2020 10:00:00 +0000).
    data = b"From nobody\n" + plain("placeholder", 1) + b"\n" + \
        b"From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n" + plain("placeholder", 0) + b"\n"
    case("date-placeholder.mbox",
         "a From_ line without a date, and one with the placeholder date of the epoch: the "
         "Date header gives the internal date",
         data, [(plain("placeholder", 1), "", jan1), (plain("placeholder", 0), "", jan1)])

    rfc = [
        (b"From a@example.org Wed, 1 Jan 2020 10:00:00 +0100", epoch(2020, 1, 1, 10, east_minutes=60)),
        (b"From a@example.org 2 Jan 2020 10:00:00 -0000", jan1 + 86400),
    ]
    data = b"".join(line + b"\n" + plain("rfc5322", i) + b"\n" for i, (line, _) in enumerate(rfc))
    case("date-rfc5322-order.mbox",
         "From_ lines carrying an RFC 5322 date (`Wed, 1 Jan 2020 10:00:00 +0100`), which some "
         "tools write instead of asctime",
         data, [(plain("rfc5322", i), "", date) for i, (_, date) in enumerate(rfc)])

    two = [
        (b"From a@example.org Fri Jan  1 10:00:00 99", epoch(1999, 1, 1, 10)),
        (b"From a@example.org Sat Jan  1 10:00:00 00", epoch(2000, 1, 1, 10)),
        (b"From a@example.org Tue Jan  1 10:00:00 69", epoch(2069, 1, 1, 10)),
        (b"From a@example.org Thu Jan  1 10:00:00 70", epoch(1970, 1, 1, 10)),
    ]
    data = b"".join(line + b"\n" + plain("twodigit", i) + b"\n" for i, (line, _) in enumerate(two))
    case("date-two-digit-year.mbox",
         "From_ lines with a two-digit year, as old mailers wrote them (mutt reads 70-99 as "
         "19xx and 00-69 as 20xx); each still starts a message",
         data, [(plain("twodigit", i), "", date) for i, (_, date) in enumerate(two)])

    # The first From_ line needs no date (it has nothing to belong to); later
    # ones without one are body text. Bad dates on real separators: no date.
    data = (b"From MAILER-DAEMON\n" + plain("nodate", 0) + b"\n"
            b"From a@example.org Sun Feb 30 10:00:00 2020\n" + plain("nodate", 1) + b"\n"
            b"From a@example.org Mon Jan  6 25:00:00 2020\n" + plain("nodate", 2) + b"\n"
            b"From a@example.org Wed Jan  8 10:00:00 2020\n" + plain("nodate", 3))
    case("date-missing-or-invalid.mbox",
         "a first From_ line without a date, then From_ lines with an impossible day "
         "(Feb 30, a message of its own without a date) and an impossible hour (no "
         "separator: it stays in the body of the message before it), and no blank line "
         "at the end of the file",
         data, [(plain("nodate", 0), "", None),
                (plain("nodate", 1) + b"\n" + b"From a@example.org Mon Jan  6 25:00:00 2020\n" +
                 plain("nodate", 2), "", None),
                (plain("nodate", 3), "", epoch(2020, 1, 8, 10))])

    # mboxrd quoting: every `^>*From ` line of a message gained one `>`.
    body = b"From here on,\n>From the archive:\n>>From deeper\nFromage\n> From spaced\n>From\n"
    quoted = b">From here on,\n>>From the archive:\n>>>From deeper\nFromage\n> From spaced\n>From\n"
    data = (b"From a@example.org Wed Jan  1 10:00:00 2020\n" +
            plain("mboxrd", 0, body=quoted) + b"\n")
    case("quoting-mboxrd.mbox",
         "mboxrd quoting: `>From`, `>>From`, `>>>From` lose exactly one `>`; `Fromage`, "
         "`> From` and a bare `>From` without the space are not From lines and stay",
         data, [(plain("mboxrd", 0, body=body), "", jan1)])

    # An mboxo writer quoted `From ` but not `>From `, and some writers quote
    # nothing. mailtug reads mboxrd (documented): a `>From ` line always loses
    # one `>`, and an unquoted `From ` line splits only when it looks like a
    # From_ line with a date after a blank line.
    mboxo_body = (b"Prose first.\n\nFrom the desk of Alice: hello.\n\n"
                  b"From 1999 until 2005 we met at 10:30.\n>From quoted by mboxo\n")
    read_body = (b"Prose first.\n\nFrom the desk of Alice: hello.\n\n"
                 b"From 1999 until 2005 we met at 10:30.\nFrom quoted by mboxo\n")
    data = (b"From a@example.org Wed Jan  1 10:00:00 2020\n" +
            plain("mboxo", 0, body=mboxo_body) + b"\n" +
            b"From a@example.org Thu Jan  2 10:00:00 2020\n" + plain("mboxo", 1) + b"\n")
    case("quoting-mboxo-unquoted-from.mbox",
         "an mboxo file: body lines `From the desk of...` and `From 1999 until 2005 ... at "
         "10:30.` after blank lines are left unquoted; neither carries both a year and a "
         "time of day, so both stay in the body; `>From` loses one `>` as mboxrd says",
         data, [(plain("mboxo", 0, body=read_body), "", jan1),
                (plain("mboxo", 1), "", jan1 + 86400)])

    data = (b"From a@example.org Wed Jan  1 10:00:00 2020\n" +
            plain("unquoted", 0, body=b"Forwarded:\n\nFrom bob@example.net Thu Jan  2 10:00:00 2020\n"
                  b"Subject: inner\n\ninner body\n") + b"\n")
    case("quoting-unquoted-from-line-with-date.mbox",
         "an unquoted body line that is a complete From_ line after a blank line: "
         "indistinguishable from a separator, so it starts a second message (the known "
         "limit of unquoted mbox; the bytes are all kept)",
         data, [(plain("unquoted", 0, body=b"Forwarded:\n"), "", jan1),
                (b"Subject: inner\n\ninner body\n", "", jan1 + 86400)])

    nul_msg = plain("nul", 0, extra=b"X-Nul: a\x00b\n", body=b"before\x00after\n\x00\n")
    data = b"From a@example.org Wed Jan  1 10:00:00 2020\n" + nul_msg + b"\n"
    case("nul-bytes.mbox", "NUL bytes in a header value and in the body",
         data, [(nul_msg, "", jan1)])

    eight = plain("8bit", 0, extra="Subject: Grüße aus Köln – ünïcödé\n".encode()
                  + b"X-Latin1: caf\xe9 cr\xe8me\n" + b"X-Broken: \xff\xfe\xc3\x28 \xe2\x82\n",
                  body="Grüße\n".encode() + b"\xe9t\xe9\n")
    data = b"From j\xc3\xbcrgen@example.org Wed Jan  1 10:00:00 2020\n" + eight + b"\n"
    case("8bit-and-invalid-utf8-headers.mbox",
         "raw UTF-8 (RFC 6532), Latin-1 and invalid UTF-8 bytes in headers and body, and an "
         "8-bit sender on the From_ line",
         data, [(eight, "", jan1)])

    data = (b"From \xff\xfe Wed Jan  1 10:00:00 2020\n" + plain("fromline8bit", 0) + b"\n" +
            b"From a@example.org Thu Jan  2 10:00:00 2020 \xff\xff\n" + plain("fromline8bit", 1) + b"\n")
    case("invalid-utf8-from-line.mbox", "invalid UTF-8 bytes in From_ lines (sender, trailing junk)",
         data, [(plain("fromline8bit", 0), "", jan1), (plain("fromline8bit", 1), "", jan1 + 86400)])

    header_only = (b"From: Alice <alice@example.org>\nSubject: header only\n"
                   b"Message-ID: <header-only.0@hostile.example.org>\n")
    body_only = b"\nA body without any header.\n"
    data = (b"From a@example.org Wed Jan  1 10:00:00 2020\n" + header_only + b"\n" +
            b"From a@example.org Thu Jan  2 10:00:00 2020\n" + body_only + b"\n" +
            b"From a@example.org Fri Jan  3 10:00:00 2020\n" + b"No header line at all\n" + b"\n")
    case("header-only-and-body-only.mbox",
         "a message of headers without a blank line or body, one that starts with the blank "
         "line (no headers), and one that is a line of text",
         data, [(header_only, "", jan1), (body_only, "", jan1 + 86400),
                (b"No header line at all\n", "", jan1 + 2 * 86400)])

    data = (b"From a@example.org Wed Jan  1 10:00:00 2020\n" + plain("zero", 0) + b"\n" +
            b"From a@example.org Thu Jan  2 10:00:00 2020\n" + b"\n" +
            b"From a@example.org Fri Jan  3 10:00:00 2020\n" + plain("zero", 2) + b"\n")
    case("zero-byte-message.mbox",
         "a From_ line followed directly by the next one: a message of 0 bytes, which no store "
         "can hold; it fails alone, naming the file, and the others are copied",
         data, [(plain("zero", 0), "", jan1), (plain("zero", 2), "", jan1 + 2 * 86400)],
         exit=1, failed=1, error=["zero-byte-message.mbox", "empty"])

    data = b"From a@example.org Wed Jan  1 10:00:00 2020\n"
    case("from-line-only.mbox", "a file that is one From_ line: one empty message, which fails",
         data, [], exit=1, failed=1, error=["from-line-only.mbox", "empty"])

    same_id = b"<same@hostile.example.org>"
    first = plain("dupid", 0, message_id=same_id)
    second = plain("dupid", 1, message_id=same_id)
    data = (b"From a@example.org Wed Jan  1 10:00:00 2020\n" + first + b"\n" +
            b"From a@example.org Thu Jan  2 10:00:00 2020\n" + second + b"\n")
    case("duplicate-message-id.mbox",
         "two different messages with the same Message-ID: dedup is by Message-ID "
         "(documented), so the second is reported as a duplicate and not copied",
         data, [(first, "", jan1)], duplicates=1)

    ids = [b"no-brackets@hostile.example.org", b"", b"<>", b"<unterminated@hostile.example.org",
           b"< spaced @ Hostile.Example.ORG >", b"<no-at-sign>", b"<" + b"x" * 2000 + b"@long.example>",
           "<ünïcode@hostile.example.org>".encode(), b"<\xff\xfe@hostile.example.org>",
           b"(comment) <commented@hostile.example.org> (more)"]
    msgs = [plain("badid", i, message_id=mid) for i, mid in enumerate(ids)]
    data = b"".join(b"From a@example.org Wed Jan  1 10:00:00 2020\n" + m + b"\n" for m in msgs)
    case("malformed-message-ids.mbox",
         "Message-IDs without brackets, empty, `<>`, unterminated, with spaces, without `@`, "
         "2,000 bytes long, non-ASCII, invalid UTF-8, with comments: all distinct messages, "
         "all copied",
         data, [(m, "", jan1) for m in msgs])

    folded = plain("twoids", 0, extra=b"Message-ID: <second-header@hostile.example.org>\n")
    data = b"From a@example.org Wed Jan  1 10:00:00 2020\n" + folded + b"\n"
    case("two-message-id-headers.mbox", "a message with two Message-ID headers: the first counts",
         data, [(folded, "", jan1)])

    cr = (b"From a@example.org Wed Jan  1 10:00:00 2020\rSubject: cr only\r\rbody\r\r"
          b"From a@example.org Thu Jan  2 10:00:00 2020\rSubject: 2\r\rx\r")
    case("cr-only-line-ends.mbox",
         "classic Mac OS line ends (CR only): there is no LF anywhere, so no line ends and "
         "the file is not an mbox; a clear error naming the file, nothing copied",
         cr, [], exit=1, error=["cr-only-line-ends.mbox", "CR"])

    crlf_msgs = [plain("crlf", i, nl=b"\r\n") for i in range(2)]
    data = b"".join(b"From a@example.org Wed Jan  1 10:00:00 2020\r\n" + m + b"\r\n"
                    for m in crlf_msgs)
    case("crlf-line-ends.mbox", "a file with CRLF everywhere, From_ lines and separators included",
         data, [(m, "", jan1) for m in crlf_msgs])

    mixed = [plain("mixed", 0, nl=b"\r\n"), plain("mixed", 1),
             b"Subject: mixed #2\r\nX-Line: lf\nMessage-ID: <mixed.2@hostile.example.org>\r\n\nbody\r\nlf\nbare\rcr\r\n"]
    data = (b"From a@example.org Wed Jan  1 10:00:00 2020\n" + mixed[0] + b"\n" +
            b"From a@example.org Wed Jan  1 10:00:00 2020\r\n" + mixed[1] + b"\r\n" +
            b"From a@example.org Wed Jan  1 10:00:00 2020\n" + mixed[2] + b"\n")
    case("crlf-lf-mixed.mbox",
         "CRLF and LF mixed between messages, inside one message, with a bare CR in a line, "
         "and a CRLF blank line before an LF From_ line; every message keeps its bytes",
         data, [(m, "", jan1) for m in mixed])

    last = plain("nofinal", 1)[:-1]
    data = (b"From a@example.org Wed Jan  1 10:00:00 2020\n" + plain("nofinal", 0) + b"\n" +
            b"From a@example.org Thu Jan  2 10:00:00 2020\n" + last)
    case("no-final-newline.mbox",
         "the file ends mid-line, without a newline: the last message is copied without one",
         data, [(plain("nofinal", 0), "", jan1), (last, "", jan1 + 86400)])

    status = plain("status", 0, extra=b"Status: RO\nX-Status: AF\nX-Keywords: $Label1 Work\n"
                   b"X-UID: 42\nX-IMAP: 1 2\nX-IMAPbase: 1 2\n")
    data = b"From a@example.org Wed Jan  1 10:00:00 2020\n" + status + b"\n"
    case("status-headers.mbox",
         "mailbox metadata headers (Status, X-Status, X-Keywords, X-UID, X-IMAP, X-IMAPbase) "
         "become flags and leave the message, as documented",
         data, [(plain("status", 0), "FRS $Label1 Work", jan1)])

    folded = plain("folded", 0, extra=b"X-Long: start\n" + b"".join(
        b"\tcontinuation line %d of a header folded a hundred times\n" % i for i in range(100)))
    data = b"From a@example.org Wed Jan  1 10:00:00 2020\n" + folded + b"\n"
    case("header-folded-100-times.mbox",
         "one header folded over a hundred continuation lines: one header, copied as it is",
         data, [(folded, "", jan1)])

    body = (b"From\nFromage is cheese.\nFrom:not a header\n \nFrom\tthe tab\n"
            b"\t\n   \nFrom a@example.org\n")
    lookalike = plain("lookalike", 0, body=body)
    data = (b"From a@example.org Wed Jan  1 10:00:00 2020\n" + lookalike + b"\n" +
            b"From a@example.org Thu Jan  2 10:00:00 2020\n" + plain("lookalike", 1) + b"\n")
    case("from-lookalike-body-lines.mbox",
         "body lines that start like a From_ line but are not one (`From`, `Fromage`, `From:`, "
         "`From` and a tab, `From` and an address without a date) and whitespace-only lines: "
         "no message is split",
         data, [(lookalike, "", jan1), (plain("lookalike", 1), "", jan1 + 86400)])

    twin = (b"From: Alice <alice@example.org>\nTo: bob@example.net\nSubject: twin\n"
            b"Date: Wed, 1 Jan 2020 10:00:00 +0000\n\nMessage-ID: <only-in-the-body@x>\n")
    data = b"".join(b"From a@example.org Wed Jan  1 10:00:00 2020\n" + twin + b"\n"
                    for _ in range(2))
    case("identical-without-message-id.mbox",
         "two identical messages without a Message-ID header (one appears in the body only): "
         "the fallback hash makes the second a duplicate",
         data, [(twin, "", jan1)], duplicates=1)

    data = b"\n\nFrom a@example.org Wed Jan  1 10:00:00 2020\n" + plain("leading", 0) + b"\n"
    case("leading-blank-lines.mbox",
         "blank lines before the first From_ line (some exporters write them): skipped, "
         "the message is read",
         data, [(plain("leading", 0), "", jan1)])

    # Pipermail writes each message right after the previous one's last
    # line, with no blank line between them.
    msgs = [plain("pipermail", n, body=b"text\n-- \nsignature\n") for n in range(3)]
    data = b"".join(b"From alice at example.org  Wed Jan  1 10:00:00 2020\n" + m for m in msgs)
    case("no-blank-line-before-from.mbox",
         "From_ lines right after the previous message's last line, each followed by a "
         "header block (pipermail archives, a message after a signature): three messages",
         data, [(m, "", jan1) for m in msgs])

    # A mailbox forwarded as an attachment, and a Sun "Begin Included
    # Message" block: the From_ lines inside stay in their message.
    inner = (b"From b@example.org Tue Dec 31 10:00:00 2019\n" + plain("inner", 0) + b"\n"
             + b"From c@example.org Tue Dec 31 11:00:00 2019\n" + plain("inner", 1) + b"\n")
    forwarded = plain("forwarded", 0, extra=b"MIME-Version: 1.0\n"
                      b"Content-Type: multipart/mixed; boundary=\"b1\"\n",
                      body=b"--b1\nContent-Type: text/plain\n\nSee the attached mailbox.\n\n"
                           b"--b1\nContent-Type: application/mbox\n\n" + inner + b"--b1--\n")
    included = plain("included", 0, body=b"Old mail:\n\n----- Begin Included Message -----\n\n"
                     + inner + b"----- End Included Message -----\n")
    after = plain("enclosures", 1)
    data = b"".join(b"From a@example.org Wed Jan  1 10:00:00 2020\n" + m + b"\n"
                    for m in (forwarded, included, after))
    case("from-lines-inside-enclosures.mbox",
         "a mailbox attached as a MIME part and a Sun \"Begin Included Message\" block, both "
         "holding From_ lines after blank lines: three messages, none split",
         data, [(forwarded, "", jan1), (included, "", jan1), (after, "", jan1)])

    # mboxcl2: nothing quoted; Content-Length says where each body ends.
    cl_body = b"Body line.\nFrom the start, a From_ line:\nFrom x@example.org Wed Jan  1 09:00:00 2020\n"
    cl_head = plain("mboxcl2", 0, body=b"")[:-1]  # headers only, without the blank line
    data = (b"From a@example.org Wed Jan  1 10:00:00 2020\n" + cl_head
            + f"Content-Length: {len(cl_body)}\n\n".encode() + cl_body + b"\n"
            + b"From a@example.org Wed Jan  1 10:00:00 2020\n" + plain("mboxcl2", 1)[:-len(b"\nBody of mboxcl2 message 1.\n")]
            + b"Content-Length: 26\n\nBody of mboxcl2 message 1.\n\n")
    case("mboxcl2-content-length.mbox",
         "an mboxcl2 file (Solaris, qmail): bodies unquoted, their size in Content-Length, "
         "which is the mailbox's metadata: two messages, the From_ lines kept in the first",
         data, [(cl_head + b"\n" + cl_body, "", jan1), (plain("mboxcl2", 1), "", jan1)])

    data = b"From a@example.org Wed Jan  1 10:00:00 2020\n" + b"\n" * 5
    case("blank-lines-only.mbox",
         "a From_ line followed by blank lines: a message of blank lines (the last one is "
         "the separator's)",
         data, [(b"\n" * 4, "", jan1)])
    return cases


def features(raw: bytes) -> list[str]:
    """What a message exercises, read back from its bytes so the manifest
    cannot claim a case the message does not have."""
    head, rest = split_head(raw)
    body = rest.lstrip(b"\r\n") if rest else b""
    f = []
    if b"\r\n" in raw:
        f.append("crlf")
    mid = re.search(rb"(?im)^Message-ID:(.*(?:\r?\n[ \t].*)*)", head)
    if mid is None:
        f.append("no_message_id")
    elif b"\n" in mid.group(1):
        f.append("folded_message_id")
    if re.search(rb"\r?\n[ \t]", head):
        f.append("folded_headers")
    if re.search(rb"[\x80-\xff]", head):
        f.append("8bit_headers")
        try:
            head.decode("utf-8")
        except UnicodeDecodeError:
            f.append("non_utf8_headers")
    if re.search(rb"=\?UTF-8\?B\?", head, re.I):
        f.append("encoded_words_b")
    if re.search(rb"=\?ISO-8859-1\?Q\?", head, re.I):
        f.append("encoded_words_q")
    if re.search(rb"(?m)^From ", body):
        f.append("from_line_in_body")
    if re.search(rb"(?m)^>+From ", body):
        f.append("quoted_from_in_body")
    ct = re.search(rb"(?im)^Content-Type:\s*multipart/(\w+)", head)
    if ct:
        f.append("multipart_" + ct.group(1).decode().lower())
    if b"Content-Disposition: attachment" in body:
        f.append("attachment")
    if re.search(rb"(?im)^Content-Transfer-Encoding: quoted-printable", raw):
        f.append("quoted_printable")
    if re.search(rb"[\x80-\xff]", body):
        f.append("8bit_body")
    if not rest:
        f.append("header_only")
    if not raw.endswith(b"\n"):
        f.append("no_final_newline")
    if re.search(rb"(?im)^In-Reply-To:", head):
        f.append("reply")
    return f


def write_fixtures(out: Path, seed: str = FIXTURE_SEED):
    composer = Composer(seed)
    mbox_store, maildir_store, single = fixture_plan(composer)
    entries = []

    def record(store, file, folder, index, msg: Message):
        entries.append({
            "store": store,
            "file": file,
            "folder": folder,
            "index": index,
            "message_id": msg.message_id,
            "subject": msg.subject,
            "date": iso_utc(msg.date),
            "flags": msg.flags,
            "keywords": list(msg.keywords),
            "size": len(msg.raw),
            "sha256": hashlib.sha256(msg.raw).hexdigest(),
            "features": features(msg.raw),
        })

    for rel, folder, msgs in mbox_store + [("single.mbox", "single", single)]:
        w = MboxWriter(out / rel)
        for m in msgs:
            record("mbox", rel, folder, w.add(m), m)
        w.close()

    md = MaildirWriter(out / "maildir", keep_tmp=True)
    for sub, folder, msgs in maildir_store:
        md.open_folder(sub)
        for m in msgs:
            path = md.add(m, sub)
            record("maildir", str(path.relative_to(out)), folder, None, m)
        for d in ("cur", "new"):
            # git drops empty directories, and a dot file here would be read
            # as a message by some readers, so each must hold a message.
            assert any((md.folder_dir(sub) / d).iterdir()), f"{folder}/{d} is empty"
    md.close()

    (out / "malformed").mkdir(parents=True, exist_ok=True)
    malformed, cases = malformed_files(composer)
    for name, data in malformed.items():
        (out / "malformed" / name).write_bytes(data)
    (out / "malformed" / "cases.json").write_text(malformed_manifest(cases), encoding="utf-8")

    # Duplicates, found by content so the manifest cannot drift from the files.
    by_hash: dict[str, list[dict]] = {}
    for e in entries:
        by_hash.setdefault(e["sha256"], []).append(e)
    for group in by_hash.values():
        if len(group) < 2:
            continue
        for e in group:
            others = [o for o in group if o is not e]
            if any(o["store"] == e["store"] and o["file"] == e["file"] or
                   o["store"] == e["store"] == "maildir" and o["folder"] == e["folder"]
                   for o in others):
                e["features"].append("duplicate_in_folder")
            if any(o["store"] == e["store"] and o["folder"] != e["folder"] for o in others):
                e["features"].append("duplicate_across_folders")
            if any(o["store"] != e["store"] for o in others):
                e["features"].append("duplicate_across_stores")

    with open(out / "manifest.jsonl", "w", encoding="utf-8") as f:
        for e in entries:
            f.write(json.dumps(e, ensure_ascii=False) + "\n")
    (out / ".gitattributes").write_text(GITATTRIBUTES)
    (out / "README.md").write_text(readme(entries, out), encoding="utf-8")
    return entries


GITATTRIBUTES = """\
# Fixtures are byte-exact test inputs: CRLF messages must stay CRLF whatever
# core.autocrlf says, and scripts/gen-fixtures --check compares bytes.
* -text
malformed/garbage.mbox binary
"""


def where(e: dict) -> str:
    if e["store"] == "mbox":
        return f"`{e['file']}` #{e['index'] + 1}"
    return f"`{e['file']}`"


def readme(entries: list[dict], out: Path) -> str:
    def count(pred):
        return sum(1 for e in entries if pred(e))

    folders = []
    seen = []
    for e in entries:
        key = (e["store"], e["file"] if e["store"] == "mbox" else e["folder"])
        if key not in seen:
            seen.append(key)
    for store, name in seen:
        rows = [e for e in entries if e["store"] == store and
                (e["file"] == name if store == "mbox" else e["folder"] == name)]
        size = sum(e["size"] for e in rows)
        if store == "mbox":
            loc = f"`{name}`"
        else:
            loc = "`maildir/`" if name == "INBOX" else f"`maildir/.{name}/`"
        flags = sorted({e["flags"] or "-" for e in rows})
        kws = sorted({k for e in rows for k in e["keywords"]})
        folders.append(f"| {loc} | {rows[0]['folder']} | {len(rows)} | {size // 1024} KiB | "
                       f"{' '.join(flags)} | {' '.join(kws) or '-'} |")

    special = [
        ("8bit_headers", "raw UTF-8 in headers (RFC 6532)"),
        ("non_utf8_headers", "raw ISO-8859-1 bytes in headers (legacy, invalid UTF-8)"),
        ("encoded_words_b", "`=?UTF-8?B?…?=` encoded words"),
        ("encoded_words_q", "`=?ISO-8859-1?Q?…?=` encoded words"),
        ("no_message_id", "no Message-ID header (fingerprint falls back to SHA-256)"),
        ("folded_message_id", "Message-ID folded onto its own line"),
        ("duplicate_in_folder", "same bytes twice in one folder"),
        ("duplicate_across_folders", "same bytes in two folders of one store"),
        ("duplicate_across_stores", "same bytes in the mbox and the maildir store"),
        ("attachment", "base64 attachments (random bytes)"),
        ("from_line_in_body", "body line starting `From ` (stored as `>From ` in mbox)"),
        ("quoted_from_in_body", "body line starting `>From ` (stored as `>>From ` in mbox)"),
        ("crlf", "CRLF line endings (every other message is LF)"),
        ("header_only", "header section only: no empty line, no body"),
        ("no_final_newline", "last line has no line ending"),
    ]
    lines = []
    for feat, what in special:
        hits = [e for e in entries if feat in e["features"]]
        lines.append(f"\n**{what}** — `{feat}`, {len(hits)}:\n")
        if len(hits) > 10:
            # Common enough that a list would hide the rare cases; count per
            # file and leave the rest to the manifest.
            per = {}
            for e in hits:
                k = e["file"] if e["store"] == "mbox" else "maildir/" + (
                    "" if e["folder"] == "INBOX" else "." + e["folder"] + "/")
                per[k] = per.get(k, 0) + 1
            lines.append("- " + ", ".join(f"`{k}` {n}" for k, n in per.items()))
            continue
        for e in hits:
            mid = e["message_id"] or "(none)"
            extra = ""
            if feat == "attachment":
                extra = f", {e['size'] // 1024} KiB"
            lines.append(f"- {where(e)} — {mid}{extra}")
    common = ["reply", "multipart_alternative", "multipart_mixed", "quoted_printable",
              "8bit_body", "folded_headers"]
    common_counts = ", ".join(f"`{c}` {count(lambda e, c=c: c in e['features'])}" for c in common)

    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    n_mbox = count(lambda e: e["store"] == "mbox")
    n_md = count(lambda e: e["store"] == "maildir")
    return README_TEMPLATE.format(
        total=len(entries), n_mbox=n_mbox, n_md=n_md, kib=total // 1024 + 1,
        folders="\n".join(folders), special="\n".join(lines), common=common_counts,
        malformed=malformed_readme(out),
    )


def malformed_readme(out: Path) -> str:
    cases = json.loads((out / "malformed" / "cases.json").read_text(encoding="utf-8"))["cases"]
    lines = []
    for case in cases:
        outcome = f"exit {case['exit']}, {len(case['messages'])} copied"
        if case["failed"]:
            outcome += f", {case['failed']} failed"
        if case["duplicates"]:
            outcome += f", {case['duplicates']} duplicate"
        if case["error"]:
            outcome += ", an error naming the file"
        lines.append(f"- `{case['file']}` — {case['what']}. ({outcome})")
    return "\n".join(lines)


README_TEMPLATE = """\
# Test fixtures

Generated by `scripts/gen-fixtures` from `scripts/gen-corpus.py`; do not edit
by hand. The output is deterministic, so `scripts/gen-fixtures --check` fails
when these files are not what the generator makes today. Everything here is
invented; domains and addresses are RFC 2606/5737 documentation ones.

{total} stored messages ({n_mbox} in mbox files, {n_md} in the maildir), about {kib} KiB.
`manifest.jsonl` lists every stored message, one JSON object a line: `store`,
`file` (relative to `fixtures/`), `folder`, `index` (0-based position in an
mbox file), `message_id`, `subject` (decoded), `date`, `flags`, `keywords`,
`size`, `sha256` and `features`. `size` and `sha256` are of the message
itself: without the From_ line, without mbox flag headers, mboxrd quoting
undone, which is also the exact content of the maildir file.

## Layout

| Where | Folder | Messages | Size | Flags | Keywords |
|---|---|---:|---:|---|---|
{folders}

Flags are written as maildir letters: D draft, F flagged, R replied (answered),
S seen, T trashed (deleted); `-` is no flag.

- **mbox files** (`mbox/`, `single.mbox`) are mboxrd. Each message starts with
  `From <sender> <asctime UTC>` (for example `From alice@example.com Mon Oct  7
  08:12:00 2024`), every line matching `^>*From ` carries one extra `>`, and
  one empty line follows each message. The From_ line and that empty line are
  always LF; a CRLF message keeps its CRLF inside. Nested directories are the
  folder hierarchy: `mbox/Archive/2023.mbox` is folder `Archive/2023`.
  Flags are headers appended to the end of the header section: `Status: RO`
  (seen) or `Status: O` (not seen, but flagged or keyworded), `X-Status:` with
  A answered, F flagged, T draft, D deleted (Dovecot's and mutt's letters), and
  `X-Keywords:` separated by spaces. A message with none of these is new.
- **maildir** is Maildir++: `maildir/` itself is INBOX, folder `A.B` is
  `maildir/.A.B/` (there is no `.Archive/`, as in real stores where the parent
  was never created). Subfolders hold an empty `maildirfolder` file. Unseen
  messages without flags or keywords are in `new/` without an info suffix;
  the rest in `cur/` as `<secs>.M<n>P4242.mailtug-fixture,S=<size>:2,<letters>`
  with letters in ASCII order. Keyword letters `a`, `b`, … index the folder's
  `dovecot-keywords` file (`0 $Label1` means `a` is `$Label1`), so the same
  letter means different keywords in different folders.
- Internal dates equal the Date header. The mbox files carry them in the From_
  lines. The generator sets maildir file mtimes to them too, but git does not
  keep mtimes, so after a checkout the maildir messages' internal dates are
  the checkout time. Tests of date preservation should use the mbox files or
  generate a fresh tree.
- Every `tmp/` holds a `.gitkeep`, because git drops empty directories and a
  maildir needs its `tmp/`. `cur/` and `new/` never need one: each holds
  messages. (Readers that do not skip dot files would read it as a message.)
- `.gitattributes` turns off line-ending conversion for everything here.

## Special cases
{special}

Also common: {common}.

`single.mbox` is the plain case: ten distinct messages with Message-IDs, no
duplicates, all LF.

## Malformed inputs (`malformed/`)

Hostile and broken mbox files. `malformed/cases.json` says what mailtug must
do when copying each one as `mbox:FILE`: the exit code, the number of failed
and duplicate messages, the substrings of the `mailtug: error:` line when one
is expected, and every message it must copy, in order (size, SHA-256 of the
exact bytes, flags as maildir letters then keywords, `-` for none, and the
From_ line's date as Unix seconds, `null` when the line has no valid date).
`tests/hostile/` runs every case, and adds the cases too big to keep here (a
60 MB message, 10,000 headers, a line of several MB) and the maildir ones that
need special files (FIFOs, symbolic links, unreadable files).

{malformed}
"""


# ---------------------------------------------------------------------------
# Benchmark corpus: many ordinary messages in a controlled size mix.

DEFAULT_SIZES = "80:2k-20k,15:50k-300k,5:1m-5m"


def parse_size(text: str) -> int:
    m = re.fullmatch(r"(\d+)([kKmM]?)", text)
    if not m:
        raise argparse.ArgumentTypeError(f"bad size `{text}`")
    return int(m.group(1)) * {"": 1, "k": 1024, "m": 1024 * 1024}[m.group(2).lower()]


def parse_sizes(spec: str) -> list[tuple[int, int, int]]:
    """`80:2k-20k,15:50k-300k,5:1m-5m` → [(weight, min, max), ...]."""
    out = []
    for item in spec.split(","):
        try:
            weight, rng = item.split(":")
            lo, hi = rng.split("-")
            out.append((int(weight), parse_size(lo), parse_size(hi)))
        except (ValueError, argparse.ArgumentTypeError):
            raise argparse.ArgumentTypeError(
                f"bad size class `{item}`; expected WEIGHT:MIN-MAX like 80:2k-20k")
    return out


def corpus_message(composer: Composer, seed: str, i: int, sizes, start: datetime) -> Message:
    rng = random.Random(f"{seed}/corpus/{i}")
    weights = [w for w, _, _ in sizes]
    _, lo, hi = rng.choices(sizes, weights)[0]
    target = rng.randint(lo, hi)
    style = rng.choice(["ascii"] * 7 + ["utf8", "b", "q"])
    lang = "intl" if style != "ascii" and rng.random() < 0.5 else "en"
    overhead = 1200
    if target < 40 * 1024:
        structure = rng.choice(["plain", "plain", "alternative"])
        # An HTML alternative roughly doubles the text; QP adds a little more.
        text_size = (target - overhead) // (2.3 if structure == "alternative" else 1.05)
        attachments = []
    else:
        structure = "mixed"
        text_size = rng.randint(300, 3000)
        room = max(1024, target - overhead - int(text_size * 2.5))
        n = rng.choice([1, 1, 2, 3])
        # base64 grows data by 4/3 plus one newline per 76 characters.
        raw = int(room * 3 / 4 * 76 / 77)
        cuts = sorted(rng.randint(1, raw - 1) for _ in range(n - 1))
        attachments = [b - a for a, b in zip([0] + cuts, cuts + [raw])]
    date = start + timedelta(minutes=37 * i + rng.randint(0, 30))
    sender = rng.choice(PEOPLE)
    kw = dict(
        date=date, sender=sender, to=[OWNER],
        cc=[rng.choice(PEOPLE)] if rng.random() < 0.2 else [],
        style=style, lang=lang, structure=structure,
        encoding=rng.choice([None, None, "quoted-printable"]),
        attachments=attachments,
        crlf=rng.random() < 0.05,
        # The index keeps Message-IDs unique, so every message gets copied.
        id_tag=f".{i}",
    )
    state = rng.getstate()
    msg = composer.compose(rng, text_size=int(text_size), **kw)
    if not attachments:
        # Headers and markup make small messages miss their size by up to a
        # third; one corrected second draw from the same state fixes most of it.
        scale = len(msg.raw) / max(1, text_size)
        rng.setstate(state)
        msg = composer.compose(rng, text_size=int(text_size + (target - len(msg.raw)) / scale), **kw)
    r = rng.random()
    flags = "S" if r < 0.55 else "RS" if r < 0.70 else "FS" if r < 0.75 else "F" if r < 0.78 else ""
    kws = ("$Label1",) if rng.random() < 0.05 else ()
    return msg.with_flags(flags, kws)


def write_corpus(args) -> dict:
    composer = Composer(args.seed)
    sizes = args.sizes
    start = datetime(2016, 1, 1, tzinfo=timezone.utc)
    mbox = MboxWriter(args.mbox) if args.mbox else None
    md = MaildirWriter(args.maildir, host="mailtug-bench", all_cur=True) if args.maildir else None
    if args.files:
        args.files.mkdir(parents=True, exist_ok=True)
    total = 0
    t0 = time.monotonic()
    for i in range(args.count):
        msg = corpus_message(composer, args.seed, i, sizes, start)
        total += len(msg.raw)
        if mbox:
            mbox.add(msg)
        if md:
            md.add(msg)
        if args.files:
            p = args.files / f"{i + 1:06d}.eml"
            p.write_bytes(msg.raw)
        if args.progress and (i + 1) % 500 == 0:
            print(f"  {i + 1}/{args.count} messages, {total / 1e6:.0f} MB", file=sys.stderr)
    if mbox:
        mbox.close()
    if md:
        md.close()
    return {"messages": args.count, "bytes": total, "seed": args.seed,
            "sizes": args.size_spec, "seconds": round(time.monotonic() - t0, 1)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="gen-corpus.py",
        description="Generate deterministic test e-mail for mailtug.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="The same arguments always produce the same bytes.")
    sub = p.add_subparsers(dest="cmd", required=True)

    f = sub.add_parser("fixtures", help="write the fixture corpus (fixtures/) into OUTDIR")
    f.add_argument("outdir", type=Path)
    f.add_argument("--seed", default=FIXTURE_SEED)

    c = sub.add_parser(
        "corpus", help="write N ordinary messages as an mbox, a maildir and/or plain files",
        description="Writes the same N messages to every output given. Prints one JSON "
                    "line to stdout: messages, bytes (sum of message sizes), seed, sizes, seconds.")
    c.add_argument("--count", type=int, required=True, metavar="N")
    c.add_argument("--seed", default="mailtug-bench-1")
    c.add_argument("--sizes", dest="size_spec", default=DEFAULT_SIZES, metavar="SPEC",
                   help=f"weighted size classes, default {DEFAULT_SIZES} "
                        "(~190 KB a message on average)")
    c.add_argument("--mbox", type=Path, metavar="FILE", help="one mboxrd file")
    c.add_argument("--maildir", type=Path, metavar="DIR",
                   help="a maildir; every message in cur/, flags mixed")
    c.add_argument("--files", type=Path, metavar="DIR",
                   help="one file a message, NNNNNN.eml, same bytes as the maildir files")
    c.add_argument("--progress", action="store_true", help="report progress on stderr")

    args = p.parse_args(argv)
    if args.cmd == "fixtures":
        if args.outdir.exists() and any(args.outdir.iterdir()):
            p.error(f"{args.outdir} is not empty; the fixtures are written to an empty directory")
        entries = write_fixtures(args.outdir, args.seed)
        print(json.dumps({"messages": len(entries)}))
        return 0

    try:
        args.sizes = parse_sizes(args.size_spec)
    except argparse.ArgumentTypeError as e:
        p.error(str(e))
    if not (args.mbox or args.maildir or args.files):
        p.error("give at least one of --mbox, --maildir, --files")
    print(json.dumps(write_corpus(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
