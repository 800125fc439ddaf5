#!/usr/bin/env python3
"""A trial site streaming adverse-event reports to aesignal.

Reads reports from a JSON Lines file (one aesignal.v1.AdverseEventReport per
line, proto JSON: snake_case or lowerCamelCase field names, enums by name),
sends them in batches over IngestService.StreamReports and prints every
report's outcome.

A batch counts as delivered only once its response (the ack) arrives: the
server answers after the batch is durable. If the stream breaks, the site
reconnects and sends again only the batches that were not acknowledged;
sending a report again is safe because the same report_id + version with the
same content comes back DUPLICATE.

  PYTHONPATH=STUBS_DIR python3 trial_site.py --server 127.0.0.1:50051 \\
      --trial MSC-IPF-EX1 reports.jsonl

Exit status: 0 every report acknowledged and none rejected, 1 a report
rejected or a batch refused, 2 a line of the file that is not a report
(FILE:LINE: why; nothing is sent), reports left unacknowledged or another
error.

(Not named site.py: that would shadow Python's own `site` module.)
"""

import argparse
import dataclasses
import json
import re
import sys
import threading
import time
from typing import Callable, Optional

import grpc
from google.protobuf import json_format

import aesignal_channel
import aesignal_errors
from aesignal.v1 import ingest_service_pb2, ingest_service_pb2_grpc, report_pb2

# Stream errors after which the unacknowledged batches can simply be sent
# again: the connection or the server went away, nothing is wrong with them.
RETRYABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
# BatchError.code (a google.rpc.Code) of a batch the server could not store
# for now (storage unavailable): nothing of it was stored, send it again.
BATCH_UNAVAILABLE = grpc.StatusCode.UNAVAILABLE.value[0]
CODE_NAMES = {code.value[0]: code.name for code in grpc.StatusCode}


@dataclasses.dataclass
class Outcome:
    """What became of one input report."""
    line: int
    report: report_pb2.AdverseEventReport
    result: Optional[ingest_service_pb2.ReportResult] = None
    # Set when the server refused the report's whole batch (e.g. NOT_FOUND
    # for an unknown trial); nothing of that batch was stored.
    batch_error: Optional[ingest_service_pb2.BatchError] = None

    @property
    def status(self):
        if self.result is not None:
            return ingest_service_pb2.ReportStatus.Name(
                self.result.status).removeprefix("REPORT_STATUS_")
        if self.batch_error is not None:
            return "REFUSED"
        return "UNACKNOWLEDGED"


@dataclasses.dataclass
class Batch:
    batch_id: int
    start: int  # index of its first report in the input
    reports: list


@dataclasses.dataclass
class StreamSummary:
    outcomes: list
    # Batch ids handed to the stream, one list per connection attempt: after
    # a reconnect, only unacknowledged batches appear again.
    sent: list = dataclasses.field(default_factory=list)
    # A non-retryable stream error (e.g. PERMISSION_DENIED), if any.
    error: Optional[grpc.RpcError] = None

    def count(self, status):
        return sum(1 for o in self.outcomes if o.status == status)


def _stderr(message):
    print(f"site: {message}", file=sys.stderr, flush=True)


def _send_batches(stub, parent, batches, window, timeout, sent, on_response):
    """One StreamReports call: sends `batches`, at most `window` of them
    unacknowledged at a time, and hands every response to on_response.
    Raises grpc.RpcError if the stream fails."""
    slots = threading.Semaphore(window)
    finished = threading.Event()

    def requests():
        for batch in batches:
            # Blocks until an ack frees a slot; gives up once the call is
            # over, so that grpc's request thread is never left waiting.
            while not slots.acquire(timeout=0.1):
                if finished.is_set():
                    return
            if finished.is_set():
                return
            sent.append(batch.batch_id)
            yield ingest_service_pb2.StreamReportsRequest(
                batch_id=batch.batch_id, parent=parent, reports=batch.reports)

    call = stub.StreamReports(requests(), timeout=timeout)
    try:
        for response in call:
            on_response(response)
            slots.release()
    finally:
        finished.set()


