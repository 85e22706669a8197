"""A fleet of pxr processes on one PostgreSQL ledger, and loopback providers
that count what they receive per message.

The processes are real: ``pxr simulate`` and ``pxr dispatch`` run as
subprocesses, each with its own :class:`~pxr.ledger.postgres.PostgresLedger`
and connection pool. The providers speak the real protocols: a Twilio-shaped
HTTP API (a fresh ``sid`` per request, so each request can be matched to the
delivery the ledger recorded) and SMTP (the ``Message-ID`` is derived from the
message's key, so each message is counted by its key); the SMTP server can
fail at random — a 451, a stall past the client's timeout, a TCP reset after
the message was handed over.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import email.policy
import json
import random
import socket
import struct
import subprocess
import sys
import threading
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal

import attrs

from pxr import load_policy, open_ledger
from pxr.channels.email import message_id
from pxr.decide import BUDGET_WINDOW, MESSAGE_WINDOW
from pxr.ledger import OutboxEntry
from pxr.money import Money, total_in

from .conftest import EXAMPLES
from .servers import TWILIO_SID, TWILIO_TOKEN

PXR = Path(sys.executable).with_name("pxr")
QUARTER = EXAMPLES / "quarter"
SENDER = "care@example.com"
#: After every event of examples/quarter: everything queued is due.
LATER = dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC)
#: The dispatcher's lease (pxr.dispatch.LEASE) and a little more.
PAST_LEASE = dt.timedelta(minutes=6)
FINAL = frozenset({"sent", "cancelled", "uncertain", "dead"})


def quarter_policy(tmp_path: Path, *, channels: str = '["sms", "email"]', delivery: str) -> Path:
    """examples/quarter's policy with a budget, a daily limit and ``delivery`` settings."""
    text = (QUARTER / "policy.toml").read_text()
    text = text.replace('channels = ["sms", "email"]', f"channels = {channels}", 1)
    text = text.replace(
        "[recovery]\n",
        "[recovery]\n"
        'limits = { messages_per_day = 1, compensation_per_30_days = "60.00" }\n'
        f"delivery = {delivery}\n",
        1,
    )
    path = tmp_path / "policy.toml"
    path.write_text(text)
    return path


def owner_of_each_line(lines: list[str]) -> list[str]:
    """The customer each events line is about (a resolution names only its subject)."""
    owners: dict[str, str] = {}
    for line in lines:
        event = json.loads(line)
        if "customer" in event and "subject" in event:
            owners.setdefault(event["subject"], event["customer"])
    found = []
    for line in lines:
        event = json.loads(line)
        customer = event.get("customer") or event.get("id") or owners.get(event["subject"], "")
        found.append(str(customer))
    return found


def split_by_customer(events: Path, parts: int, into: Path) -> list[Path]:
    """``events`` cut into ``parts`` files, each holding all of some customers'
    lines in their order (each customer's story stays in one process)."""
    lines = events.read_text().splitlines(keepends=True)
    owners = owner_of_each_line(lines)
    customers = sorted(set(owners))
    share = {customer: n % parts for n, customer in enumerate(customers)}
    files = [into / f"part{n}.jsonl" for n in range(parts)]
    for n, path in enumerate(files):
        path.write_text(
            "".join(line for line, o in zip(lines, owners, strict=True) if share[o] == n)
        )
    return files


