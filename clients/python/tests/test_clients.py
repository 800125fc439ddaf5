"""The Python example clients against a real aesignald (tests/run.sh starts
these with the generated stubs on PYTHONPATH and AESIGNALD set).

The trial mirrors tests/integration/signals_server_test.cc: three dose groups
of three subjects (S1..S9 round-robin, so S3, S6, S9 are HIGH), only the
binomial method, and a 2 % baseline for any serious AE in HIGH by month 3,
which two serious AEs in HIGH cross.
"""

import hashlib
import json
import os
import pathlib
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import grpc
from google.protobuf import json_format

import aesignal_errors
import safety_officer
import trial_site
from aesignal.v1 import (ingest_service_pb2, ingest_service_pb2_grpc,
                         report_pb2, safety_service_pb2,
                         safety_service_pb2_grpc, signal_pb2,
                         signal_service_pb2, signal_service_pb2_grpc,
                         trial_pb2, trial_service_pb2, trial_service_pb2_grpc)

HERE = pathlib.Path(__file__).resolve().parent.parent
AESIGNALD = os.environ["AESIGNALD"]
# Generous for sanitizer builds of aesignald; a normal run takes ~1 s.
WAIT_S = 30
SIGNAL_ID = "BINOMIAL~OVERALL~any_sae~HIGH~M3"
INFECTIONS = "Infections and infestations"

# Four reports: S3 (HIGH) a pyrexia and a serious pneumonia, S6 (HIGH) a
# serious pneumonia, S1 (LOW) a headache.
REPORTS = [
    {"report_id": "R1", "version": 1, "site_id": "01", "subject_id": "S3",
     "onset_study_day": 10, "pt": "Pyrexia",
     "soc": "General disorders and administration site conditions",
     "grade": 1},
    {"report_id": "R2", "version": 1, "site_id": "01", "subject_id": "S3",
     "onset_study_day": 20, "pt": "Pneumonia", "soc": INFECTIONS, "grade": 3,
     "serious": True, "hospitalization": True,
     "relatedness": "RELATEDNESS_POSSIBLE"},
    {"report_id": "R3", "version": 1, "site_id": "01", "subject_id": "S6",
     "onset_study_day": 30, "pt": "Pneumonia", "soc": INFECTIONS, "grade": 4,
     "serious": True, "hospitalization": True},
    {"report_id": "R4", "version": 1, "site_id": "01", "subject_id": "S1",
     "timepoint_id": "M3", "pt": "Headache", "soc": "Nervous system disorders",
     "grade": 1},
]


class Server:
    """aesignald on 127.0.0.1 with its own data dir; restartable on the
    same port, as a site sees a server restart."""

    def __init__(self, work_dir):
        self.data_dir = os.path.join(work_dir, "data")
        self.log_path = os.path.join(work_dir, "server.log")
        self.process = None
        self.port = 0

    def start(self, port=0, flags=()):
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [AESIGNALD, f"--listen=127.0.0.1:{port}",
                 "--http_listen=127.0.0.1:0",
                 f"--data_dir={self.data_dir}", *flags],
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            text = pathlib.Path(self.log_path).read_text()
            m = re.search(r"^aesignald listening on 127\.0\.0\.1:(\d+)", text,
                          re.M)
            if m:
                self.port = int(m.group(1))
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"aesignald exited: {text}")
            time.sleep(0.05)
        raise RuntimeError("aesignald did not report its port")

    @property
    def target(self):
        return f"127.0.0.1:{self.port}"

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(WAIT_S)
            except subprocess.TimeoutExpired:
                self.kill()


def make_trial(trial_id):
    trial = trial_pb2.Trial(
        trial_id=trial_id, title="Python client test",
        sites=[trial_pb2.Site(site_id="01")],
        signal_policy=signal_pb2.SignalPolicy(
            disable_bayesian=True, disable_control=True, disable_trend=True,
            disable_over_time=True))
    for group in ("LOW", "MID", "HIGH"):
        trial.dose_groups.add(dose_group_id=group, label=group)
    for tp, day in (("M3", 91), ("M6", 182), ("M12", 365)):
        trial.timepoints.add(timepoint_id=tp, study_day=day)
    return trial