def stream_reports(channel, trial_id, reports, *, batch_size=100, window=8,
                   attempts=5, connect_timeout=10.0, timeout=300.0, lines=None,
                   on_ack: Optional[Callable] = None, log=_stderr):
    """Streams `reports` to trials/{trial_id} over `channel` until every
    batch is acknowledged (or `attempts` connections failed) and returns a
    StreamSummary with one Outcome per report, in input order.

    Each attempt waits up to `connect_timeout` seconds for the server (e.g.
    while it restarts); `timeout` is the deadline of one stream.

    on_ack(response) is called for each StreamReportsResponse once its
    outcomes are recorded (before the next batch is let through)."""
    stub = ingest_service_pb2_grpc.IngestServiceStub(channel)
    parent = f"trials/{trial_id}"
    lines = lines or list(range(1, len(reports) + 1))
    summary = StreamSummary(
        outcomes=[Outcome(line, r) for line, r in zip(lines, reports)])
    pending = {}  # batch_id -> Batch, in batch order; acked batches leave
    for start in range(0, len(reports), batch_size):
        batch_id = len(pending) + 1
        pending[batch_id] = Batch(batch_id, start,
                                  reports[start:start + batch_size])

    def record(response):
        batch = pending.pop(response.batch_id, None)
        if batch is None:
            return  # not one we are waiting for
        if response.HasField("error"):
            if response.error.code == BATCH_UNAVAILABLE:
                pending[batch.batch_id] = batch  # not stored: send again
                log(f"batch {batch.batch_id} not stored "
                    f"({response.error.message}); will resend")
            else:
                for o in summary.outcomes[batch.start:batch.start +
                                          len(batch.reports)]:
                    o.batch_error = response.error
        else:
            for r in response.result.results:
                summary.outcomes[batch.start + r.index].result = r
        if on_ack is not None:
            on_ack(response)

    for attempt in range(attempts):
        if not pending:
            break
        if attempt > 0:
            # Exponential backoff between reconnects, capped.
            time.sleep(min(0.25 * 2**attempt, 4.0))
            log(f"reconnecting (attempt {attempt + 1} of {attempts}); "
                f"resending {len(pending)} unacknowledged batches")
        ready = grpc.channel_ready_future(channel)
        try:
            ready.result(timeout=connect_timeout)
        except grpc.FutureTimeoutError:
            ready.cancel()
            log(f"{len(pending)} batches unacknowledged: server not reachable "
                f"within {connect_timeout:g} s")
            continue
        sent = []
        summary.sent.append(sent)
        try:
            _send_batches(stub, parent, list(pending.values()), window,
                          timeout, sent, record)
        except grpc.RpcError as e:
            if e.code() not in RETRYABLE:
                summary.error = e
                break
            log(f"stream broken: {e.code().name}: {e.details()}")
    return summary


class InputError(Exception):
    """A line of the input file that is not a report: "FILE:LINE: why"."""


def load_reports(path):
    """(reports, line numbers) from a JSON Lines file; blank lines skipped.

    Raises InputError, naming file and line, for a line that is not UTF-8,
    not JSON or not an AdverseEventReport in proto JSON (a string with an
    unpaired surrogate included): nothing is sent from such a file."""
    reports, lines = [], []
    # Bytes, split at b"\n" (never part of a multibyte UTF-8 sequence) and
    # decoded line by line, so that the line that is not UTF-8 is named.
    with open(path, "rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise InputError(f"{path}:{number}: not UTF-8") from None
            if not text.strip():
                continue
            try:
                reports.append(json_format.ParseDict(
                    json.loads(text), report_pb2.AdverseEventReport()))
            except (ValueError, json_format.ParseError) as e:
                raise InputError(f"{path}:{number}: {e}") from None
            lines.append(number)
    return reports, lines


# "reports[7]." of a field path: the line number already says which report.
_IN_BATCH = re.compile(r"^reports\[\d+\]\.?")


def describe(outcome):
    """One output line for an outcome."""
    r = outcome.report
    text = f"line {outcome.line}: {r.report_id} v{r.version} {outcome.status}"
    if outcome.result is not None and outcome.status == "REJECTED":
        # Every problem the server named, within its batch (reports[7].grade).
        problems = "; ".join(
            f"{_IN_BATCH.sub('', field)}: {reason}"
            for field, reason in aesignal_errors.rejected_fields(
                outcome.result))
        code = CODE_NAMES.get(outcome.result.code, outcome.result.code)
        text += f" {problems} [{code}]"
    elif outcome.batch_error is not None:
        e = outcome.batch_error
        text += f" {CODE_NAMES.get(e.code, e.code)}: {e.message}"
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="127.0.0.1:50051",
                        help="aesignald address (default %(default)s)")
    parser.add_argument("--trial", required=True, help="trial id")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--window", type=int, default=8,
                        help="batches sent ahead of their acks")
    parser.add_argument("--attempts", type=int, default=5,
                        help="connections tried before giving up")
    parser.add_argument("--connect-timeout", type=float, default=10.0,
                        help="wait for the server per attempt, seconds")
    parser.add_argument("--timeout", type=float, default=300.0,
                        help="deadline of one stream, seconds")
    parser.add_argument("reports", help="JSON Lines file of reports")
    aesignal_channel.add_arguments(parser)
    args = parser.parse_args(argv)

    try:
        reports, lines = load_reports(args.reports)
    except (InputError, OSError) as e:
        # Exit status 2, as site.js: 1 means a report was rejected.
        _stderr(e)
        return 2
    try:
        channel = aesignal_channel.open_channel(args)
    except aesignal_channel.UsageError as e:
        _stderr(e)
        return 2
    with channel:
        summary = stream_reports(
            channel, args.trial, reports, batch_size=args.batch_size,
            window=args.window, attempts=args.attempts,
            connect_timeout=args.connect_timeout, timeout=args.timeout,
            lines=lines)
    for outcome in summary.outcomes:
        print(describe(outcome))
    counts = {s: summary.count(s) for s in
              ("ACCEPTED", "DUPLICATE", "SUPERSEDED", "REJECTED", "REFUSED",
               "UNACKNOWLEDGED")}
    print(f"{len(reports)} reports: " +
          ", ".join(f"{s.lower()} {n}" for s, n in counts.items()))
    if summary.error is not None:
        print(f"site: {summary.error.code().name}: "
              f"{aesignal_errors.describe(summary.error).strip()}",
              file=sys.stderr)
        return 2
    if counts["UNACKNOWLEDGED"]:
        return 2
    return 1 if counts["REJECTED"] or counts["REFUSED"] else 0


if __name__ == "__main__":
    sys.exit(main())