def pxr(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``pxr ARGS`` as a process of its own."""
    return subprocess.Popen(  # noqa: S603 - this environment's pxr, our arguments
        [str(PXR), *map(str, args)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
    )


def finish(process: subprocess.Popen[bytes]) -> None:
    """Wait for ``process``; fail with its error output unless it exited 0."""
    _, err = process.communicate()
    assert process.returncode == 0, err.decode(errors="replace")


def simulate(url: str, policy: Path, events: Path) -> subprocess.Popen[bytes]:
    return pxr("simulate", policy, events, "--store", url)


def dispatch(
    url: str,
    policy: Path,
    transports: Path,
    now: dt.datetime,
    env: dict[str, str],
    *,
    limit: int = 1_000_000,
) -> subprocess.Popen[bytes]:
    """``pxr dispatch --now NOW``: at most ``limit`` messages."""
    return pxr(
        "dispatch",
        "--store",
        url,
        "--transports",
        transports,
        "--policy",
        policy,
        "--now",
        now.isoformat(),
        "--limit",
        str(limit),
        env=env,
    )


def decisions(url: str) -> dict[str, list[str]]:
    """What the ledger decided, comparable between ledgers: breaches,
    compensations, the messages queued (not how sending went) and suppressions."""
    ledger = open_ledger(url, create=False)
    try:
        queued = [
            repr(attrs.evolve(e, id=None, status="pending", attempts=0, last_error=None))
            + repr((e.to, e.fallbacks))
            for e in ledger.outbox()
        ]
        return {
            "breaches": sorted(repr(b) for b in ledger.breaches()),
            "compensations": sorted(repr(c) for c in ledger.compensations()),
            "outbox": sorted(queued),
            "suppressions": sorted(repr(s) for s in ledger.suppressions()),
        }
    finally:
        ledger.close()


def outbox(url: str) -> list[OutboxEntry]:
    ledger = open_ledger(url, create=False)
    try:
        return list(ledger.outbox())
    finally:
        ledger.close()


def limits_broken(url: str, policy_path: Path) -> list[str]:
    """Each customer whose compensations within 30 days exceed the budget, or
    who was sent more than the daily limit of messages decided within a day."""
    policy = load_policy(policy_path)
    budget = policy.limits.compensation_per_30_days
    cap = policy.limits.messages_per_day
    assert budget is not None
    assert cap is not None
    ledger = open_ledger(url, create=False)
    try:
        paid = [c for c in ledger.compensations() if c.compensation.amount is not None]
        queued = list(ledger.outbox())
    finally:
        ledger.close()
    broken = []
    for record in paid:
        window = [
            other.compensation.amount
            for other in paid
            if other.customer == record.customer
            and other.compensation.amount is not None
            and record.created_at - BUDGET_WINDOW < other.created_at <= record.created_at
            and not other.compensation.statutory
        ]
        if total_in(window, budget.currency, policy.rates).amount > budget.amount:
            broken.append(f"{record.customer}: over budget at {record.created_at}")
    # Messages over the daily limit are deferred by a day, never dropped: among
    # those decided within any day, at most the limit go out undeferred.
    prompt = [e for e in queued if e.send_at < e.created_at + MESSAGE_WINDOW]
    for entry in prompt:
        within_a_day = [
            other
            for other in prompt
            if other.customer == entry.customer
            and entry.created_at - MESSAGE_WINDOW < other.created_at <= entry.created_at
        ]
        if len(within_a_day) > cap:
            broken.append(f"{entry.customer}: {len(within_a_day)} messages within a day")
    return broken


def spent(url: str) -> Decimal:
    ledger = open_ledger(url, create=False)
    try:
        amounts = [c.compensation.amount for c in ledger.compensations() if c.compensation.amount]
    finally:
        ledger.close()
    return sum((m.amount for m in amounts if isinstance(m, Money)), Decimal(0))


# --- a Twilio-shaped SMS API that numbers its answers -------------------------------


@attrs.define
class Twilio:
    """``POST …/Messages.json`` on loopback; each request gets its own ``sid``."""

    url: str = ""
    #: sid -> (To, Body) of each request received.
    received: dict[str, tuple[str, str]] = attrs.field(factory=dict)
    lock: threading.Lock = attrs.field(factory=threading.Lock)


@contextmanager
def twilio() -> Iterator[Twilio]:
    provider = Twilio()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            form = urllib.parse.parse_qs(self.rfile.read(length).decode())
            with provider.lock:
                sid = f"SM{len(provider.received):032d}"
                provider.received[sid] = (form["To"][0], form["Body"][0])
            payload = json.dumps({"sid": sid, "status": "queued"}).encode()
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    provider.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# --- an SMTP relay that counts Message-IDs and fails at random ---------------------

Outcome = Literal["ok", "451", "stall", "reset"]


@attrs.define
class Relay:
    """An SMTP relay on loopback. Every message handed over (after DATA) is
    counted by its ``Message-ID`` with the answer it got: ``ok`` (250),
    ``451`` (try again: not delivered), ``stall`` (no answer until the client
    gives up) or ``reset`` (the connection is reset). A stalled or reset
    message may have been delivered: it counts as delivered."""

    faults: dict[Outcome, float] = attrs.field(factory=dict)
    seed: int = 0
    #: Seconds to think before each answer (so a kill can land mid-send).
    delay: float = 0.0
    port: int = 0
    #: (Message-ID, outcome) of each message handed over, in order.
    received: list[tuple[str, Outcome]] = attrs.field(factory=list)
    lock: threading.Lock = attrs.field(factory=threading.Lock)
    stop: threading.Event = attrs.field(factory=threading.Event)
    #: Connections being served right now.
    open: int = 0
    rng: random.Random = attrs.field(init=False)

    def idle(self) -> None:
        """Return once no client is connected (a killed client's last message,
        still in the socket, has been read and counted)."""
        while True:
            with self.lock:
                if not self.open:
                    return
            self.stop.wait(0.01)

    def __attrs_post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def outcome(self, mail: bytes) -> Outcome:
        parsed = email.message_from_bytes(mail, policy=email.policy.default)
        with self.lock:
            roll = self.rng.random()
            chosen: Outcome = "ok"
            for fault, share in self.faults.items():
                if roll < share:
                    chosen = fault
                    break
                roll -= share
            self.received.append((str(parsed["Message-ID"]), chosen))
        return chosen

    def delivered(self) -> Counter[str]:
        """How many times each Message-ID may have reached the customer."""
        return Counter(mid for mid, outcome in self.received if outcome != "451")


def _line(conn: socket.socket, buffer: bytearray, marker: bytes) -> bytes | None:
    while marker not in buffer:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buffer.extend(chunk)
    head, _, rest = bytes(buffer).partition(marker)
    buffer[:] = rest
    return head


def _serve(relay: Relay, conn: socket.socket) -> None:
    buffer = bytearray()
    conn.sendall(b"220 relay.test ESMTP\r\n")
    while (line := _line(conn, buffer, b"\r\n")) is not None:
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            conn.sendall(b"250 relay.test\r\n")
        elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
            conn.sendall(b"250 OK\r\n")
        elif verb == b"DATA":
            conn.sendall(b"354 go ahead\r\n")
            mail = _line(conn, buffer, b"\r\n.\r\n")
            if mail is None:
                return
            outcome = relay.outcome(mail.replace(b"\r\n..", b"\r\n."))
            if relay.delay:
                relay.stop.wait(relay.delay)
            if outcome == "ok":
                conn.sendall(b"250 queued\r\n")
            elif outcome == "451":
                conn.sendall(b"451 4.3.0 try again later\r\n")
            elif outcome == "stall":
                relay.stop.wait()
                return
            else:
                linger = struct.pack("ii", 1, 0)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                return
        elif verb == b"QUIT":
            conn.sendall(b"221 bye\r\n")
            return
        else:
            conn.sendall(b"502 not here\r\n")


@contextmanager
def relay(
    faults: dict[Outcome, float] | None = None, seed: int = 0, delay: float = 0.0
) -> Iterator[Relay]:
    server = Relay(faults or {}, seed, delay)
    listener = socket.create_server(("127.0.0.1", 0))
    server.port = listener.getsockname()[1]
    workers: list[threading.Thread] = []

    def handle(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):  # the client went away
            _serve(server, conn)
        with server.lock:
            server.open -= 1

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with server.lock:
                server.open += 1
            worker = threading.Thread(target=handle, args=(conn,), daemon=True)
            workers.append(worker)
            worker.start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield server
    finally:
        server.stop.set()
        listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        acceptor.join()
        for worker in workers:
            worker.join()


def transports_file(tmp_path: Path, sms: Twilio | None, mail: Relay | None) -> Path:
    """A transports file for the loopback providers (SMTP times out after 1 s)."""
    text = ""
    if sms is not None:
        text += (
            f'[sms]\ntransport = "twilio"\naccount_sid = "{TWILIO_SID}"\n'
            'auth_token_env = "PXR_TEST_TWILIO_TOKEN"\nfrom = "+48500000000"\n'
            f'base_url = "{sms.url}"\ntimeout = 5\n'
        )
    if mail is not None:
        text += (
            f'[email]\ntransport = "smtp"\nhost = "127.0.0.1"\nport = {mail.port}\n'
            f'security = "none"\nfrom = "{SENDER}"\ntimeout = 1\n'
        )
    path = tmp_path / "transports.toml"
    path.write_text(text)
    return path


def provider_env() -> dict[str, str]:
    import os  # noqa: PLC0415

    return {**os.environ, "PXR_TEST_TWILIO_TOKEN": TWILIO_TOKEN}


def key_of(entry: OutboxEntry) -> str:
    """The Message-ID an e-mail about ``entry`` (sent alone) carries."""
    return message_id(entry.key, SENDER)