def set_up_trial(channel, trial_id):
    trials = trial_service_pb2_grpc.TrialServiceStub(channel)
    trials.CreateTrial(
        trial_service_pb2.CreateTrialRequest(trial=make_trial(trial_id)))
    subjects = [trial_pb2.Subject(subject_id=f"S{i}", site_id="01",
                                  dose_group_id=("LOW", "MID", "HIGH")[(i - 1) % 3],
                                  last_contact_day=365)
                for i in range(1, 10)]
    enrolled = trials.EnrollSubjects(trial_service_pb2.EnrollSubjectsRequest(
        parent=f"trials/{trial_id}", subjects=subjects))
    assert enrolled.created_count == 9, enrolled
    signal_service_pb2_grpc.SignalServiceStub(channel).PutBaselines(
        signal_service_pb2.PutBaselinesRequest(
            parent=f"trials/{trial_id}",
            baselines=[signal_pb2.Baseline(
                baseline_id="sae", level=safety_service_pb2.TERM_LEVEL_OVERALL,
                overall_key="any_sae", timepoint_id="M3", dose_group_id="HIGH",
                expected_proportion=0.02, citation="test")]))


def example(script, *args, wait=True):
    """Runs one example program; returns its CompletedProcess (or Popen)."""
    command = [sys.executable, str(HERE / script), *args]
    if not wait:
        return subprocess.Popen(command, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, capture_output=True, text=True,
                          timeout=WAIT_S)


class Lines:
    """A process's stdout lines, read by a thread so that a test can wait
    for one with a timeout."""

    def __init__(self, process):
        self.process = process
        self.queue = queue.Queue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.process.stdout:
            self.queue.put(line)

    def wait_for(self, pattern):
        """The lines up to and including the first matching `pattern`."""
        seen = []
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            try:
                seen.append(self.queue.get(timeout=0.1))
            except queue.Empty:
                if not self.thread.is_alive():
                    break
                continue
            if re.search(pattern, seen[-1]):
                return "".join(seen)
        raise AssertionError(f"no line matching {pattern!r} in {seen}")

    def rest(self):
        """Every line not read yet, once the process closed its stdout."""
        self.thread.join(WAIT_S)
        lines = []
        while not self.queue.empty():
            lines.append(self.queue.get())
        return "".join(lines)


def table_row(output, term):
    """The cells of `term`'s row in a safety_officer table."""
    for line in output.splitlines():
        if line.startswith(term + "  "):
            return re.split(r"\s{2,}", line.strip())[1:]
    raise AssertionError(f"no row {term!r} in:\n{output}")


class ExampleClientsTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="aesignal-py-")
        cls.server = Server(cls.work)
        cls.server.start()
        cls.channel = grpc.insecure_channel(cls.server.target)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.server.stop()
        shutil.rmtree(cls.work, ignore_errors=True)

    def write_reports(self, name, reports):
        path = os.path.join(self.work, name)
        with open(path, "w") as f:
            for r in reports:
                f.write(json.dumps(r) + "\n")
        return path

    def test_site_streams_officer_reads_and_watch_sees_the_signal(self):
        set_up_trial(self.channel, "PY1")
        target = self.server.target
        # The watcher runs before the data crosses the baseline.
        watcher = example("safety_officer.py", "--server", target, "--trial",
                          "PY1", "--level", "overall", "--watch-seconds",
                          str(WAIT_S), "--max-events", "1", wait=False)
        self.addCleanup(watcher.kill)
        lines = Lines(watcher)
        self.assertIn("signals: 0\n", lines.wait_for(r"^watching trials/PY1"))

        reports = self.write_reports("reports.jsonl", REPORTS)
        run = example("trial_site.py", "--server", target, "--trial", "PY1",
                      "--batch-size", "2", reports)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(run.stdout.splitlines(), [
            "line 1: R1 v1 ACCEPTED", "line 2: R2 v1 ACCEPTED",
            "line 3: R3 v1 ACCEPTED", "line 4: R4 v1 ACCEPTED",
            "4 reports: accepted 4, duplicate 0, superseded 0, rejected 0, "
            "refused 0, unacknowledged 0"])

        # The watch reports the raised signal and stops after one change.
        with watcher:
            self.assertEqual(watcher.wait(WAIT_S), 0, watcher.stderr.read())
            watched = lines.rest()
        self.assertRegex(watched, rf"change \d+: RAISED {re.escape(SIGNAL_ID)}"
                                  r"  NEW  2/3  ")
        self.assertIn("signal changes: 1", watched)

        # Sending the same file again is safe: every report a duplicate.
        again = example("trial_site.py", "--server", target, "--trial", "PY1",
                        reports)
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertIn("line 3: R3 v1 DUPLICATE", again.stdout)
        self.assertIn("4 reports: accepted 0, duplicate 4, superseded 0, "
                      "rejected 0", again.stdout)

        # The tables: 2 of 3 HIGH subjects with a pneumonia by month 3; S3
        # counts once for any AE although it has two.
        officer = example("safety_officer.py", "--server", target, "--trial",
                          "PY1", "--level", "pt", "--level", "overall",
                          "--timepoint", "M3")
        self.assertEqual(officer.returncode, 0, officer.stderr)
        out = officer.stdout
        self.assertIn("term  ", out)
        self.assertEqual(table_row(out, f"{INFECTIONS} / Pneumonia"),
                         ["0/3 (0%)", "0/3 (0%)", "2/3 (67%)", "2/9 (22%)"])
        self.assertEqual(table_row(out, "Nervous system disorders / Headache"),
                         ["1/3 (33%)", "0/3 (0%)", "0/3 (0%)", "1/9 (11%)"])
        self.assertEqual(table_row(out, "any_ae"),
                         ["1/3 (33%)", "0/3 (0%)", "2/3 (67%)", "3/9 (33%)"])
        self.assertEqual(table_row(out, "any_sae"),
                         ["0/3 (0%)", "0/3 (0%)", "2/3 (67%)", "2/9 (22%)"])
        self.assertIn("signals: 1\n", out)
        self.assertIn(f"  {SIGNAL_ID}  NEW  2/3  ", out)

        # The same numbers through the example's functions.
        rows = {r.term: r.cells for r in safety_officer.incidence(
            self.channel, "PY1", safety_service_pb2.TERM_LEVEL_PT, "M3")}
        pneumonia = rows[f"{INFECTIONS} / Pneumonia"]
        self.assertEqual(pneumonia["HIGH"], safety_officer.Count(2, 3))
        self.assertEqual(pneumonia[safety_officer.TOTAL],
                         safety_officer.Count(2, 9))
        self.assertEqual(pneumonia["LOW"], safety_officer.Count(0, 3))
        # A group without subjects has no percentage (not "0/0 (0%)").
        self.assertEqual(str(safety_officer.Count(0, 0)), "0/0")
        self.assertEqual(str(safety_officer.Count(1, 3)), "1/3 (33%)")
        signals = safety_officer.list_signals(self.channel, "PY1")
        self.assertEqual([s.signal_id for s in signals], [SIGNAL_ID])
        self.assertEqual(int(signals[0].evidence.subjects), 2)
        self.assertEqual(int(signals[0].evidence.denominator), 3)

    def test_site_names_rejected_reports_and_refused_batches(self):
        set_up_trial(self.channel, "PY3")
        bad = dict(REPORTS[0], report_id="B1", grade=9)
        worse = dict(REPORTS[0], report_id="B6", grade=9, onset_study_day=0)
        path = self.write_reports("bad.jsonl", [REPORTS[3], bad, worse])
        run = example("trial_site.py", "--server", self.server.target,
                      "--trial", "PY3", path)
        self.assertEqual(run.returncode, 1, run.stderr)
        self.assertIn("line 1: R4 v1 ACCEPTED", run.stdout)
        self.assertRegex(run.stdout,
                         r"line 2: B1 v1 REJECTED grade: .+ \[INVALID_ARGUMENT\]")
        # Every problem of a report, on its line.
        self.assertRegex(
            run.stdout, r"line 3: B6 v1 REJECTED onset_study_day: .+; "
            r"grade: .+ \[INVALID_ARGUMENT\]")

        # A whole batch refused (unknown trial) is reported, not retried.
        run = example("trial_site.py", "--server", self.server.target,
                      "--trial", "NO-SUCH-TRIAL", path)
        self.assertEqual(run.returncode, 1, run.stderr)
        self.assertRegex(run.stdout, r"line 1: R4 v1 REFUSED NOT_FOUND: ")
        self.assertIn("refused 3, unacknowledged 0", run.stdout)

        # No server: the site gives up after its attempts, nothing
        # acknowledged.
        run = example("trial_site.py", "--server", "127.0.0.1:1", "--trial",
                      "PY3", "--attempts", "2", "--connect-timeout", "0.5",
                      path)
        self.assertEqual(run.returncode, 2, run.stderr)
        self.assertIn("line 2: B1 v1 UNACKNOWLEDGED", run.stdout)
        self.assertRegex(run.stdout, r"accepted 0, .*, unacknowledged 3\n")
        self.assertIn("server not reachable within 0.5 s", run.stderr)

    def test_site_refuses_a_file_that_is_not_utf8_text(self):
        set_up_trial(self.channel, "PY5")
        good = (json.dumps(REPORTS[3]) + "\n").encode()
        # Line 2 of each file is bad: exit status 2 (1 means a report was
        # rejected) and nothing of the file is sent.
        for name, line2, expected in [
            # Latin-1 "Naïusea": a traceback (UnicodeDecodeError) before.
            ("latin1.jsonl", json.dumps(dict(REPORTS[0], report_id="L1",
                                             pt="Na\xefusea"),
                                        ensure_ascii=False).encode("latin-1"),
             r":2: not UTF-8$"),
            # A surrogate encoded as UTF-8 bytes (CESU-8) is not UTF-8.
            ("cesu.jsonl", b'{"report_id": "L2", "pt": "\xed\xa0\x80"}',
             r":2: not UTF-8$"),
            # Valid JSON, but a lone surrogate is not text.
            ("surrogate.jsonl", json.dumps(dict(REPORTS[0], report_id="L3",
                                                pt="bad \ud800 x")).encode(),
             r":2: .*[Uu]npaired surrogate.*\bpt\b"),
            # Not JSON, and a misspelt field.
            ("json.jsonl", b'{"report_id": "L4",', r":2: .*Expecting"),
            ("field.jsonl", json.dumps(dict(REPORTS[0], report_id="L5",
                                            serius=True)).encode(),
             r":2: .*serius"),
        ]:
            path = os.path.join(self.work, name)
            with open(path, "wb") as f:
                f.write(good + line2 + b"\n")
            run = example("trial_site.py", "--server", self.server.target,
                          "--trial", "PY5", path)
            self.assertEqual(run.returncode, 2, (name, run.stderr))
            self.assertRegex(run.stderr, rf"(?m)^site: {re.escape(path)}{expected}")
            self.assertNotIn("Traceback", run.stderr)
            self.assertEqual(run.stdout, "")
        with self.assertRaises(grpc.RpcError) as raised:
            safety_service_pb2_grpc.SafetyServiceStub(self.channel).GetReport(
                safety_service_pb2.GetReportRequest(
                    name="trials/PY5/sites/01/reports/R4"))
        self.assertEqual(raised.exception.code(), grpc.StatusCode.NOT_FOUND)

        # UTF-8 text of any script, and a surrogate pair escaped in JSON,
        # are stored as they are.
        pt = "Naus\u00e9e \u6076\u5fc3 \U0001F922"
        path = os.path.join(self.work, "utf8.jsonl")
        with open(path, "wb") as f:
            # Line 1 as UTF-8 bytes, line 2 with the escape "\ud83e\udd22".
            f.write(json.dumps(dict(REPORTS[3], pt=pt),
                               ensure_ascii=False).encode() + b"\n")
            f.write(json.dumps(dict(REPORTS[0], report_id="U2",
                                    pt="\U0001F922")).encode() + b"\n")
        run = example("trial_site.py", "--server", self.server.target,
                      "--trial", "PY5", path)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("accepted 2, duplicate 0", run.stdout)
        safety = safety_service_pb2_grpc.SafetyServiceStub(self.channel)
        for report_id, expected in (("R4", pt), ("U2", "\U0001F922")):
            report = safety.GetReport(safety_service_pb2.GetReportRequest(
                name=f"trials/PY5/sites/01/reports/{report_id}"))
            self.assertEqual(report.current.report.pt, expected)

    def test_invalid_argument_carries_bad_request_and_error_info(self):
        trials = trial_service_pb2_grpc.TrialServiceStub(self.channel)
        trial = make_trial("PY-BAD")
        trial.title = ""
        trial.timepoints[1].study_day = 30  # before M3's day 91
        with self.assertRaises(grpc.RpcError) as raised:
            trials.CreateTrial(trial_service_pb2.CreateTrialRequest(trial=trial))
        error = raised.exception
        self.assertEqual(error.code(), grpc.StatusCode.INVALID_ARGUMENT)
        status = aesignal_errors.status_of(error)
        self.assertIsNotNone(status)
        self.assertEqual(status.code, grpc.StatusCode.INVALID_ARGUMENT.value[0])
        fields = [f for f, _ in aesignal_errors.field_violations(error)]
        self.assertEqual(fields, ["trial.title", "trial.timepoints[1].study_day"])
        info = aesignal_errors.error_info(error)
        self.assertEqual((info.domain, info.reason),
                         ("aesignal.dev", "FIELD_VIOLATIONS"))

        ingest = ingest_service_pb2_grpc.IngestServiceStub(self.channel)
        with self.assertRaises(grpc.RpcError) as raised:
            ingest.SubmitReports(ingest_service_pb2.SubmitReportsRequest(
                parent="projects/PY1",
                reports=[report_pb2.AdverseEventReport(report_id="X")]))
        self.assertEqual(raised.exception.code(),
                         grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(
            [f for f, _ in aesignal_errors.field_violations(raised.exception)],
            ["parent"])

        set_up_trial(self.channel, "PY4")
        with self.assertRaises(grpc.RpcError) as raised:
            trials.EnrollSubjects(trial_service_pb2.EnrollSubjectsRequest(
                parent="trials/PY4", subjects=[trial_pb2.Subject(
                    subject_id="S10", site_id="01", dose_group_id="NOPE",
                    last_contact_day=10)]))
        self.assertEqual(
            [f for f, _ in aesignal_errors.field_violations(raised.exception)],
            ["subjects[0].dose_group_id"])


class SiteReconnectTest(unittest.TestCase):
    """The server is killed right after the first ack and restarted on the
    same port: the site reconnects and sends only the other batches, and the
    acknowledged batch survived the crash."""

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="aesignal-py-restart-")
        self.server = Server(self.work)
        self.server.start()
        self.channel = grpc.insecure_channel(self.server.target)

    def tearDown(self):
        self.channel.close()
        self.server.stop()
        shutil.rmtree(self.work, ignore_errors=True)

    def test_site_resends_only_unacknowledged_batches(self):
        set_up_trial(self.channel, "PY2")
        # Six reports, one AE per subject S1..S6, in three batches of two.
        reports = [json_format.ParseDict(
            dict(REPORTS[3], report_id=f"H{i}", subject_id=f"S{i}"),
            report_pb2.AdverseEventReport()) for i in range(1, 7)]
        acks = []

        def crash_after_first_ack(response):
            acks.append(int(response.batch_id))
            if len(acks) == 1:
                port = self.server.port
                self.server.kill()
                self.server.start(port)

        logged = []
        summary = trial_site.stream_reports(
            self.channel, "PY2", reports, batch_size=2, window=1,
            connect_timeout=WAIT_S, timeout=WAIT_S,
            on_ack=crash_after_first_ack, log=logged.append)

        self.assertIsNone(summary.error)
        self.assertEqual([o.status for o in summary.outcomes], ["ACCEPTED"] * 6)
        self.assertEqual(len(summary.sent), 2, logged)
        self.assertEqual(summary.sent[0][0], 1)
        self.assertEqual(summary.sent[1], [2, 3])  # batch 1 not sent again
        self.assertEqual(acks, [1, 2, 3])
        self.assertTrue(any("stream broken: UNAVAILABLE" in l for l in logged),
                        logged)
        rows = {r.term: r.cells for r in safety_officer.incidence(
            self.channel, "PY2", safety_service_pb2.TERM_LEVEL_OVERALL, "M3")}
        self.assertEqual(rows["any_ae"][safety_officer.TOTAL],
                         safety_officer.Count(6, 9))


