#!/usr/bin/env python3
"""A safety officer's view of a trial: incidence tables, the signals raised
so far, and a watch that prints signal changes as they happen.

Reads SafetyService.GetIncidence (every page, in the columns view) for each
requested level and prints, per term, subjects with >= 1 event / denominator for every dose group
and the total at one timepoint (cumulative: denominator = subjects dosed;
--interval: events in the timepoint's window, denominator = subjects at
risk). Then lists SignalService.ListSignals and, with --watch-seconds,
follows SignalService.WatchSignals from the newest change listed, so that
no change is missed or printed twice.

  PYTHONPATH=STUBS_DIR python3 safety_officer.py --server 127.0.0.1:50051 \\
      --trial MSC-IPF-EX1 --level overall --level pt --watch-seconds 60

Exit status: 0, or 1 if --max-events changes were not seen within
--watch-seconds, 2 on an RPC error.
"""

import argparse
import dataclasses
import sys

import grpc

import aesignal_channel
import aesignal_errors
from aesignal.v1 import (safety_service_pb2, safety_service_pb2_grpc,
                         signal_pb2, signal_service_pb2,
                         signal_service_pb2_grpc, trial_service_pb2,
                         trial_service_pb2_grpc)

LEVELS = {
    "pt": safety_service_pb2.TERM_LEVEL_PT,
    "soc": safety_service_pb2.TERM_LEVEL_SOC,
    "overall": safety_service_pb2.TERM_LEVEL_OVERALL,
}
TOTAL = ""  # dose_group_id of the all-groups total


@dataclasses.dataclass(frozen=True)
class Count:
    subjects: int
    denominator: int

    def __str__(self):
        if not self.denominator:
            return f"{self.subjects}/0"  # no subjects: no percentage
        percent = 100 * self.subjects / self.denominator
        return f"{self.subjects}/{self.denominator} ({percent:.0f}%)"


@dataclasses.dataclass
class Row:
    term: str  # "SOC / PT", "SOC" or the overall key
    cells: dict  # dose_group_id (TOTAL for the total) -> Count


def get_trial(channel, trial_id):
    stub = trial_service_pb2_grpc.TrialServiceStub(channel)
    return stub.GetTrial(trial_service_pb2.GetTrialRequest(
        name=f"trials/{trial_id}"))


def _term_name(term):
    if term.level == safety_service_pb2.TERM_LEVEL_PT:
        return f"{term.soc} / {term.pt}"
    if term.level == safety_service_pb2.TERM_LEVEL_SOC:
        return term.soc
    return term.overall_key


def incidence(channel, trial_id, level, timepoint_id, interval=False):
    """Rows of one level at one timepoint, every page."""
    stub = safety_service_pb2_grpc.SafetyServiceStub(channel)
    # The columns view: this view computes its own percentages, and counts
    # as packed arrays are the quickest shape of a large table.
    request = safety_service_pb2.GetIncidenceRequest(
        parent=f"trials/{trial_id}", level=level, timepoint_id=timepoint_id,
        page_size=1000, view=safety_service_pb2.INCIDENCE_VIEW_COLUMNS)
    rows = []
    while True:
        response = stub.GetIncidence(request)
        columns = response.columns
        subjects = (columns.interval_subjects if interval
                    else columns.cumulative_subjects)
        width = len(columns.cells)  # term t's cell c is at t * width + c
        for t, term in enumerate(response.terms):
            cells = {}
            for c, cell in enumerate(columns.cells):
                denominator = cell.n_at_risk if interval else cell.n_dosed
                cells[cell.dose_group_id] = Count(
                    int(subjects[t * width + c]), int(denominator))
            rows.append(Row(_term_name(term), cells))
        if not response.next_page_token:
            return rows
        request.page_token = response.next_page_token