class TlsAndTokenTest(unittest.TestCase):
    """A server as sites meet it in production: TLS, and principals with
    bearer tokens. The example clients connect with --tls-ca and a token
    (--token-file or AESIGNAL_TOKEN); without the token they are refused,
    and a token without TLS is a usage error."""

    TOKEN = "py-test-admin-token"

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="aesignal-py-tls-")
        self.addCleanup(shutil.rmtree, self.work, True)
        self.cert = os.path.join(self.work, "server.pem")
        key = os.path.join(self.work, "server.key")
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
             "-days", "2", "-subj", "/CN=localhost", "-keyout", key, "-out",
             self.cert, "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
            check=True, capture_output=True)
        salt = "pytest"
        digest = hashlib.sha256((salt + self.TOKEN).encode()).hexdigest()
        principals = os.path.join(self.work, "principals.yaml")
        with open(principals, "w") as f:
            f.write(f"- name: ada\n  role: admin\n"
                    f"  token_sha256: \"{salt}:{digest}\"\n")
        self.token_file = os.path.join(self.work, "token")
        with open(self.token_file, "w") as f:
            f.write(self.TOKEN + "\n")
        self.server = Server(self.work)
        self.server.start(flags=[f"--tls_cert={self.cert}",
                                 f"--tls_key={key}",
                                 f"--principals={principals}"])
        self.addCleanup(self.server.stop)
        with open(self.cert, "rb") as f:
            credentials = grpc.composite_channel_credentials(
                grpc.ssl_channel_credentials(root_certificates=f.read()),
                grpc.access_token_call_credentials(self.TOKEN))
        with grpc.secure_channel(self.server.target, credentials) as channel:
            set_up_trial(channel, "PYT")
        self.reports = os.path.join(self.work, "r.jsonl")
        with open(self.reports, "w") as f:
            f.write(json.dumps(REPORTS[3]) + "\n")

    def test_clients_connect_with_tls_and_a_token(self):
        target = self.server.target
        run = example("trial_site.py", "--server", target, "--trial", "PYT",
                      "--tls-ca", self.cert, "--token-file", self.token_file,
                      self.reports)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        self.assertIn("line 1: R4 v1 ACCEPTED", run.stdout)
        env = dict(os.environ, AESIGNAL_TOKEN=self.TOKEN)
        run = subprocess.run(
            [sys.executable, str(HERE / "safety_officer.py"), "--server",
             target, "--trial", "PYT", "--level", "pt", "--tls-ca",
             self.cert], capture_output=True, text=True, timeout=WAIT_S,
            env=env)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        self.assertIn("Headache", run.stdout)

    def test_without_the_token_or_without_tls(self):
        target = self.server.target
        env = {k: v for k, v in os.environ.items() if k != "AESIGNAL_TOKEN"}
        run = subprocess.run(
            [sys.executable, str(HERE / "safety_officer.py"), "--server",
             target, "--trial", "PYT", "--tls-ca", self.cert],
            capture_output=True, text=True, timeout=WAIT_S, env=env)
        self.assertEqual(run.returncode, 2, run.stdout + run.stderr)
        self.assertIn("UNAUTHENTICATED", run.stderr)
        run = example("trial_site.py", "--server", target, "--trial", "PYT",
                      "--token-file", self.token_file, self.reports)
        self.assertEqual(run.returncode, 2, run.stdout + run.stderr)
        self.assertIn("a bearer token is sent over TLS only", run.stderr)


if __name__ == "__main__":
    unittest.main()