def format_table(title, columns, rows):
    """A plain-text table: a term column, then one per (id, heading)."""
    header = ["term"] + [heading for _, heading in columns]
    body = [[row.term] + [str(row.cells.get(key, "")) for key, _ in columns]
            for row in rows]
    widths = [max(len(line[i]) for line in [header] + body)
              for i in range(len(header))]
    lines = [title,
             "  ".join(h.ljust(w) for h, w in zip(header, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip()
              for line in body]
    return "\n".join(lines)


def list_signals(channel, trial_id):
    """Every signal of the trial, newest first."""
    stub = signal_service_pb2_grpc.SignalServiceStub(channel)
    request = signal_service_pb2.ListSignalsRequest(
        parent=f"trials/{trial_id}", page_size=1000)
    signals = []
    while True:
        response = stub.ListSignals(request)
        signals.extend(response.signals)
        if not response.next_page_token:
            return signals
        request.page_token = response.next_page_token


def format_signal(signal):
    status = signal_pb2.SignalStatus.Name(signal.status).removeprefix(
        "SIGNAL_STATUS_")
    e = signal.evidence
    return (f"{signal.signal_id}  {status}  "
            f"{int(e.subjects)}/{int(e.denominator)}  {e.summary}")


def watch_signals(channel, trial_id, after_sequence, seconds, max_events=None,
                  on_change=None):
    """Signal changes after `after_sequence`, for at most `seconds` or until
    `max_events` changes arrived. Returns the WatchSignalsResponses."""
    stub = signal_service_pb2_grpc.SignalServiceStub(channel)
    call = stub.WatchSignals(
        signal_service_pb2.WatchSignalsRequest(
            parent=f"trials/{trial_id}", after_sequence=after_sequence),
        timeout=seconds)
    changes = []
    try:
        for change in call:
            changes.append(change)
            if on_change is not None:
                on_change(change)
            if max_events is not None and len(changes) >= max_events:
                call.cancel()
                break
    except grpc.RpcError as e:
        # The deadline is how a bounded watch ends; anything else is an error.
        if e.code() != grpc.StatusCode.DEADLINE_EXCEEDED:
            raise
    return changes


def format_change(change):
    kind = signal_pb2.SignalEvent.Kind.Name(change.event.kind).removeprefix(
        "KIND_")
    return f"change {int(change.change_sequence)}: {kind} " + format_signal(
        change.signal)


def run(channel, args):
    trial = get_trial(channel, args.trial)
    timepoint = args.timepoint or trial.timepoints[-1].timepoint_id
    columns = [(g.dose_group_id, g.dose_group_id) for g in trial.dose_groups]
    columns.append((TOTAL, "total"))
    kind = ("in the window, of subjects at risk" if args.interval else
            "cumulative, of subjects dosed")
    for level in args.level or ["overall", "pt"]:
        rows = incidence(channel, args.trial, LEVELS[level], timepoint,
                         args.interval)
        print(format_table(
            f"{level.upper()} incidence at {timepoint} ({kind})", columns,
            rows))
        print()

    signals = list_signals(channel, args.trial)
    print(f"signals: {len(signals)}")
    for signal in signals:
        print("  " + format_signal(signal))
    if not args.watch_seconds:
        return 0

    after = max((int(s.change_sequence) for s in signals), default=0)
    print(f"watching trials/{args.trial} for signal changes after sequence "
          f"{after} for {args.watch_seconds:g} s", flush=True)
    changes = watch_signals(
        channel, args.trial, after, args.watch_seconds, args.max_events,
        on_change=lambda c: print("  " + format_change(c), flush=True))
    print(f"signal changes: {len(changes)}")
    if args.max_events is not None and len(changes) < args.max_events:
        return 1
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="127.0.0.1:50051",
                        help="aesignald address (default %(default)s)")
    parser.add_argument("--trial", required=True, help="trial id")
    parser.add_argument("--level", action="append", choices=sorted(LEVELS),
                        help="term level, repeatable (default overall, pt)")
    parser.add_argument("--timepoint",
                        help="timepoint id (default the trial's last)")
    parser.add_argument("--interval", action="store_true",
                        help="incidence in the timepoint's window")
    parser.add_argument("--watch-seconds", type=float, default=0,
                        help="then watch signal changes this long")
    parser.add_argument("--max-events", type=int,
                        help="stop watching after this many changes")
    aesignal_channel.add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        channel = aesignal_channel.open_channel(args)
    except aesignal_channel.UsageError as e:
        print(f"safety_officer: {e}", file=sys.stderr)
        return 2
    with channel:
        try:
            return run(channel, args)
        except grpc.RpcError as e:
            print(f"safety_officer: {e.code().name}:\n"
                  f"{aesignal_errors.describe(e)}", file=sys.stderr)
            return 2


if __name__ == "__main__":
    sys.exit(main())
